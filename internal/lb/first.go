package lb

import "sync/atomic"

// first is "balance first": the first usable server, in id order (the order
// of the servers given to New, which is the configuration order), that is
// not full; a server without maxconn never fills, so it takes everything.
// When every usable server is full, Pick returns -1 so that the request
// waits in the backend's queue. Weight 0 servers get no traffic. Pick only
// reads atomics: no lock, no allocation.
type first struct {
	weights []atomic.Int32
	usable  Usable
	load    Load
}

func newFirst(weights []int, usable Usable, load Load) *first {
	return &first{weights: atomicWeights(weights), usable: usable, load: load}
}

func (f *first) SetWeight(i, eweight int) { f.weights[i].Store(int32(eweight)) }

func (f *first) Pick(avoid int) int {
	avoided := -1
	for i := range f.weights {
		if f.weights[i].Load() <= 0 || !f.usable(i) {
			continue
		}
		if _, full := f.load(i); full {
			continue
		}
		if i == avoid {
			avoided = i
			continue
		}
		return i
	}
	return avoided
}
