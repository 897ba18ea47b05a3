package lb

// staticRR is "balance static-rr": weighted round robin whose weights are
// fixed at start-up. HAProxy walks a precomputed map of servers; this walks
// the same smooth weighted sequence as roundrobin, lock-free with one atomic
// counter. It does not implement Dynamic: HAProxy refuses weight changes on
// static algorithms (only 0% and 100%, which the caller maps to usability).
type staticRR struct {
	rr *roundRobin
}

func newStaticRR(weights []int, usable Usable, load Load) *staticRR {
	return &staticRR{newRoundRobin(weights, usable, load)}
}

func (s *staticRR) Pick(avoid int) int { return s.rr.Pick(avoid) }
