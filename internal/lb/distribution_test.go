package lb

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

// Distribution properties of the algorithms, all deterministic: round robin
// is exact, random draws from a seeded source, hashes are pure functions.

// chiCritical is the 0.999 quantile of chi-square with df degrees of
// freedom (Wilson-Hilferty approximation, good to a few percent here).
func chiCritical(df int) float64 {
	const z = 3.090 // standard normal 0.999 quantile
	k := float64(df)
	return k * math.Pow(1-2/(9*k)+z*math.Sqrt(2/(9*k)), 3)
}

func shares(weights []int) []float64 {
	tot := 0
	for _, w := range weights {
		tot += w
	}
	s := make([]float64, len(weights))
	for i, w := range weights {
		s[i] = float64(w) / float64(tot)
	}
	return s
}

func TestRoundRobinIsExactlyProportional(t *testing.T) {
	for _, weights := range [][]int{{1, 1, 1, 1}, {1, 2, 3, 4}, {256, 1, 17}, {5, 0, 5}} {
		rr := New("roundrobin", weights, allUp, nil)
		tot := 0
		for _, w := range weights {
			tot += w
		}
		count := make([]int, len(weights))
		for range 10 * tot {
			count[rr.Pick(-1)]++
		}
		for i, w := range weights {
			if count[i] != 10*w {
				t.Errorf("weights %v: counts %v, want exactly 10× the weights", weights, count)
				break
			}
		}
	}
}

func TestRandomIsUniform(t *testing.T) {
	for _, weights := range [][]int{{1, 1, 1, 1, 1, 1, 1, 1}, {1, 2, 3, 4}} {
		// One draw: the pure weighted random choice.
		a := New("random(1)", weights, allUp, nil).(*random)
		a.intN = rand.New(rand.NewPCG(1, 2)).IntN
		count := make([]int, len(weights))
		for range 100000 {
			count[a.Pick(-1)]++
		}
		x, crit := chiSquare(count, shares(weights)), chiCritical(len(weights)-1)
		t.Logf("weights %v: counts %v, chi² %.1f (critical %.1f)", weights, count, x, crit)
		if x > crit {
			t.Errorf("weights %v: chi² %.1f over %.1f: not uniform %v", weights, x, crit, count)
		}
	}
}

func TestRandomDrawsBalanceOpenConnections(t *testing.T) {
	// Connections that stay open: power of two choices keeps the spread
	// far tighter than independent draws would.
	fl := &fakeLoad{cur: make([]int, 10)}
	a := New("random", []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, allUp, fl.load).(*random)
	a.intN = rand.New(rand.NewPCG(3, 4)).IntN
	for range 10000 {
		fl.cur[a.Pick(-1)]++
	}
	lo, hi := fl.cur[0], fl.cur[0]
	for _, c := range fl.cur {
		lo, hi = min(lo, c), max(hi, c)
	}
	if hi-lo > 10 {
		t.Errorf("open connections %v: spread %d, want at most 10 with two draws", fl.cur, hi-lo)
	}
}

func TestDynamicWeightsFollowSetWeight(t *testing.T) {
	for _, algo := range []string{"roundrobin", "random(1)"} {
		a := New(algo, []int{1, 1, 1}, allUp, nil)
		d, ok := a.(Dynamic)
		if !ok {
			t.Fatalf("%s is not dynamic", algo)
		}
		if r, ok := a.(*random); ok {
			r.intN = rand.New(rand.NewPCG(5, 6)).IntN
		}
		d.SetWeight(0, 3*WeightScale)
		d.SetWeight(2, 0)
		count := make([]int, 3)
		for range 40000 {
			count[a.Pick(-1)]++
		}
		if count[2] != 0 || count[0] < 2*count[1]+count[1]/2 || count[0] > 3*count[1]+count[1]/2 {
			t.Errorf("%s after weights 3,1,0: counts %v", algo, count)
		}
	}
	for _, algo := range []string{"static-rr"} {
		if _, ok := New(algo, []int{1}, allUp, nil).(Dynamic); ok {
			t.Errorf("%s must refuse run-time weights, as HAProxy's static algorithms", algo)
		}
	}
	if _, ok := NewHashed(HashSpec{Kind: HashURI}, []int{1}, nil, allUp, nil).(Dynamic); ok {
		t.Error("map-based hashing must refuse run-time weights")
	}
	if _, ok := NewHashed(HashSpec{Kind: HashURI, Consistent: true}, []int{1}, nil, allUp, nil).(Dynamic); !ok {
		t.Error("consistent hashing takes run-time weights")
	}
}

func TestLeastConnFollowsSetWeight(t *testing.T) {
	fl := &fakeLoad{cur: []int{0, 0}}
	a := New("leastconn", []int{1, 1}, allUp, fl.load)
	a.(Dynamic).SetWeight(1, 4*WeightScale)
	for range 500 {
		fl.cur[a.Pick(-1)]++
	}
	if fl.cur[1] < 380 || fl.cur[1] > 420 {
		t.Errorf("open connections %v with weights 1 and 4, want about 100/400", fl.cur)
	}
}

