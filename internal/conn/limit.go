package conn

import "sync/atomic"

// Limit is a connection limit the runtime API can change ("set maxconn
// frontend|global"): a counter against an atomic bound, and a wake-up
// channel for the accept loops that wait for room.
type Limit struct {
	max  atomic.Int64 // 0: no limit
	cur  atomic.Int64
	wake chan struct{} // capacity 1: a release or a change happened
}

// Init sets the first bound (0: none); call it before any other method.
func (l *Limit) Init(n int) {
	l.wake = make(chan struct{}, 1)
	l.max.Store(int64(n))
}

// TryAcquire takes a slot if the limit leaves one.
func (l *Limit) TryAcquire() bool {
	for {
		m, c := l.max.Load(), l.cur.Load()
		if m > 0 && c >= m {
			return false
		}
		if l.cur.CompareAndSwap(c, c+1) {
			return true
		}
	}
}

// Release gives a slot back.
func (l *Limit) Release() {
	l.cur.Add(-1)
	l.Signal()
}

// Signal wakes one waiting accept loop; a woken loop that finds room passes
// the signal on, so a raised limit reaches every waiter.
func (l *Limit) Signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Wake is where a loop waiting for room (or for a change) learns of one.
func (l *Limit) Wake() <-chan struct{} { return l.wake }

// Set changes the bound; 0 removes it.
func (l *Limit) Set(n int) {
	l.max.Store(int64(n))
	l.Signal()
}

// Max is the bound now; 0: none.
func (l *Limit) Max() int { return int(l.max.Load()) }
