package backend

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// waitQueue holds the requests waiting for a serving slot, on one server
// (persistence or hashing chose it while it was full) or on the farm
// (every server was full). Only the queueing path takes its lock: a
// request that finds a free slot never touches it.
type waitQueue[S any] struct {
	mu sync.Mutex
	w  []*waiter[S]
	n  atomic.Int32 // len(w), readable without the lock
}

// Priority is a request's place in the queues, as http-request
// set-priority-class and set-priority-offset give it: the lower class
// first, then, within a class, the earlier arrival time shifted by the
// offset (milliseconds), as haproxy orders its queues.
type Priority struct {
	Class  int32 // -2047..2047
	Offset int32 // -524287..524287
}

// waiter is one queued request; ch receives the server whose slot it got.
type waiter[S any] struct {
	ch    chan *Server[S]
	class int32  // Priority.Class
	due   int64  // arrival (ms since queueEpoch) plus Priority.Offset
	seq   uint64 // arrival order: the tie-break
}

// queueEpoch is the origin of the waiters' arrival times (monotonic).
var queueEpoch = time.Now()

// before tells whether w is served before o.
func (w *waiter[S]) before(o *waiter[S]) bool {
	if w.class != o.class {
		return w.class < o.class
	}
	if w.due != o.due {
		return w.due < o.due
	}
	return w.seq < o.seq
}

// push adds w in its place: after every waiter served before it. Without
// priorities that is the end, found at once.
func (q *waitQueue[S]) push(w *waiter[S]) {
	q.mu.Lock()
	i := len(q.w)
	for i > 0 && w.before(q.w[i-1]) {
		i--
	}
	q.w = slices.Insert(q.w, i, w)
	q.n.Store(int32(len(q.w)))
	q.mu.Unlock()
}

// remove takes w out of the queue; false means it was already served.
func (q *waitQueue[S]) remove(w *waiter[S]) bool {
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
func (q *waitQueue[S]) popLocked() *waiter[S] {
	w := q.w[0]
	copy(q.w, q.w[1:])
	q.w[len(q.w)-1] = nil
	q.w = q.w[:len(q.w)-1]
	q.n.Store(int32(len(q.w)))
	return w
}

// dispatch hands s's free slots to the first waiters (by priority, then
// arrival) of its own queue and of the farm's queue, as HAProxy's process_srv_queue does when a
// connection ends or a server comes up. Locks are always taken server
// queue first, then farm queue.
func (f *Farm[S]) dispatch(s *Server[S]) {
	if !s.up.Load() {
		return // a server going down hands its queue to the farm's (redistribute)
	}
	s.queue.mu.Lock()
	f.queue.mu.Lock()
	for {
		var from *waitQueue[S]
		if len(s.queue.w) > 0 {
			from = &s.queue
		}
		if len(f.queue.w) > 0 && f.mayServeFarmQueue(s) && (from == nil || f.queue.w[0].before(from.w[0])) {
			from = &f.queue
		}
		if from == nil || !s.tryTake(true) {
			break
		}
		from.popLocked().ch <- s
	}
	f.queue.mu.Unlock()
	s.queue.mu.Unlock()
}

// mayServeFarmQueue tells whether s may take requests from the farm's
// queue: backup servers only do while no active server is usable.
func (f *Farm[S]) mayServeFarmQueue(s *Server[S]) bool {
	set := f.set.Load()
	return s.Usable() && (!s.Conf.Backup || !set.anyUsable(&set.act))
}

// wait queues the request on s's queue (s != nil) or on the farm's, in
// its place by prio, and returns the server whose slot it was handed, or
// nil when the queue timeout expired first.
func (f *Farm[S]) wait(s *Server[S], timeout time.Duration, prio Priority) *Server[S] {
	w := f.waiters.Get().(*waiter[S])
	w.seq = f.qseq.Add(1)
	w.class, w.due = prio.Class, time.Since(queueEpoch).Milliseconds()+int64(prio.Offset)
	q := &f.queue
	if s != nil {
		q = &s.queue
	}
	f.queued.Add(1)
	defer f.queued.Add(-1)
	q.push(w)
	if s != nil {
		f.events.Queued(s.owner, false, q.n.Load())
	} else {
		var none S
		f.events.Queued(none, true, q.n.Load())
	}
	// A slot freed between the caller's attempt and the push found no
	// waiter: look again now that this one is visible.
	if s != nil {
		if s.up.Load() {
			f.dispatch(s)
		} else {
			f.redistribute(s) // it went down before w was visible
		}
	} else {
		for _, o := range f.set.Load().all {
			f.dispatch(o)
		}
	}
	t := time.NewTimer(timeout)
	var got *Server[S]
	select {
	case got = <-w.ch:
	case <-t.C:
		// The server may have gone down and moved w to the farm's queue.
		if !q.remove(w) && !f.queue.remove(w) {
			got = <-w.ch // served while timing out
		}
	}
	t.Stop()
	f.waiters.Put(w)
	return got
}

// redistribute moves the requests waiting on s, which went down, to the
// farm's queue in their order, where any other server can serve them
// (HAProxy's pendconn_redistribute).
func (f *Farm[S]) redistribute(s *Server[S]) {
	s.queue.mu.Lock()
	f.queue.mu.Lock()
	if len(s.queue.w) > 0 {
		merged := make([]*waiter[S], 0, len(s.queue.w)+len(f.queue.w))
		x, y := s.queue.w, f.queue.w
		for len(x) > 0 || len(y) > 0 {
			if len(y) == 0 || len(x) > 0 && x[0].before(y[0]) {
				merged, x = append(merged, x[0]), x[1:]
			} else {
				merged, y = append(merged, y[0]), y[1:]
			}
		}
		f.queue.w = merged
		f.queue.n.Store(int32(len(merged)))
		clear(s.queue.w)
		s.queue.w = s.queue.w[:0]
		s.queue.n.Store(0)
	}
	f.queue.mu.Unlock()
	s.queue.mu.Unlock()
	for _, o := range f.set.Load().all {
		f.dispatch(o)
	}
}
