package lb

import "math/rand/v2"

// random is "balance random(<draws>)": the power of <draws> choices (2 by
// default). Each draw picks a usable server at random in proportion to its
// weight; the least loaded of the draws relative to weight wins, as HAProxy
// compares served*weight across draws. math/rand/v2's top-level generator is
// per-thread and lock-free, so Pick takes no lock and allocates nothing.
type random struct {
	weights []int
	cum     []int // cum[i] = sum of weights[0..i]
	usable  Usable
	load    Load
	draws   int
}

func newRandom(weights []int, usable Usable, load Load, draws int) *random {
	r := &random{weights: weights, cum: make([]int, len(weights)), usable: usable, load: load, draws: draws}
	total := 0
	for i, w := range weights {
		if w > 0 {
			total += w
		}
		r.cum[i] = total
	}
	return r
}

// drawOne returns a random server index weighted by weight, or -1 when all
// weights are zero.
func (r *random) drawOne() int {
	n := len(r.cum)
	if n == 0 || r.cum[n-1] == 0 {
		return -1
	}
	x := rand.IntN(r.cum[n-1])
	lo, hi := 0, n-1
	for lo < hi {
		mid := (lo + hi) / 2
		if r.cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// drawUsable draws until it finds a usable server other than avoid, a few
// times the number of servers at most; it returns -1 when it found none.
func (r *random) drawUsable(avoid int) int {
	for range 2*len(r.cum) + 2 {
		i := r.drawOne()
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
func (r *random) lessLoaded(a, b int) bool {
	ca, _ := r.load(a)
	cb, _ := r.load(b)
	return int64(ca)*int64(r.weights[b]) < int64(cb)*int64(r.weights[a])
}

func (r *random) Pick(avoid int) int {
	best := -1
	for range r.draws {
		i := r.drawUsable(avoid)
		if i < 0 {
			break
		}
		if best < 0 || r.lessLoaded(i, best) {
			best = i
		}
	}
	if best >= 0 {
		return best
	}
	// Few usable servers left: scan from a random place.
	n := len(r.weights)
	if n == 0 {
		return -1
	}
	avoided := -1
	start := rand.IntN(n)
	for k := range n {
		i := (start + k) % n
		if r.weights[i] <= 0 || !r.usable(i) {
			continue
		}
		if i != avoid {
			return i
		}
		avoided = i
	}
	return avoided
}
