package vrrp

import (
	"bufio"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

type vector struct {
	name     string
	src, dst netip.Addr
	ttl      string
	pkt      []byte
	want     string
}

// keepalivedVectors reads adverts captured from keepalived 2.2.7.
func keepalivedVectors(t testing.TB) []vector {
	f, err := os.Open("testdata/keepalived-2.2.7.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		raw, want, _ := strings.Cut(line, " | ")
		w := strings.Fields(raw)
		addr := func(h string) netip.Addr {
			b, err := hex.DecodeString(h)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := netip.AddrFromSlice(b)
			return a
		}
		pkt, err := hex.DecodeString(w[5])
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, vector{w[0], addr(w[2]), addr(w[3]), w[4], pkt, want})
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	return vs
}

func TestDecodeKeepalivedAdverts(t *testing.T) {
	for _, v := range keepalivedVectors(t) {
		a, err := Decode(v.pkt, v.src, v.dst, false)
		if err != nil {
			t.Errorf("%s: %v", v.name, err)
			continue
		}
		if got := a.String(); got != v.want {
			t.Errorf("%s: decoded %q, tcpdump saw %q", v.name, got, v.want)
		}
		// Re-encoding must give keepalived's bytes exactly, checksum included.
		out, err := a.Marshal(nil, v.src, v.dst)
		if err != nil {
			t.Errorf("%s: marshal: %v", v.name, err)
		} else if hex.EncodeToString(out) != hex.EncodeToString(v.pkt) {
			t.Errorf("%s: marshal\n got %x\nwant %x", v.name, out, v.pkt)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	src, dst := netip.MustParseAddr("10.0.0.1"), Group4
	good := &Advert{Version: 3, VRID: 7, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.9")}}
	pkt, err := good.Marshal(nil, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := func(i int, b byte) []byte {
		p := append([]byte(nil), pkt...)
		p[i] = b
		return p
	}
	cases := []struct {
		name string
		pkt  []byte
		want string
	}{
		{"short", pkt[:5], "shorter than a VRRP header"},
		{"version", corrupt(0, 0x41), "VRRP version 4"},
		{"type", corrupt(0, 0x32), "type 2"},
		{"vrid0", corrupt(1, 0), "VRID 0"},
		{"count", corrupt(3, 3), "3 addresses need"},
		{"checksum", corrupt(2, 99), "bad VRRP v3 checksum"},
	}
	for _, c := range cases {
		_, err := Decode(c.pkt, src, dst, false)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "from 10.0.0.1") {
			t.Errorf("%s: error %v, want one naming the peer and %q", c.name, err, c.want)
		}
	}
}

// keepalived before 1.3.6 computed the v3 unicast checksum against
// 224.0.0.18; such adverts are accepted and flagged.
func TestOldUnicastChecksum(t *testing.T) {
	src, peer := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	a := &Advert{Version: 3, VRID: 9, Priority: 50, Interval: 2 * time.Second, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}, OldUnicastChecksum: true}
	pkt, err := a.Marshal(nil, src, peer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(pkt, src, peer, false)
	if err != nil {
		t.Fatal(err)
	}
	if !got.OldUnicastChecksum {
		t.Error("old-style checksum not detected")
	}
	a.OldUnicastChecksum = false
	pkt, _ = a.Marshal(nil, src, peer)
	if got, err = Decode(pkt, src, peer, false); err != nil || got.OldUnicastChecksum {
		t.Errorf("new-style checksum: %v, old=%v", err, got != nil && got.OldUnicastChecksum)
	}
}

func TestMarshalRejects(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fe80::1")
	cases := []struct {
		a        Advert
		src, dst netip.Addr
	}{
		{Advert{Version: 2, VRID: 1, Interval: 1500 * time.Millisecond}, v4, Group4},
		{Advert{Version: 3, VRID: 1, Interval: 50 * time.Second}, v4, Group4},
		{Advert{Version: 2, VRID: 1, Interval: time.Second}, v6, Group6},
		{Advert{Version: 3, VRID: 1, Interval: time.Second, Addrs: []netip.Addr{v6}}, v4, Group4},
		{Advert{Version: 4}, v4, Group4},
	}
	for i, c := range cases {
		if _, err := c.a.Marshal(nil, c.src, c.dst); err == nil {
			t.Errorf("case %d: marshal accepted %+v", i, c.a)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, v := range keepalivedVectors(f) {
		f.Add(v.pkt, v.src.Is4(), false)
	}
	src4, src6 := netip.MustParseAddr("10.213.0.1"), netip.MustParseAddr("fe80::1")
	f.Fuzz(func(t *testing.T, pkt []byte, is4, kernelChecked bool) {
		src, dst := src6, Group6
		if is4 {
			src, dst = src4, Group4
		}
		a, err := Decode(pkt, src, dst, kernelChecked)
		if err != nil {
			if !strings.Contains(err.Error(), src.String()) {
				t.Fatalf("error does not name the peer: %v", err)
			}
			return
		}
		// Whatever decodes must re-encode to a packet that decodes the same.
		out, err := a.Marshal(nil, src, dst)
		if err != nil {
			return // e.g. a v2 interval of 0 s, which keepalived drops later as an interval mismatch
		}
		b, err := Decode(out, src, dst, false)
		if err != nil || b.String() != a.String() {
			t.Fatalf("round trip: %v %v vs %v", err, b, a)
		}
	})
}
