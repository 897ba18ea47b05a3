package lb

import "sync/atomic"

// HAProxy's weight scales: user weights go up to 256 and are multiplied by
// BE_WEIGHT_SCALE into effective weights; SRV_EWGHT_MAX is the largest
// effective weight.
const (
	beWeightScale = 16
	srvEwghtMax   = 256 * beWeightScale
)

// leastConn is "balance leastconn": the usable server with the lowest
// load relative to its weight. The key is HAProxy's (lb_fwlc.c):
// 0 for an idle server, else (cur+1)*SRV_EWGHT_MAX/eweight, so every idle
// server ties whatever its weight. Ties go round robin: the scan starts right
// after the last server picked. Servers at their maxconn are skipped while
// another one has a free slot; when all are full, the least loaded one is
// still returned so the request waits in its queue. Weight 0 servers get no
// traffic. Pick only reads atomics: no lock, no allocation.
type leastConn struct {
	weights []int
	usable  Usable
	load    Load
	last    atomic.Int32 // last server picked, where the next scan starts after
}

func newLeastConn(weights []int, usable Usable, load Load) *leastConn {
	l := &leastConn{weights: weights, usable: usable, load: load}
	l.last.Store(-1)
	return l
}

// fwlcKey is HAProxy's leastconn sorting key for cur connections at weight w.
func fwlcKey(cur, w int) int64 {
	if cur <= 0 {
		return 0
	}
	return int64(cur+1) * srvEwghtMax / int64(w*beWeightScale)
}

func (l *leastConn) Pick(avoid int) int {
	n := len(l.weights)
	if n == 0 {
		return -1
	}
	start := int(l.last.Load()) + 1
	best, bestKey, bestFull := -1, int64(0), false
	avoided := -1
	for k := range n {
		i := (start + k) % n
		if i < 0 {
			i += n
		}
		if l.weights[i] <= 0 || !l.usable(i) {
			continue
		}
		if i == avoid {
			avoided = i
			continue
		}
		cur, maxconn := l.load(i)
		full := maxconn > 0 && cur >= maxconn
		key := fwlcKey(cur, l.weights[i])
		if best < 0 || bestFull && !full || bestFull == full && key < bestKey {
			best, bestKey, bestFull = i, key, full
		}
	}
	if best < 0 {
		return avoided
	}
	l.last.Store(int32(best))
	return best
}
