package stream

import "testing"

// The server part of an RDP cookie, as haproxy's tcp_persist_rdp_cookie
// reads it: "<ip>.<port>." with the address's bytes little-endian and the
// port's bytes swapped.
func TestParseRDPServerCookie(t *testing.T) {
	for _, c := range []struct {
		in   string
		addr [4]byte
		port uint16
		ok   bool
	}{
		{"3640205504.15629.0000", [4]byte{192, 32, 249, 216}, 3389, true},
		{"16777343.20480.", [4]byte{127, 0, 0, 1}, 80, true},
		{"16777343.86016.", [4]byte{127, 0, 0, 1}, 80, true}, // ntohs keeps 16 bits
		{"16777343.20480", [4]byte{}, 0, false},              // no '.' after the port
		{"16777343", [4]byte{}, 0, false},
		{"4294967296.20480.", [4]byte{}, 0, false}, // past 32 bits
		{"user1", [4]byte{}, 0, false},
		{"", [4]byte{}, 0, false},
	} {
		addr, port, ok := parseRDPServerCookie([]byte(c.in))
		if ok != c.ok || ok && (addr != c.addr || port != c.port) {
			t.Errorf("%q: got %v %d %v, want %v %d %v", c.in, addr, port, ok, c.addr, c.port, c.ok)
		}
	}
}

func FuzzParseRDPServerCookie(f *testing.F) {
	for _, s := range []string{"3640205504.15629.0000", "1.2.", "99999999999999999999999.1.", "..", "1.x."} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		parseRDPServerCookie(v)
	})
}
