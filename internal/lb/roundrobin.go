package lb

import (
	"sync/atomic"
)

// roundRobin walks a precomputed smooth weighted sequence (each server
// appears in proportion to its effective weight, spread out as evenly as
// nginx's smooth WRR does) with one atomic counter: lock-free on the
// request path. A weight change builds a new sequence and swaps it in
// atomically, the way HAProxy requeues a server in its fwrr tree.
type roundRobin struct {
	weights []int // effective weights; written only by SetWeight
	seq     atomic.Pointer[[]int32]
	next    atomic.Uint32
	usable  Usable
	load    Load
}

func newRoundRobin(weights []int, usable Usable, load Load) *roundRobin {
	r := &roundRobin{weights: scaled(weights), usable: usable, load: load}
	seq := smoothSequence(r.weights)
	r.seq.Store(&seq)
	return r
}

func (r *roundRobin) SetWeight(i, eweight int) {
	if r.weights[i] == eweight {
		return
	}
	r.weights[i] = eweight
	seq := smoothSequence(r.weights)
	r.seq.Store(&seq)
}

// smoothSequence expands weights into one period of the smooth weighted
// round-robin order, after dividing the weights by their common divisor.
func smoothSequence(weights []int) []int32 {
	g := 0
	for _, w := range weights {
		g = gcd(g, max(w, 0))
	}
	if g == 0 {
		return nil
	}
	total := 0
	ws := make([]int, len(weights))
	for i, w := range weights {
		ws[i] = max(w, 0) / g
		total += ws[i]
	}
	cur := make([]int, len(ws))
	seq := make([]int32, 0, total)
	for range total {
		best := -1
		for i, w := range ws {
			if w == 0 {
				continue
			}
			cur[i] += w
			if best < 0 || cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		seq = append(seq, int32(best))
	}
	return seq
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Pick skips servers that are down or full, as HAProxy's fwrr does, and
// returns -1 when every usable server is full so that the request waits in
// the backend's queue.
func (r *roundRobin) Pick(avoid int) int {
	seq := *r.seq.Load()
	n := len(seq)
	if n == 0 {
		return -1
	}
	avoided := -1
	for range n {
		i := int(seq[int(r.next.Add(1)-1)%n])
		if !r.usable(i) {
			continue
		}
		if _, full := r.load(i); full {
			continue
		}
		if i != avoid {
			return i
		}
		avoided = i
	}
	return avoided
}
