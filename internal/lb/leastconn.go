package lb

import "sync/atomic"

// srvEwghtMax is HAProxy's SRV_EWGHT_MAX, the largest effective weight
// (user weight 256 at full throttle).
const srvEwghtMax = 256 * WeightScale

// leastConn is "balance leastconn": the usable server with the lowest
// load relative to its effective weight. The key is HAProxy's (lb_fwlc.c):
// 0 for an idle server, else (cur+1)*SRV_EWGHT_MAX/eweight, so every idle
// server ties whatever its weight. Ties go round robin: the scan starts right
// after the last server picked. Full servers are skipped; when every usable
// server is full, Pick returns -1 so that the request waits in the
// backend's queue. Weight 0 servers get no traffic. Pick only reads
// atomics: no lock, no allocation.
type leastConn struct {
	weights []atomic.Int32 // effective weights
	usable  Usable
	load    Load
	last    atomic.Int32 // last server picked, where the next scan starts after
}

func newLeastConn(weights []int, usable Usable, load Load) *leastConn {
	l := &leastConn{weights: atomicWeights(weights), usable: usable, load: load}
	l.last.Store(-1)
	return l
}

// atomicWeights returns the effective weights of user weights, as atomics.
func atomicWeights(weights []int) []atomic.Int32 {
	ws := make([]atomic.Int32, len(weights))
	for i, w := range scaled(weights) {
		ws[i].Store(int32(w))
	}
	return ws
}

func (l *leastConn) SetWeight(i, eweight int) { l.weights[i].Store(int32(eweight)) }

// fwlcKey is HAProxy's leastconn sorting key for cur connections at
// effective weight ew.
func fwlcKey(cur, ew int) int64 {
	if cur <= 0 {
		return 0
	}
	return int64(cur+1) * srvEwghtMax / int64(ew)
}

func (l *leastConn) Pick(avoid int) int {
	n := len(l.weights)
	if n == 0 {
		return -1
	}
	start := int(l.last.Load()) + 1
	best, bestKey := -1, int64(0)
	avoided := -1
	for k := range n {
		i := (start + k) % n
		if i < 0 {
			i += n
		}
		w := int(l.weights[i].Load())
		if w <= 0 || !l.usable(i) {
			continue
		}
		cur, full := l.load(i)
		if full {
			continue
		}
		if i == avoid {
			avoided = i
			continue
		}
		key := fwlcKey(cur, w)
		if best < 0 || key < bestKey {
			best, bestKey = i, key
		}
	}
	if best < 0 {
		return avoided
	}
	l.last.Store(int32(best))
	return best
}
