package lb

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
)

func TestBuildServerMapWeights(t *testing.T) {
	// weights 2,4,6 reduce by their gcd to 1,2,3: a 6-slot map that starts
	// with the first declared server (ties go to it) and spreads the others.
	m := newMapHash([]int{2, 4, 6}, allUp, noLoad)
	got := fmt.Sprint(m.table())
	if got != "[0 2 1 2 1 2]" {
		t.Errorf("map = %s", got)
	}
	count := map[int32]int{}
	for _, s := range m.table() {
		count[s]++
	}
	if count[0] != 1 || count[1] != 2 || count[2] != 3 {
		t.Errorf("slots per server = %v, want 1, 2, 3", count)
	}
	// equal weights: declaration order
	if got := fmt.Sprint(newMapHash([]int{5, 5, 5}, allUp, noLoad).table()); got != "[0 1 2]" {
		t.Errorf("equal weights map = %s", got)
	}
	// zero-weight servers never appear
	if got := fmt.Sprint(newMapHash([]int{0, 3, 0}, allUp, noLoad).table()); got != "[1]" {
		t.Errorf("zero weights map = %s", got)
	}
}

func TestMapHashFollowsServerState(t *testing.T) {
	var down atomic.Int32
	down.Store(-1)
	usable := func(i int) bool { return int(down.Load()) != i }
	m := newMapHash([]int{1, 1, 1, 1}, usable, noLoad)
	if m.PickHash(-1, 6) != 2 {
		t.Fatalf("6 %% 4 should pick server 2")
	}
	down.Store(2)
	for h := range uint32(300) {
		if s := m.PickHash(-1, h); s == 2 || s < 0 {
			t.Fatalf("hash %d went to %d while server 2 is down", h, s)
		}
	}
	down.Store(-1)
	if m.PickHash(-1, 6) != 2 {
		t.Fatalf("server 2 back up should own hash 6 again")
	}
	none := newMapHash([]int{1, 1}, func(int) bool { return false }, noLoad)
	if none.PickHash(-1, 1) != -1 || none.Pick(-1) != -1 {
		t.Fatal("no usable server must give -1")
	}
}

func TestConsistentRingPoints(t *testing.T) {
	c := newConsistentHash([]int{1, 2, 0}, []int{0, 7, 0}, allUp, noLoad, 0)
	if len(c.ring.Load().keys) != 3*WeightScale {
		t.Fatalf("%d points, want 48 (16 per unit of weight)", len(c.ring.Load().keys))
	}
	for i := 1; i < len(c.ring.Load().keys); i++ {
		if c.ring.Load().keys[i-1] > c.ring.Load().keys[i] {
			t.Fatal("ring not sorted")
		}
	}
	// server 1 has id 7: its points are FullHash(7*4096+n)
	want := map[uint32]bool{}
	for n := range 32 {
		want[FullHash(uint32(7*chashIDRange+n))] = true
	}
	for i, k := range c.ring.Load().keys {
		if (c.ring.Load().owner[i] == 1) != want[k] {
			t.Fatalf("point %08x owned by %d", k, c.ring.Load().owner[i])
		}
	}
	// a key exactly on a point goes to that point's server
	for i, k := range c.ring.Load().keys {
		if got := c.PickHash(-1, k); got != int(c.ring.Load().owner[i]) {
			t.Fatalf("hash on point %08x went to %d, point owned by %d", k, got, c.ring.Load().owner[i])
		}
	}
}

func TestConsistentAvoid(t *testing.T) {
	c := newConsistentHash([]int{1, 1, 1}, nil, allUp, noLoad, 0)
	for h := uint32(0); h < 1<<32-1<<24; h += 1 << 24 {
		s := c.PickHash(-1, h)
		if a := c.PickHash(s, h); a == s || a < 0 {
			t.Fatalf("avoiding %d for %08x gave %d", s, h, a)
		}
	}
	one := newConsistentHash([]int{1}, nil, allUp, noLoad, 0)
	if one.PickHash(0, 5) != 0 {
		t.Fatal("the only server is returned even when avoided")
	}
}

// keys returns n hashes of distinct URIs.
func keys(n int, consistent bool) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = Hash("sdbm", consistent, fmt.Appendf(nil, "/obj/%d/item-%d.jpg", i%97, i))
	}
	return out
}

