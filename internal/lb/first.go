package lb

// first is "balance first": the first usable server, in id order (the order
// of the servers given to New, which is the configuration order), that has a
// free connection slot below its maxconn; a server without maxconn never
// fills, so it takes everything. When every server is full, the first one is
// returned so the request waits in its queue. Weight 0 servers get no
// traffic. Pick only reads atomics: no lock, no allocation.
type first struct {
	weights []int
	usable  Usable
	load    Load
}

func newFirst(weights []int, usable Usable, load Load) *first {
	return &first{weights: weights, usable: usable, load: load}
}

func (f *first) Pick(avoid int) int {
	full, avoided := -1, -1
	for i, w := range f.weights {
		if w <= 0 || !f.usable(i) {
			continue
		}
		if i == avoid {
			avoided = i
			continue
		}
		if cur, maxconn := f.load(i); maxconn > 0 && cur >= maxconn {
			if full < 0 {
				full = i
			}
			continue
		}
		return i
	}
	if full >= 0 {
		return full
	}
	return avoided
}
