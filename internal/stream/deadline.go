package stream

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

// startClock runs the coarse clock for the life of the process: it is shared
// by every runtime (a reload keeps it) and costs 100 wake-ups a second.
func startClock() {
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

// deadlines remembers the read and write deadlines last set on a conn.
type deadlines struct {
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

// read makes sure reads on c fail after timeout of inactivity (0: never).
func (d *deadlines) read(c net.Conn, timeout time.Duration) {
	refresh(&d.rd, timeout, c.SetReadDeadline)
}

// write does the same for writes.
func (d *deadlines) write(c net.Conn, timeout time.Duration) {
	refresh(&d.wr, timeout, c.SetWriteDeadline)
}
