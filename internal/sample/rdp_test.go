package sample

import (
	"strings"
	"testing"
)

// rdpRequest is an RDP connection request as mstsc sends it: TPKT and
// X.224 headers, then the routing cookie.
func rdpRequest(cookie string) []byte {
	body := "Cookie: " + cookie + "\r\n"
	n := 11 + len(body) + 8
	b := []byte{3, 0, byte(n >> 8), byte(n), byte(n - 5), 0xe0, 0, 0, 0, 0, 0}
	b = append(b, body...)
	return append(b, 1, 0, 8, 0, 3, 0, 0, 0) // RDP negotiation request
}

func TestRDPCookie(t *testing.T) {
	full := rdpRequest("mstshash=alice")
	if v, st := RDPCookie(full, "mstshash"); st != RDPFound || string(v) != "alice" {
		t.Fatalf("RDPCookie = %q, %v", v, st)
	}
	if v, st := RDPCookie(full, "MSTSHASH"); st != RDPFound || string(v) != "alice" {
		t.Fatalf("names compare without case: %q, %v", v, st)
	}
	if v, st := RDPCookie(full, ""); st != RDPFound || string(v) != "alice" {
		t.Fatalf("any name: %q, %v", v, st)
	}
	if _, st := RDPCookie(full, "msts"); st != RDPAbsent {
		t.Fatalf("another name: %v", st)
	}
	for i := range len("Cookie: mstshash=alice\r\n") + 11 {
		if _, st := RDPCookie(full[:i], "mstshash"); st != RDPNeedMore {
			t.Fatalf("%d bytes: %v, want need more", i, st)
		}
	}
	if _, st := RDPCookie(rdpRequest("mstshash=a\rb"), "mstshash"); st != RDPAbsent {
		t.Fatalf("CR without LF: %v", st)
	}
	plain := append([]byte{3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0}, 1, 0, 8, 0, 3, 0, 0, 0)
	if _, st := RDPCookie(plain, "mstshash"); st != RDPAbsent {
		t.Fatalf("no cookie: %v", st)
	}
}

func FuzzRDPCookie(f *testing.F) {
	f.Add(rdpRequest("mstshash=alice"), "mstshash")
	f.Add(rdpRequest("msts=x"), "")
	f.Add([]byte("\x03\x00\x00\x0b\x06\xe0\x00\x00\x00\x00\x00Cookie:   ="), "")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		v, st := RDPCookie(data, name)
		if st != RDPFound {
			if v != nil {
				t.Fatal("value without a found cookie")
			}
			return
		}
		// The value lies inside the data, right before "\r\n".
		if !strings.Contains(string(data[11:]), string(v)+"\r\n") {
			t.Fatalf("value %q not found before CRLF in %q", v, data)
		}
		if _, st2 := RDPCookie(append(data[:len(data):len(data)], "trailing"...), name); st2 != RDPFound {
			t.Fatal("more data after a complete cookie changed the verdict")
		}
	})
}
