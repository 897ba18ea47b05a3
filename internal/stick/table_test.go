package stick

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func ipKey(t *testing.T, tab *Table, s string) []byte {
	t.Helper()
	k, ok := tab.AppendAddr(nil, netip.MustParseAddr(s))
	if !ok {
		t.Fatalf("no key for %s", s)
	}
	return k
}

func TestStoreLookupUpdate(t *testing.T) {
	tab := New(Config{Type: IP, Size: 100})
	k := ipKey(t, tab, "10.0.0.1")
	if _, ok := tab.Lookup(k, t0); ok {
		t.Fatal("empty table found a key")
	}
	tab.Store(k, 3, t0)
	if id, ok := tab.Lookup(k, t0); !ok || id != 3 {
		t.Fatalf("lookup = %d, %v; want 3", id, ok)
	}
	// A later store (the client was balanced elsewhere) moves the entry.
	tab.Store(k, 5, t0)
	if id, _ := tab.Lookup(k, t0); id != 5 || tab.Len() != 1 {
		t.Fatalf("after update: id %d, %d entries", id, tab.Len())
	}
	if !tab.Delete(k) || tab.Len() != 0 {
		t.Fatal("delete failed")
	}
}

func TestExpire(t *testing.T) {
	tab := New(Config{Type: String, Len: 32, Size: 100, Expire: 30 * time.Second})
	a, b := []byte("alice"), []byte("bob")
	tab.Store(a, 1, t0)
	tab.Store(b, 2, t0.Add(20*time.Second))
	// A match refreshes the expiry, as HAProxy's touch.
	if _, ok := tab.Lookup(a, t0.Add(25*time.Second)); !ok {
		t.Fatal("alice expired early")
	}
	if _, ok := tab.Lookup(b, t0.Add(51*time.Second)); ok {
		t.Fatal("bob outlived its 30s")
	}
	if _, ok := tab.Lookup(a, t0.Add(54*time.Second)); !ok {
		t.Fatal("alice's touch at 25s did not extend her to 55s")
	}
	tab.Expire(t0.Add(90 * time.Second))
	if tab.Len() != 0 {
		t.Fatalf("%d entries after every expiry passed", tab.Len())
	}
	never := New(Config{Type: Integer, Size: 10})
	k, _ := never.AppendString(nil, []byte("42"))
	never.Store(k, 1, t0)
	never.Expire(t0.Add(1000 * time.Hour))
	if _, ok := never.Lookup(k, t0.Add(1000*time.Hour)); !ok {
		t.Fatal("an entry without expire went away")
	}
}

func TestSizeLimitDropsOldest(t *testing.T) {
	tab := New(Config{Type: Integer, Size: 50})
	key := func(i int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(i)) }
	for i := range 200 {
		tab.Store(key(i), i, t0.Add(time.Duration(i)*time.Millisecond))
		if tab.Len() > 50 {
			t.Fatalf("%d entries, size is 50", tab.Len())
		}
	}
	// The newest key always gets in, and the most recent ones are kept:
	// purging takes the least recently used of a shard first.
	if id, ok := tab.Lookup(key(199), t0); !ok || id != 199 {
		t.Fatal("the newest key was not stored")
	}
	kept := 0
	for i := 150; i < 200; i++ {
		if _, ok := tab.Lookup(key(i), t0); ok {
			kept++
		}
	}
	if kept < 25 {
		t.Errorf("only %d of the 50 newest keys kept", kept)
	}
}

func TestNoPurgeRefusesNewKeys(t *testing.T) {
	tab := New(Config{Type: String, Len: 8, Size: 2, NoPurge: true})
	tab.Store([]byte("a"), 1, t0)
	tab.Store([]byte("b"), 2, t0)
	if tab.Store([]byte("c"), 3, t0) {
		t.Fatal("a full nopurge table stored a new key")
	}
	if !tab.Store([]byte("a"), 9, t0) {
		t.Fatal("updating an existing key must work when full")
	}
	if id, _ := tab.Lookup([]byte("a"), t0); id != 9 {
		t.Fatalf("a = %d, want 9", id)
	}
}

