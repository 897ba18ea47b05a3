package proxyproto

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestParseV1(t *testing.T) {
	cases := []struct {
		in       string
		src, dst string
		local    bool
		n        int
		err      error
	}{
		{in: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET /", src: "192.0.2.1:56324", dst: "198.51.100.2:443", n: 45},
		{in: "PROXY TCP6 2001:db8::1 ::1 1 65535\r\n", src: "[2001:db8::1]:1", dst: "[::1]:65535", n: 36},
		{in: "PROXY UNKNOWN\r\n", local: true, n: 15},
		{in: "PROXY UNKNOWN ffff:: ffff:: 1 2\r\nx", local: true, n: 33},
		{in: "PROXY TCP4 192.0.2.1 198.51.100.2 56324", err: ErrIncomplete},
		{in: "PROX", err: ErrIncomplete},
		{in: "PROXY", err: ErrIncomplete},
		{in: "GET / HTTP/1.1\r\n", err: ErrNotHeader},
		{in: "PROXYTCP4", err: ErrNotHeader},
		{in: "PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n", err: ErrBadProto},
		{in: "PROXY UDP4 1.2.3.4", err: ErrBadProto},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", err: ErrBadHeader},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.4 1 65536\r\n", err: ErrBadHeader},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n", err: ErrBadHeader},
		{in: "PROXY TCP4 ::1 1.2.3.4 1 2\r\n", err: ErrBadHeader},
		{in: "PROXY TCP6 1.2.3.4 ::1 1 2\r\n", err: ErrBadHeader},
		{in: "PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n", err: ErrBadHeader},
		{in: "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", err: ErrBadHeader},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n", err: ErrBadHeader},
		{in: "PROXY TCP4 " + string(bytes.Repeat([]byte("1"), 120)), err: ErrBadHeader},
	}
	for _, c := range cases {
		h, n, err := Parse([]byte(c.in))
		if !errors.Is(err, c.err) {
			t.Errorf("%q: error %v, want %v", c.in, err, c.err)
			continue
		}
		if err != nil {
			continue
		}
		if n != c.n || h.Local != c.local || h.Version != 1 {
			t.Errorf("%q: n=%d local=%v v=%d, want n=%d local=%v", c.in, n, h.Local, h.Version, c.n, c.local)
		}
		if !c.local && (h.Src != ap(c.src) || h.Dst != ap(c.dst)) {
			t.Errorf("%q: %v -> %v, want %s -> %s", c.in, h.Src, h.Dst, c.src, c.dst)
		}
	}
}

func TestV1RoundTrip(t *testing.T) {
	for _, c := range []struct{ src, dst, want string }{
		{"127.0.0.1:1234", "127.0.0.2:80", "PROXY TCP4 127.0.0.1 127.0.0.2 1234 80\r\n"},
		{"[::1]:1234", "127.0.0.2:80", "PROXY TCP6 ::1 ::ffff:127.0.0.2 1234 80\r\n"},
		{"[::ffff:10.0.0.1]:5", "[::ffff:10.0.0.2]:6", "PROXY TCP4 10.0.0.1 10.0.0.2 5 6\r\n"},
	} {
		got := AppendV1(nil, ap(c.src), ap(c.dst))
		if string(got) != c.want {
			t.Errorf("AppendV1(%s, %s) = %q, want %q", c.src, c.dst, got, c.want)
		}
		h, n, err := Parse(got)
		if err != nil || n != len(got) || h.Src.Port() != ap(c.src).Port() || h.Dst.Addr().Unmap() != ap(c.dst).Addr().Unmap() {
			t.Errorf("Parse(%q) = %+v %d %v", got, h, n, err)
		}
	}
	if got := AppendV1(nil, netip.AddrPort{}, ap("1.2.3.4:5")); string(got) != "PROXY UNKNOWN\r\n" {
		t.Errorf("unix client: %q", got)
	}
}

func TestV2RoundTrip(t *testing.T) {
	o := &V2{CRC32C: true, ALPN: []byte("http/1.1"), Authority: []byte("example.com"), SendUID: true, UniqueID: []byte("abc"),
		SendSSL: true, SSL: &SSL{Version: "TLSv1.3", CN: "client", CertConn: true, CertSess: true}}
	for _, c := range []struct{ src, dst string }{{"192.0.2.1:56324", "198.51.100.2:443"}, {"[2001:db8::1]:1", "[::1]:2"}} {
		b := AppendV2([]byte("junk"), ap(c.src), ap(c.dst), o)[4:]
		h, n, err := Parse(append(b, "GET /"...))
		if err != nil || n != len(b) {
			t.Fatalf("Parse: %v n=%d len=%d", err, n, len(b))
		}
		if h.Version != 2 || h.Local || h.Src != ap(c.src) || h.Dst != ap(c.dst) ||
			string(h.Authority) != "example.com" || string(h.UniqueID) != "abc" || string(h.ALPN) != "http/1.1" {
			t.Errorf("%+v", h)
		}
		// Any flipped bit fails the checksum.
		bad := append([]byte{}, b...)
		bad[17] ^= 1
		if _, _, err := Parse(bad); !errors.Is(err, ErrBadHeader) {
			t.Errorf("corrupted header: %v", err)
		}
		for i := 0; i < len(b); i++ {
			if _, _, err := Parse(b[:i]); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("prefix %d: %v", i, err)
			}
		}
	}
	local := AppendV2(nil, netip.AddrPort{}, ap("1.2.3.4:5"), nil)
	if hex.EncodeToString(local) != "0d0a0d0a000d0a515549540a20000000" {
		t.Errorf("LOCAL header %x", local)
	}
	if h, n, err := Parse(local); err != nil || !h.Local || n != 16 {
		t.Errorf("LOCAL: %+v %d %v", h, n, err)
	}
}

