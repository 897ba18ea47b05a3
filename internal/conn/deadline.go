package conn

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Setting a socket deadline costs a clock read and a runtime timer update;
// doing it four times per request showed in profiles. Timeouts here are
// inactivity timeouts of seconds, so a deadline is only moved when it would
// otherwise fire more than 1/64 of the timeout early, against a clock that
// ticks every clockTick: a deadline fires at most timeout/64 early and
// 2×clockTick late.
const clockTick = 10 * time.Millisecond

var (
	coarseNow atomic.Int64 // unix nanoseconds, at most clockTick old
	clockOnce sync.Once
)

// StartClock runs the coarse clock for the life of the process: it is shared
// by every runtime (a reload keeps it) and costs 100 wake-ups a second.
func StartClock() {
	clockOnce.Do(func() {
		coarseNow.Store(time.Now().UnixNano())
		go func() {
			t := time.NewTicker(clockTick)
			for now := range t.C {
				coarseNow.Store(now.UnixNano())
			}
		}()
	})
}

// CoarseNow is the time in Unix nanoseconds, at most clockTick old (once
// StartClock ran).
func CoarseNow() int64 { return coarseNow.Load() }

// Deadlines remembers the read and write deadlines last set on a conn.
type Deadlines struct {
	rd, wr int64 // unix nanoseconds; 0 = none
}

func refresh(cur *int64, timeout time.Duration, set func(time.Time) error) {
	if timeout <= 0 {
		if *cur != 0 {
			*cur = 0
			set(time.Time{})
		}
		return
	}
	now := coarseNow.Load()
	if *cur != 0 && *cur-now-int64(clockTick) >= int64(timeout-timeout/64) {
		return
	}
	*cur = now + int64(clockTick) + int64(timeout)
	set(time.Unix(0, *cur))
}

// Read makes sure reads on c fail after timeout of inactivity (0: never).
func (d *Deadlines) Read(c net.Conn, timeout time.Duration) {
	refresh(&d.rd, timeout, c.SetReadDeadline)
}

// Write does the same for writes.
func (d *Deadlines) Write(c net.Conn, timeout time.Duration) {
	refresh(&d.wr, timeout, c.SetWriteDeadline)
}

// ReadAt sets c's read deadline to t exactly; the next Read moves it.
func (d *Deadlines) ReadAt(c net.Conn, t time.Time) {
	c.SetReadDeadline(t)
	d.rd = t.UnixNano()
}

// ForgetRead makes the next Read set the deadline whatever it was: someone
// else moved it meanwhile.
func (d *Deadlines) ForgetRead() { d.rd = 0 }