func TestHashesAreSticky(t *testing.T) {
	var down atomic.Int32
	down.Store(-1)
	usable := func(i int) bool { return int(down.Load()) != i }
	for _, consistent := range []bool{false, true} {
		tab := NewHashed(HashSpec{Kind: HashURI, Consistent: consistent}, []int{1, 2, 3, 1}, nil, usable, nil)
		ks := keys(5000, consistent)
		first := make([]int, len(ks))
		for i, h := range ks {
			first[i] = tab.PickHash(-1, h)
		}
		// Unrelated traffic and round-robin fallbacks change nothing.
		for range 1000 {
			tab.Pick(-1)
		}
		for i, h := range ks {
			if got := tab.PickHash(-1, h); got != first[i] {
				t.Fatalf("consistent=%v: key %d moved from %d to %d", consistent, i, first[i], got)
			}
		}
	}
}

func TestConsistentWeightChangeMovesFewKeys(t *testing.T) {
	c := newConsistentHash([]int{2, 2, 2, 2}, nil, allUp, noLoad, 0)
	ks := keys(20000, true)
	before := make([]int, len(ks))
	for i, h := range ks {
		before[i] = c.PickHash(-1, h)
	}
	c.SetWeight(3, 1*WeightScale) // server 3 drops half its points
	moved := 0
	for i, h := range ks {
		after := c.PickHash(-1, h)
		if after != before[i] {
			moved++
			if before[i] != 3 {
				t.Fatalf("key %d moved from %d, which kept its weight", i, before[i])
			}
		}
	}
	frac := float64(moved) / float64(len(ks))
	t.Logf("%.1f%% of keys moved when one of 4 servers halved its weight", 100*frac)
	if frac < 0.06 || frac > 0.2 {
		t.Errorf("%.1f%% moved, want about 1/8 (half of server 3's quarter)", 100*frac)
	}
	if got := len(c.ring.Load().keys); got != 7*WeightScale {
		t.Errorf("%d points after the change, want %d", got, 7*WeightScale)
	}
}

func TestRemappingFractionIsOneOverN(t *testing.T) {
	for _, n := range []int{3, 5, 8} {
		var down atomic.Int32
		down.Store(-1)
		weights := make([]int, n)
		for i := range weights {
			weights[i] = 1
		}
		c := newConsistentHash(weights, nil, func(i int) bool { return int(down.Load()) != i }, noLoad, 0)
		ks := keys(30000, true)
		before := make([]int, len(ks))
		for i, h := range ks {
			before[i] = c.PickHash(-1, h)
		}
		down.Store(int32(n / 2))
		moved := 0
		for i, h := range ks {
			if c.PickHash(-1, h) != before[i] {
				moved++
			}
		}
		frac := float64(moved) / float64(len(ks))
		want := 1 / float64(n)
		t.Logf("%d servers, one leaves: %.1f%% moved (1/N = %.1f%%)", n, 100*frac, 100*want)
		if frac > 1.6*want || frac < 0.4*want {
			t.Errorf("%d servers: %.1f%% of keys moved, want about %.1f%%", n, 100*frac, 100*want)
		}
	}
}

func TestBalanceFactorBoundsLoad(t *testing.T) {
	// All keys hash near one server; connections stay open. With
	// hash-balance-factor 125 no server may exceed 125% of the average.
	const servers, conns = 4, 400
	fl := &fakeLoad{cur: make([]int, servers)}
	c := newConsistentHash([]int{1, 1, 1, 1}, nil, allUp, fl.load, 125)
	hot := Hash("sdbm", true, []byte("/the/one/hot/object"))
	for range conns {
		fl.cur[c.PickHash(-1, hot)]++
	}
	limit := int(math.Ceil(1.25 * conns / servers))
	for i, n := range fl.cur {
		if n > limit+1 {
			t.Errorf("server %d holds %d connections, over 125%% of the average (%d): %v", i, n, limit, fl.cur)
		}
	}
	// Without the factor the hot key stays on one server.
	fl2 := &fakeLoad{cur: make([]int, servers)}
	c2 := newConsistentHash([]int{1, 1, 1, 1}, nil, allUp, fl2.load, 0)
	for range conns {
		fl2.cur[c2.PickHash(-1, hot)]++
	}
	if fmt.Sprint(fl2.cur) == fmt.Sprint(fl.cur) {
		t.Errorf("the balance factor changed nothing: %v", fl.cur)
	}
}

func TestPickSkipsFullServers(t *testing.T) {
	fl := &fakeLoad{cur: []int{1, 0, 0}, max: []int{1, 1, 0}}
	for _, algo := range []string{"roundrobin", "static-rr", "leastconn", "first"} {
		a := New(algo, []int{1, 1, 1}, allUp, fl.load)
		for range 6 {
			if p := a.Pick(-1); p == 0 {
				t.Fatalf("%s picked server 0, which is full", algo)
			}
		}
	}
	full := &fakeLoad{cur: []int{1, 1}, max: []int{1, 1}}
	for _, algo := range []string{"roundrobin", "static-rr", "leastconn", "first", "random"} {
		if p := New(algo, []int{1, 1}, allUp, full.load).Pick(-1); p != -1 {
			t.Errorf("%s with every server full picked %d, want -1 (backend queue)", algo, p)
		}
	}
}
