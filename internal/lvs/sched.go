package lvs

import (
	"hash/fnv"
	"net/netip"
	"sync/atomic"
)

// kernelSched is how the nftables datapath expresses a scheduler.
type kernelSched int

const (
	kernelCycle   kernelSched = iota // numgen inc over weighted slots
	kernelHashSrc                    // jhash of the (masked) source address
	kernelHashDst                    // jhash of the destination address
	kernelHighest                    // every new client to the highest weight
)

// kernelScheduler maps an IPVS scheduler to what nftables can do per new
// connection. Schedulers that need live connection counts (lc, wlc, sed,
// nq, ovf, twos) become weighted round robin there: the notice says so.
func kernelScheduler(sched string) (k kernelSched, weighted bool, notice string) {
	switch sched {
	case "rr":
		return kernelCycle, false, ""
	case "wrr":
		return kernelCycle, true, ""
	case "sh", "mh":
		return kernelHashSrc, true, ""
	case "dh":
		return kernelHashDst, true, ""
	case "lblc", "lblcr":
		return kernelHashDst, true, "lb_algo " + sched + ": nftables keeps no locality table; using destination hashing (dh)"
	case "fo":
		return kernelHighest, true, ""
	case "lc", "nq":
		return kernelCycle, false, "lb_algo " + sched + ": nftables cannot count connections per real server; using round robin (rr)"
	default: // wlc, sed, ovf, twos
		return kernelCycle, true, "lb_algo " + sched + ": nftables cannot count connections per real server; using weighted round robin (wrr)"
	}
}

// slots spreads n slots over the weights, in proportion, keeping each
// positive weight at one slot at least. Weights are first divided by their
// gcd, so wrr 3:1 becomes 3 slots and 1 slot (IPVS' wrr order: A A A B).
func slots(weights []int, limit int) []int {
	g := 0
	for _, w := range weights {
		if w > 0 {
			g = gcd(g, w)
		}
	}
	out := make([]int, len(weights))
	if g == 0 {
		return out
	}
	total := 0
	for i, w := range weights {
		out[i] = w / g
		total += out[i]
	}
	if total <= limit {
		return out
	}
	for i, w := range weights {
		if w > 0 {
			out[i] = max(1, w*limit/(total*g))
		}
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// picker chooses a destination for a new connection in the userspace
// datapath, where every IPVS scheduler can be followed exactly.
type picker struct {
	sched string
	next  atomic.Uint64 // rr/wrr position
}

// candidate is what the picker sees of one destination.
type candidate struct {
	weight int
	active int64 // connections in progress
}

// pick returns an index into cands, or -1 when none can take a client.
func (p *picker) pick(cands []candidate, src, dst netip.Addr) int {
	switch p.sched {
	case "rr":
		return p.cycle(cands, false)
	case "wrr":
		return p.cycle(cands, true)
	case "sh", "mh":
		return hashPick(cands, src)
	case "dh", "lblc", "lblcr":
		return hashPick(cands, dst)
	case "fo":
		best := -1
		for i, c := range cands {
			if c.weight > 0 && (best < 0 || c.weight > cands[best].weight) {
				best = i
			}
		}
		return best
	case "lc":
		return leastBy(cands, func(c candidate) float64 { return float64(c.active) })
	case "nq":
		for i, c := range cands {
			if c.weight > 0 && c.active == 0 {
				return i
			}
		}
		return leastBy(cands, func(c candidate) float64 { return float64(c.active+1) / float64(c.weight) })
	case "sed":
		return leastBy(cands, func(c candidate) float64 { return float64(c.active+1) / float64(c.weight) })
	default: // wlc, ovf, twos
		return leastBy(cands, func(c candidate) float64 { return float64(c.active) / float64(c.weight) })
	}
}

func (p *picker) cycle(cands []candidate, weighted bool) int {
	ws := make([]int, len(cands))
	for i, c := range cands {
		if c.weight > 0 {
			ws[i] = 1
			if weighted {
				ws[i] = c.weight
			}
		}
	}
	sl := slots(ws, 1<<16)
	total := 0
	for _, s := range sl {
		total += s
	}
	if total == 0 {
		return -1
	}
	n := int((p.next.Add(1) - 1) % uint64(total))
	for i, s := range sl {
		if n < s {
			return i
		}
		n -= s
	}
	return -1
}

func hashPick(cands []candidate, a netip.Addr) int {
	ws := make([]int, len(cands))
	for i, c := range cands {
		ws[i] = max(c.weight, 0)
	}
	sl := slots(ws, 1<<16)
	total := 0
	for _, s := range sl {
		total += s
	}
	if total == 0 {
		return -1
	}
	h := fnv.New32a()
	b := a.AsSlice()
	h.Write(b)
	n := int(h.Sum32() % uint32(total))
	for i, s := range sl {
		if n < s {
			return i
		}
		n -= s
	}
	return -1
}

func leastBy(cands []candidate, cost func(candidate) float64) int {
	best, bestCost := -1, 0.0
	for i, c := range cands {
		if c.weight <= 0 {
			continue
		}
		if k := cost(c); best < 0 || k < bestCost {
			best, bestCost = i, k
		}
	}
	return best
}
