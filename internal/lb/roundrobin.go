package lb

import "sync/atomic"

// roundRobin walks a precomputed smooth weighted sequence (each server appears
// weight times, spread out as evenly as nginx's smooth WRR does) with one
// atomic counter: lock-free on the request path.
type roundRobin struct {
	seq    []int32
	next   atomic.Uint32
	usable Usable
}

func newRoundRobin(weights []int, usable Usable) *roundRobin {
	return &roundRobin{seq: smoothSequence(weights), usable: usable}
}

// smoothSequence expands weights into one period of the smooth weighted
// round-robin order, after dividing the weights by their common divisor.
func smoothSequence(weights []int) []int32 {
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	if g == 0 {
		return nil
	}
	total := 0
	ws := make([]int, len(weights))
	for i, w := range weights {
		ws[i] = w / g
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

func (r *roundRobin) Pick(avoid int) int {
	n := len(r.seq)
	if n == 0 {
		return -1
	}
	fallback := -1
	for range n {
		i := int(r.seq[int(r.next.Add(1)-1)%n])
		if !r.usable(i) {
			continue
		}
		if i != avoid {
			return i
		}
		fallback = i
	}
	return fallback
}
