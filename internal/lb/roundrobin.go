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

// smoothSequence expands weights into one period of a smooth weighted
// order, after dividing the weights by their common divisor: server i's
// k-th turn falls at time (2k+1)/(2·w_i), and turns are taken in time order
// (ties to the lower index), which spreads every server's turns evenly
// (Sainte-Laguë order). A heap keeps the build at O(period · log servers),
// so that slow start can rebuild it every second even for large farms.
func smoothSequence(weights []int) []int32 {
	g := 0
	for _, w := range weights {
		g = gcd(g, max(w, 0))
	}
	if g == 0 {
		return nil
	}
	type turn struct {
		srv int32
		k   int64 // turns already taken
		w   int64
	}
	// before orders turns by (2k+1)/w, cross-multiplied to stay exact.
	before := func(a, b turn) bool {
		x, y := (2*a.k+1)*b.w, (2*b.k+1)*a.w
		return x < y || x == y && a.srv < b.srv
	}
	var h []turn
	total := 0
	for i, w := range weights {
		if w > 0 {
			h = append(h, turn{srv: int32(i), w: int64(w / g)})
			total += w / g
		}
	}
	down := func(i int) {
		for {
			l, m := 2*i+1, i
			if l < len(h) && before(h[l], h[m]) {
				m = l
			}
			if r := l + 1; r < len(h) && before(h[r], h[m]) {
				m = r
			}
			if m == i {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	seq := make([]int32, 0, total)
	for range total {
		seq = append(seq, h[0].srv)
		h[0].k++
		down(0)
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