func TestRemappingWhenAServerLeaves(t *testing.T) {
	const n, servers = 20000, 5
	var down atomic.Int32
	down.Store(-1)
	usable := func(i int) bool { return int(down.Load()) != i }
	weights := []int{1, 1, 1, 1, 1}
	for _, tc := range []struct {
		name       string
		tab        Hashed
		consistent bool
	}{
		{"consistent", newConsistentHash(weights, nil, usable, noLoad, 0), true},
		{"map-based", newMapHash(weights, usable, noLoad), false},
	} {
		ks := keys(n, tc.consistent)
		down.Store(-1)
		before := make([]int, n)
		for i, h := range ks {
			before[i] = tc.tab.PickHash(-1, h)
		}
		down.Store(3)
		moved, movedOther := 0, 0
		for i, h := range ks {
			after := tc.tab.PickHash(-1, h)
			if after == 3 {
				t.Fatalf("%s: key went to the server that left", tc.name)
			}
			if after != before[i] {
				moved++
				if before[i] != 3 {
					movedOther++
				}
			}
		}
		down.Store(-1)
		frac := float64(moved) / n
		t.Logf("%s: %.1f%% of keys moved when 1 of %d servers left (%d keys not on it)", tc.name, 100*frac, servers, movedOther)
		if tc.consistent {
			if movedOther != 0 || frac > 1.6/servers {
				t.Errorf("consistent: %d keys of staying servers moved, %.1f%% in all; want 0 and ≈%d%%", movedOther, 100*frac, 100/servers)
			}
		} else if frac < 0.6 {
			t.Errorf("map-based: only %.1f%% of keys moved; a modulo map moves most", 100*frac)
		}
	}
}

func TestHashUniformity(t *testing.T) {
	const n = 40000
	weights := []int{1, 1, 1, 1}
	for _, tc := range []struct {
		name string
		tab  Hashed
		aval bool
		tol  float64
	}{
		{"map-based", newMapHash(weights, allUp, noLoad), false, 0.05},
		{"consistent", newConsistentHash(weights, nil, allUp, noLoad, 0), true, 0.30},
	} {
		count := make([]int, len(weights))
		for _, h := range keys(n, tc.aval) {
			count[tc.tab.PickHash(-1, h)]++
		}
		for i, c := range count {
			share := float64(c) / n
			if share < (1-tc.tol)/4 || share > (1+tc.tol)/4 {
				t.Errorf("%s: server %d got %.1f%% of the keys: %v", tc.name, i, 100*share, count)
			}
		}
		t.Logf("%s: %v", tc.name, count)
	}
}

func TestURIKey(t *testing.T) {
	for _, c := range []struct {
		sp       HashSpec
		uri, key string
	}{
		{HashSpec{}, "/a/b/c?x=1", "/a/b/c"},
		{HashSpec{Whole: true}, "/a/b/c?x=1", "/a/b/c?x=1"},
		{HashSpec{Len: 4}, "/a/b/c?x=1", "/a/b"},
		{HashSpec{Depth: 2}, "/a/b/c?x=1", "/a/b"},
		{HashSpec{Depth: 1}, "/a/b/c", "/a"},
		{HashSpec{Depth: 5}, "/a/b?c/d", "/a/b"},
		{HashSpec{Depth: 5, Whole: true}, "/a/b?c/d", "/a/b?c/d"},
		{HashSpec{}, "http://h.example:80/p/q?x", "http://h.example:80/p/q"},
		{HashSpec{PathOnly: true}, "http://h.example:80/p/q?x", "/p/q"},
		{HashSpec{PathOnly: true, Whole: true}, "https://h/p/q?x", "/p/q?x"},
		{HashSpec{PathOnly: true}, "http://h", ""},
		{HashSpec{PathOnly: true}, "*", ""},
	} {
		if got := string(c.sp.URIKey([]byte(c.uri))); got != c.key {
			t.Errorf("%+v URIKey(%q) = %q, want %q", c.sp, c.uri, got, c.key)
		}
	}
}

func TestURLParam(t *testing.T) {
	for _, c := range []struct {
		uri, name, val string
		ok             bool
	}{
		{"/p?id=42", "id", "42", true},
		{"/p?a=1&id=42&b=2", "id", "42", true},
		{"/p?xid=1&id=2", "id", "2", true},
		{"/p?id=", "id", "", true},
		{"/p?id", "id", "", false},
		{"/p", "id", "", false},
		{"/p?a=1&b=2", "id", "", false},
	} {
		v, ok := URLParam([]byte(c.uri), c.name)
		if ok != c.ok || string(v) != c.val {
			t.Errorf("URLParam(%q, %q) = %q, %v", c.uri, c.name, v, ok)
		}
	}
}

