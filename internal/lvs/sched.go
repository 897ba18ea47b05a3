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
	kernelLeast                      // one slot, repointed as connection counts change
)

// kernelScheduler maps an IPVS scheduler to what nftables can do per new
// connection. The connection-count schedulers (lc, wlc, sed, nq, ovf) are
// followed from conntrack (NAT) or from the client packets the DR chain
// logs: the map's single slot points at the server IPVS would pick now.
// What still differs from IPVS comes with a notice.
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
	case "twos":
		return kernelLeast, true, "lb_algo twos: the least loaded of all real servers is taken (wlc), not of two picked at random"
	default: // lc, wlc, sed, nq, ovf
		return kernelLeast, true, ""
	}
}

// destLoad is what IPVS' connection schedulers see of one destination.
type destLoad struct {
	weight           int
	active, inactive int64 // ESTABLISHED, and every other state
}

// leastLoaded returns the destination IPVS' scheduler sched picks for the
// next connection, or -1 when none can take one. It follows
// net/netfilter/ipvs/ip_vs_{lc,wlc,sed,nq,ovf}.c: integer overheads,
// cross-multiplied by the weights, the first in list order on a tie;
// weight 0 never takes a new connection. twos is taken as wlc.
func leastLoaded(sched string, ds []destLoad) int {
	switch sched {
	case "lc":
		best, bestOH := -1, int64(0)
		for i, d := range ds {
			if d.weight <= 0 {
				continue
			}
			if oh := connOverhead(d); best < 0 || oh < bestOH {
				best, bestOH = i, oh
			}
		}
		return best
	case "nq":
		for i, d := range ds {
			if d.weight > 0 && d.active == 0 {
				return i // an idle server first
			}
		}
		return leastPerWeight(ds, func(d destLoad) int64 { return d.active + 1 })
	case "sed":
		return leastPerWeight(ds, func(d destLoad) int64 { return d.active + 1 })
	case "ovf":
		// The highest weight whose active connections do not exceed it.
		best := -1
		for i, d := range ds {
			if d.weight > 0 && d.active <= int64(d.weight) && (best < 0 || d.weight > ds[best].weight) {
				best = i
			}
		}
		return best
	default: // wlc, twos
		return leastPerWeight(ds, connOverhead)
	}
}

// connOverhead is IPVS' ip_vs_dest_conn_overhead: an active connection
// costs 256 inactive ones.
func connOverhead(d destLoad) int64 { return d.active<<8 + d.inactive }

// leastPerWeight minimises overhead/weight as IPVS compares it,
// oh1*w2 > oh2*w1, keeping the earlier destination on a tie.
func leastPerWeight(ds []destLoad, overhead func(destLoad) int64) int {
	best, bestOH := -1, int64(0)
	for i, d := range ds {
		if d.weight <= 0 {
			continue
		}
		oh := overhead(d)
		if best < 0 || bestOH*int64(d.weight) > oh*int64(ds[best].weight) {
			best, bestOH = i, oh
		}
	}
	return best
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
	default: // lc, wlc, sed, nq, ovf, twos: userspace counts connections in progress as active
		loads := make([]destLoad, len(cands))
		for i, c := range cands {
			loads[i] = destLoad{weight: c.weight, active: c.active}
		}
		return leastLoaded(p.sched, loads)
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
