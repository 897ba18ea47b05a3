package lb

// staticRR is "balance static-rr": weighted round robin whose weights are
// fixed at start-up. HAProxy walks a precomputed map of servers; this walks
// the same smooth weighted sequence as roundrobin (weights here never change
// at run time, so the two only differ by name), lock-free with one atomic
// counter.
type staticRR struct {
	*roundRobin
}

func newStaticRR(weights []int, usable Usable) *staticRR {
	return &staticRR{newRoundRobin(weights, usable)}
}