func TestHeaderKey(t *testing.T) {
	plain, dom := HashSpec{}, HashSpec{DomainOnly: true}
	for _, c := range []struct {
		sp       *HashSpec
		val, key string
	}{
		{&plain, "abc", "abc"},
		{&plain, "abc , def", "abc"},
		{&dom, "www.example.com", "example"},
		{&dom, "example.com", "example"},
		{&dom, "a.b.example.co", "example"},
		{&dom, "localhost", "localhost"},
	} {
		if got := string(c.sp.HeaderKey([]byte(c.val))); got != c.key {
			t.Errorf("HeaderKey(%q) = %q, want %q", c.val, got, c.key)
		}
	}
}

func TestSourceHash(t *testing.T) {
	mp := HashSpec{Kind: HashSource}
	h, ok := mp.Source(netip.MustParseAddr("10.1.2.3"))
	if !ok || h != 0x0a010203 {
		t.Errorf("map-based source hash of 10.1.2.3 = %08x", h)
	}
	if h2, _ := mp.Source(netip.MustParseAddr("::ffff:10.1.2.3")); h2 != h {
		t.Errorf("v4-mapped address hashes differently")
	}
	h, _ = mp.Source(netip.MustParseAddr("2001:db8::1:2"))
	if want := uint32(0x20010db8 ^ 0x00010002); h != want {
		t.Errorf("IPv6 source hash = %08x, want %08x", h, want)
	}
	ch := HashSpec{Kind: HashSource, Consistent: true}
	if h, _ := ch.Source(netip.MustParseAddr("10.1.2.3")); h != FullHash(0x0a010203) {
		t.Errorf("consistent source hash not avalanched")
	}
	if _, ok := mp.Source(netip.Addr{}); ok {
		t.Error("invalid address must not hash")
	}
}

func TestParseHashSpec(t *testing.T) {
	sp, ok := ParseHashSpec("uri", []string{"whole", "len", "10", "depth", "3", "path-only"}, []string{"consistent"})
	if !ok || !sp.Whole || !sp.PathOnly || sp.Len != 10 || sp.Depth != 3 || !sp.Consistent || !sp.Avalanche || sp.Fn != "sdbm" {
		t.Errorf("uri spec = %+v", sp)
	}
	sp, _ = ParseHashSpec("uri", nil, []string{"consistent", "sdbm"})
	if sp.Avalanche {
		t.Error("a named function drops the default avalanche of 'consistent'")
	}
	sp, _ = ParseHashSpec("source", nil, nil)
	if sp.Consistent || sp.Avalanche || sp.Fn != "sdbm" {
		t.Errorf("defaults = %+v", sp)
	}
	sp, ok = ParseHashSpec("hdr(Host)", []string{"use_domain_only"}, []string{"map-based", "djb2", "avalanche"})
	if !ok || sp.Kind != HashHeader || sp.Name != "Host" || !sp.DomainOnly || sp.Fn != "djb2" || !sp.Avalanche {
		t.Errorf("hdr spec = %+v", sp)
	}
	if _, ok := ParseHashSpec("roundrobin", nil, nil); ok {
		t.Error("roundrobin is not hash-based")
	}
}

func TestHashAllocs(t *testing.T) {
	key := []byte("/some/path/to/an/object.jpg?x=1&id=abc")
	sp := HashSpec{Whole: false, Depth: 3, Fn: "wt6", DomainOnly: true}
	m := newMapHash([]int{1, 2, 3}, allUp, noLoad)
	c := newConsistentHash([]int{1, 2, 3}, nil, allUp, noLoad, 0)
	m.PickHash(-1, 1) // builds the map once
	var sink int
	n := testing.AllocsPerRun(200, func() {
		for _, fn := range []string{"sdbm", "djb2", "wt6", "crc32"} {
			sink += int(Hash(fn, true, key) & 1)
		}
		h := sp.Key(sp.URIKey(key))
		v, _ := URLParam(key, "id")
		h ^= sp.Key(v) ^ sp.Key(sp.HeaderKey(key))
		a, _ := sp.Source(netip.AddrFrom4([4]byte{1, 2, 3, 4}))
		sink += m.PickHash(-1, h^a) + c.PickHash(1, h) + m.Pick(-1) + c.Pick(-1)
	})
	if n != 0 {
		t.Errorf("%v allocations per hash + pick", n)
	}
	_ = sink
}
