package stream

import (
	"sync"
	"sync/atomic"
	"time"
)

// waitQueue holds the requests waiting for a serving slot, on one server
// (persistence or hashing chose it while it was full) or on the backend
// (every server was full). Only the queueing path takes its lock: a
// request that finds a free slot never touches it.
type waitQueue struct {
	mu sync.Mutex
	w  []*waiter
	n  atomic.Int32 // len(w), readable without the lock
}

// waiter is one queued request; ch receives the server whose slot it got.
type waiter struct {
	ch  chan *Server
	seq uint64 // arrival order, to serve the oldest of two queues first
}

var waiterPool = sync.Pool{New: func() any { return &waiter{ch: make(chan *Server, 1)} }}

func (q *waitQueue) push(w *waiter) {
	q.mu.Lock()
	q.w = append(q.w, w)
	q.n.Store(int32(len(q.w)))
	q.mu.Unlock()
}

// remove takes w out of the queue; false means it was already served.
func (q *waitQueue) remove(w *waiter) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.w {
		if x == w {
			copy(q.w[i:], q.w[i+1:])
			q.w[len(q.w)-1] = nil
			q.w = q.w[:len(q.w)-1]
			q.n.Store(int32(len(q.w)))
			return true
		}
	}
	return false
}

// popLocked removes the head; the caller holds mu and knows w is non-empty.
func (q *waitQueue) popLocked() *waiter {
	w := q.w[0]
	copy(q.w, q.w[1:])
	q.w[len(q.w)-1] = nil
	q.w = q.w[:len(q.w)-1]
	q.n.Store(int32(len(q.w)))
	return w
}

// dispatch hands s's free slots to the oldest waiters of its own queue and
// of the backend's queue, as HAProxy's process_srv_queue does when a
// connection ends or a server comes up. Locks are always taken server
// queue first, then backend queue.
func (b *Backend) dispatch(s *Server) {
	if !s.up.Load() {
		return // a server going down hands its queue to the backend's (redistribute)
	}
	s.queue.mu.Lock()
	b.queue.mu.Lock()
	for {
		var from *waitQueue
		if len(s.queue.w) > 0 {
			from = &s.queue
		}
		if len(b.queue.w) > 0 && b.mayServeBackendQueue(s) && (from == nil || b.queue.w[0].seq < from.w[0].seq) {
			from = &b.queue
		}
		if from == nil || !s.tryTake(true) {
			break
		}
		from.popLocked().ch <- s
	}
	b.queue.mu.Unlock()
	s.queue.mu.Unlock()
}

// mayServeBackendQueue tells whether s may take requests from the
// backend's queue: backup servers only do while no active server is usable.
func (b *Backend) mayServeBackendQueue(s *Server) bool {
	set := b.set.Load()
	return s.usable() && (!s.Conf.Backup || !set.anyUsable(&set.act))
}

// wait queues the request on s's queue (s != nil) or on the backend's, and
// returns the server whose slot it was handed, or nil when the queue
// timeout expired first.
func (b *Backend) wait(s *Server, timeout time.Duration) *Server {
	w := waiterPool.Get().(*waiter)
	w.seq = b.qseq.Add(1)
	q := &b.queue
	if s != nil {
		q = &s.queue
	}
	b.queued.Add(1)
	defer b.queued.Add(-1)
	q.push(w)
	if s != nil {
		raiseTo(&s.Stats.Qmax, q.n.Load())
	} else {
		raiseTo(&b.Stats.Qmax, q.n.Load())
	}
	// A slot freed between the caller's attempt and the push found no
	// waiter: look again now that this one is visible.
	if s != nil {
		if s.up.Load() {
			b.dispatch(s)
		} else {
			b.redistribute(s) // it went down before w was visible
		}
	} else {
		for _, o := range b.ServerList() {
			b.dispatch(o)
		}
	}
	t := time.NewTimer(timeout)
	var got *Server
	select {
	case got = <-w.ch:
	case <-t.C:
		// The server may have gone down and moved w to the backend queue.
		if !q.remove(w) && !b.queue.remove(w) {
			got = <-w.ch // served while timing out
		}
	}
	t.Stop()
	waiterPool.Put(w)
	return got
}

// redistribute moves the requests waiting on s, which went down, to the
// backend's queue in arrival order, where any other server can serve them
// (HAProxy's pendconn_redistribute).
func (b *Backend) redistribute(s *Server) {
	s.queue.mu.Lock()
	b.queue.mu.Lock()
	if len(s.queue.w) > 0 {
		merged := make([]*waiter, 0, len(s.queue.w)+len(b.queue.w))
		x, y := s.queue.w, b.queue.w
		for len(x) > 0 || len(y) > 0 {
			if len(y) == 0 || len(x) > 0 && x[0].seq < y[0].seq {
				merged, x = append(merged, x[0]), x[1:]
			} else {
				merged, y = append(merged, y[0]), y[1:]
			}
		}
		b.queue.w = merged
		b.queue.n.Store(int32(len(merged)))
		clear(s.queue.w)
		s.queue.w = s.queue.w[:0]
		s.queue.n.Store(0)
	}
	b.queue.mu.Unlock()
	s.queue.mu.Unlock()
	for _, o := range b.ServerList() {
		b.dispatch(o)
	}
}
