package lb

import (
	"math/rand/v2"
	"sync/atomic"
)

// random is "balance random(<draws>)": the power of <draws> choices (2 by
// default). Each draw picks a usable server at random in proportion to its
// effective weight; the least loaded of the draws relative to weight wins,
// as HAProxy compares served*weight across draws. When the winner is full,
// Pick returns -1 so that the request waits in the backend's queue, as
// HAProxy does. math/rand/v2's top-level generator is per-thread and
// lock-free, and the weight table is swapped atomically on a weight change,
// so Pick takes no lock and allocates nothing.
type random struct {
	weights []int // effective weights; written only by SetWeight
	tab     atomic.Pointer[randomTable]
	usable  Usable
	load    Load
	draws   int
	intN    func(n int) int // rand.IntN; tests substitute a seeded source
}

// randomTable is one immutable set of weights with their running sums.
type randomTable struct {
	weights []int
	cum     []int // cum[i] = sum of weights[0..i]
}

func newRandom(weights []int, usable Usable, load Load, draws int) *random {
	r := &random{weights: scaled(weights), usable: usable, load: load, draws: draws, intN: rand.IntN}
	r.rebuild()
	return r
}

func (r *random) rebuild() {
	t := &randomTable{weights: append([]int(nil), r.weights...), cum: make([]int, len(r.weights))}
	total := 0
	for i, w := range t.weights {
		total += max(w, 0)
		t.cum[i] = total
	}
	r.tab.Store(t)
}

func (r *random) SetWeight(i, eweight int) {
	if r.weights[i] != eweight {
		r.weights[i] = eweight
		r.rebuild()
	}
}

// drawOne returns a random server index weighted by weight, or -1 when all
// weights are zero.
func (t *randomTable) drawOne(intN func(int) int) int {
	n := len(t.cum)
	if n == 0 || t.cum[n-1] == 0 {
		return -1
	}
	x := intN(t.cum[n-1])
	lo, hi := 0, n-1
	for lo < hi {
		mid := (lo + hi) / 2
		if t.cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// drawUsable draws until it finds a usable server other than avoid, a few
// times the number of servers at most; it returns -1 when it found none.
func (r *random) drawUsable(t *randomTable, avoid int) int {
	for range 2*len(t.cum) + 2 {
		i := t.drawOne(r.intN)
		if i < 0 {
			return -1
		}
		if i != avoid && r.usable(i) {
			return i
		}
	}
	return -1
}

// lessLoaded tells whether server a carries less load per weight than b.
func (r *random) lessLoaded(t *randomTable, a, b int) bool {
	ca, _ := r.load(a)
	cb, _ := r.load(b)
	return int64(ca)*int64(t.weights[b]) < int64(cb)*int64(t.weights[a])
}

func (r *random) Pick(avoid int) int {
	t := r.tab.Load()
	best := -1
	for range r.draws {
		i := r.drawUsable(t, avoid)
		if i < 0 {
			break
		}
		if best < 0 || r.lessLoaded(t, i, best) {
			best = i
		}
	}
	if best < 0 {
		best = r.scan(t, avoid)
	}
	if best >= 0 {
		if _, full := r.load(best); full {
			return -1
		}
	}
	return best
}

// scan finds a usable server from a random place, for when few are left.
func (r *random) scan(t *randomTable, avoid int) int {
	n := len(t.weights)
	if n == 0 {
		return -1
	}
	avoided := -1
	start := r.intN(n)
	for k := range n {
		i := (start + k) % n
		if t.weights[i] <= 0 || !r.usable(i) {
			continue
		}
		if i != avoid {
			return i
		}
		avoided = i
	}
	return avoided
}