// TestV2Bytes pins the encoding of HAProxy's send-proxy-v2-ssl-cn for a
// TLS client (layout of make_proxy_line_v2).
func TestV2Bytes(t *testing.T) {
	b := AppendV2(nil, ap("127.0.0.1:1000"), ap("127.0.0.2:443"), &V2{SendSSL: true, SSL: &SSL{Version: "TLSv1.2", CN: "x"}})
	// 12 address bytes + SSL TLV: 3 + client 1 + verify 4 + version 3+7 + CN 3+1.
	want := "0d0a0d0a000d0a515549540a" + "2111" + "0022" + "7f000001" + "7f000002" + "03e8" + "01bb" +
		"200013" + "01" + "00000000" + "210007" + hex.EncodeToString([]byte("TLSv1.2")) + "220001" + "78"
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	plain := AppendV2(nil, ap("127.0.0.1:1000"), ap("127.0.0.2:443"), &V2{SendSSL: true})
	if tail := hex.EncodeToString(plain[28:]); tail != "2000050000000000" {
		t.Errorf("plain client's SSL TLV %s", tail)
	}
}

func TestParseV2Hostile(t *testing.T) {
	base := AppendV2(nil, ap("1.2.3.4:5"), ap("5.6.7.8:9"), nil)
	withTLV := func(typ byte, l int, v []byte) []byte {
		b := append([]byte{}, base...)
		b = append(b, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(l))
		b = append(b, v...)
		binary.BigEndian.PutUint16(b[14:], uint16(len(b)-16))
		return b
	}
	cases := map[string]struct {
		b   []byte
		err error
	}{
		"version 1 in v2 signature": {append(append([]byte(v2Sig), 0x11, 0x11, 0, 0), base[16:]...), ErrNotHeader},
		"bad command":               {append(append([]byte(v2Sig), 0x2f, 0x11), base[14:]...), ErrBadHeader},
		"short address block":       {append([]byte(v2Sig), 0x21, 0x11, 0, 4, 1, 2, 3, 4), ErrBadHeader},
		"TLV overruns":              {withTLV(TypeAuthority, 10, []byte("abc")), ErrBadHeader},
		"authority too long":        {withTLV(TypeAuthority, 256, bytes.Repeat([]byte("a"), 256)), ErrBadHeader},
		"unique id too long":        {withTLV(TypeUniqueID, 129, bytes.Repeat([]byte("a"), 129)), ErrBadHeader},
		"crc of 3 bytes":            {withTLV(TypeCRC32C, 3, []byte{1, 2, 3}), ErrBadHeader},
		"wrong crc":                 {withTLV(TypeCRC32C, 4, []byte{1, 2, 3, 4}), ErrBadHeader},
		"half a TLV header":         {append(append([]byte{}, base[:14]...), append([]byte{0, 14}, append(base[16:], 1, 0)...)...), ErrBadHeader},
		"not a header":              {[]byte("\r\nGET"), ErrNotHeader},
	}
	for name, c := range cases {
		if _, _, err := Parse(c.b); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", name, err, c.err)
		}
	}
	// A unix socket family keeps the connection's addresses but reads TLVs.
	u := append([]byte(v2Sig), 0x21, 0x31, 0, 0)
	u = append(u, make([]byte, 216)...)
	u = append(u, TypeUniqueID, 0, 2, 'i', 'd')
	binary.BigEndian.PutUint16(u[14:], uint16(len(u)-16))
	if h, n, err := Parse(u); err != nil || !h.Local || n != len(u) || string(h.UniqueID) != "id" {
		t.Errorf("unix family: %+v %d %v", h, n, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"))
	f.Add([]byte("PROXY TCP6 ::1 ::1 1 2\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(AppendV2(nil, ap("1.2.3.4:5"), ap("5.6.7.8:9"), &V2{CRC32C: true, Authority: []byte("a"), SendUID: true, SendSSL: true, SSL: &SSL{Version: "TLSv1.3"}}))
	f.Add(AppendV2(nil, ap("[::1]:5"), ap("[::2]:9"), nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with length %d", err, n)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("length %d of %d bytes", n, len(b))
		}
		// A header parses the same with any bytes after it.
		h2, n2, err := Parse(append(append([]byte{}, b[:n]...), "trailing"...))
		if err != nil || n2 != n || h2.Src != h.Src || h2.Local != h.Local {
			t.Fatalf("with trailing bytes: %+v %d %v", h2, n2, err)
		}
		if !h.Local && h.Version == 1 {
			re := AppendV1(nil, h.Src, h.Dst)
			if h3, _, err := Parse(re); err != nil || h3.Src.Addr().Unmap() != h.Src.Addr().Unmap() || h3.Dst.Port() != h.Dst.Port() {
				t.Fatalf("re-encoded %q: %+v %v", re, h3, err)
			}
		}
	})
}