func TestKeyConversions(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::7")
	for _, c := range []struct {
		typ  Type
		addr netip.Addr
		str  string
		want string // hex, "" when the sample does not convert
	}{
		{IP, v4, "", "c0000207"},
		{IP, v6, "", ""},
		{IP, netip.MustParseAddr("::ffff:192.0.2.7"), "", "c0000207"},
		{IPv6, v4, "", "00000000000000000000ffffc0000207"},
		{IPv6, v6, "", "20010db8000000000000000000000007"},
		{Integer, v4, "", "c0000207"},
		{String, v4, "", "3139322e30"},
		{IP, netip.Addr{}, "10.1.2.3", "0a010203"},
		{IP, netip.Addr{}, "10.1.2", ""},
		{IP, netip.Addr{}, "300.1.2.3", ""},
		{IPv6, netip.Addr{}, "2001:db8::7", "20010db8000000000000000000000007"},
		{Integer, netip.Addr{}, "-1", "ffffffff"},
		{Integer, netip.Addr{}, "12x", ""},
		{Integer, netip.Addr{}, "99999999999", ""},
		{String, netip.Addr{}, "0123456789abcdef", "3031323334"},
	} {
		tab := New(Config{Type: c.typ, Len: 5, Size: 1})
		var k []byte
		var ok bool
		if c.addr.IsValid() {
			k, ok = tab.AppendAddr(nil, c.addr)
		} else {
			k, ok = tab.AppendString(nil, []byte(c.str))
		}
		if got := fmt.Sprintf("%x", k); ok != (c.want != "") || got != c.want {
			t.Errorf("type %d, %v %q: key %s (%v), want %q", c.typ, c.addr, c.str, got, ok, c.want)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	tab := New(Config{Type: String, Len: 32, Size: 1000, Expire: time.Minute})
	sk := []byte("session-1234")
	tab.Store(sk, 1, t0)
	ip := New(Config{Type: IP, Size: 1000})
	buf := make([]byte, 0, 64)
	a := netip.MustParseAddr("10.9.8.7")
	k, _ := ip.AppendAddr(buf[:0], a)
	ip.Store(k, 2, t0)
	n := testing.AllocsPerRun(1000, func() {
		tab.Lookup(sk, t0)
		tab.Store(sk, 1, t0) // an update of an existing key
		k, _ := ip.AppendAddr(buf[:0], a)
		ip.Lookup(k, t0)
	})
	if n != 0 {
		t.Fatalf("%v allocations per lookup and update", n)
	}
}

// BenchmarkLookupStore is the request path of "stick on src" with many
// clients: one lookup and one store per request, from every CPU, on the
// sharded table and on the same table behind a single lock.
func BenchmarkLookupStore(b *testing.B) {
	for _, shards := range []int{maxShards, 1} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			tab := newSharded(Config{Type: IP, Size: 1 << 20, Expire: 30 * time.Minute}, shards)
			const clients = 1 << 16
			keys := make([][]byte, clients)
			for i := range keys {
				keys[i] = binary.BigEndian.AppendUint32(nil, uint32(0x0a000000+i))
				tab.Store(keys[i], i%8, t0)
			}
			var seq atomic.Uint32
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(seq.Add(7919))
				for pb.Next() {
					k := keys[i%clients]
					if id, ok := tab.Lookup(k, t0); ok {
						tab.Store(k, id, t0)
					}
					i += 31
				}
			})
		})
	}
}

// FuzzStringKeys checks the byte parsers behind string→ip and
// string→integer keys against the standard library.
func FuzzStringKeys(f *testing.F) {
	for _, s := range []string{"10.1.2.3", "1.2.3", "256.1.1.1", "01.2.3.4", "-2147483648", "+7", "2147483648", "", "1..2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, ok := parseIPv4([]byte(s))
		a, err := netip.ParseAddr(s)
		// netip refuses leading zeros; the byte parser, like inet_aton
		// in HAProxy's str2ip, reads them as decimal.
		if err == nil && a.Is4() && (!ok || b != a.As4()) {
			t.Fatalf("parseIPv4(%q) = %v, %v; netip says %v", s, b, ok, a)
		}
		n, ok := parseInt32([]byte(s))
		want, err := strconv.ParseInt(s, 10, 32)
		if ok != (err == nil) || ok && int64(n) != want {
			t.Fatalf("parseInt32(%q) = %d, %v; strconv says %d, %v", s, n, ok, want, err)
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	// Stores, lookups, purges of full shards and expiry sweeps at once:
	// the count stays within size and the lists stay consistent (run
	// with -race).
	tab := newSharded(Config{Type: Integer, Size: 64, Expire: time.Second}, 8)
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 5000 {
				k := binary.BigEndian.AppendUint32(nil, uint32(g*100000+i%300))
				now := t0.Add(time.Duration(i) * time.Millisecond)
				tab.Store(k, i, now)
				tab.Lookup(k, now)
				if i%500 == 0 {
					tab.Expire(now)
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	if n := tab.Len(); n > 64 || n < 0 {
		t.Fatalf("%d entries in a table of 64", n)
	}
	total := 0
	for i := range tab.shards {
		sh := &tab.shards[i]
		n := 0
		for e := sh.head; e != nil; e = e.next {
			n++
		}
		if n != len(sh.fixed) {
			t.Fatalf("shard %d: list of %d, map of %d", i, n, len(sh.fixed))
		}
		total += n
	}
	if total != tab.Len() {
		t.Fatalf("shards hold %d, count says %d", total, tab.Len())
	}
}
