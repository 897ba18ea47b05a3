package stream

import (
	"dhproxy/internal/conn"
	"log"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// connLimit is a connection limit the runtime API can change ("set maxconn
// frontend|global"): a counter against an atomic bound, and a wake-up
// channel for the accept loops that wait for room.
type connLimit struct {
	max  atomic.Int64 // 0: no limit
	cur  atomic.Int64
	wake chan struct{} // capacity 1: a release or a change happened
}

func (l *connLimit) init(n int) {
	l.wake = make(chan struct{}, 1)
	l.max.Store(int64(n))
}

// tryAcquire takes a slot if the limit leaves one.
func (l *connLimit) tryAcquire() bool {
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

func (l *connLimit) release() {
	l.cur.Add(-1)
	l.signal()
}

// signal wakes one waiting accept loop; a woken loop that finds room passes
// the signal on, so a raised limit reaches every waiter.
func (l *connLimit) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *connLimit) set(n int) {
	l.max.Store(int64(n))
	l.signal()
}

// admit waits until fe may accept one more connection: the frontend is not
// paused ("disable frontend"), the process is under its connection rate
// limit, and both the global and the frontend's maxconn leave a slot, which
// it takes. False when the runtime stops.
func (rt *Runtime) admit(fe *Frontend) bool {
	for {
		if fe.paused.Load() {
			if !rt.waitWake(&fe.limit) {
				return false
			}
			continue
		}
		if !rt.underRateLimit() {
			select {
			case <-time.After(rateLimitPoll):
			case <-rt.done:
				return false
			}
			continue
		}
		if !rt.limit.tryAcquire() {
			if !rt.waitWake(&rt.limit) {
				return false
			}
			continue
		}
		if !fe.limit.tryAcquire() {
			rt.limit.release()
			if !rt.waitWake(&fe.limit) {
				return false
			}
			continue
		}
		rt.limit.signal()
		fe.limit.signal()
		return true
	}
}

func (rt *Runtime) waitWake(l *connLimit) bool {
	select {
	case <-l.wake:
		return true
	case <-rt.done:
		return false
	}
}

// rateLimitPoll is how often an accept loop held back by "set rate-limit"
// looks again: the rate falls as time passes, not on an event.
const rateLimitPoll = 5 * time.Millisecond

// underRateLimit tells whether the connections of the last second stay
// below the rate limits of "set rate-limit connections|sessions global"
// (sessions are the accepted connections here: dhproxy has no separate
// session creation step to limit).
func (rt *Runtime) underRateLimit() bool {
	lim := rt.connRateLimit.Load()
	if s := rt.sessRateLimit.Load(); s > 0 && (lim == 0 || s < lim) {
		lim = s
	}
	if lim == 0 {
		return true
	}
	cur, _ := rt.connRate.read(conn.CoarseNow() / int64(time.Millisecond))
	return int64(cur) < lim
}

// SetMaxconn changes fe's connection limit ("set maxconn frontend"); 0
// leaves only the global one.
func (fe *Frontend) SetMaxconn(n int) { fe.limit.set(n) }

// SetGlobalMaxconn changes the process's connection limit ("set maxconn
// global"); 0: none.
func (rt *Runtime) SetGlobalMaxconn(n int) { rt.limit.set(n) }

// GlobalMaxconn is the process's connection limit now; 0: none.
func (rt *Runtime) GlobalMaxconn() int { return int(rt.limit.max.Load()) }

// SetRateLimits changes the per-process limits of new connections and
// sessions per second ("set rate-limit ... global"); a negative value
// leaves a limit as it is, 0 removes it.
func (rt *Runtime) SetRateLimits(conns, sessions int) {
	if conns >= 0 {
		rt.connRateLimit.Store(int64(conns))
	}
	if sessions >= 0 {
		rt.sessRateLimit.Store(int64(sessions))
	}
}

// RateLimits reports the limits SetRateLimits set.
func (rt *Runtime) RateLimits() (conns, sessions int) {
	return int(rt.connRateLimit.Load()), int(rt.sessRateLimit.Load())
}

// pausable is a listening socket "disable frontend" and SIGTTOU can stop
// and "enable frontend" and SIGTTIN restart.
type pausable struct {
	rc      syscall.RawConn
	backlog int
	addr    net.Addr
}

// addSocket records the socket under l (served as wrapped), when it has a
// descriptor.
func (fe *Frontend) addSocket(plain, wrapped net.Listener, backlog int) {
	var rc syscall.RawConn
	if sc, ok := wrapped.(syscall.Conn); ok {
		rc, _ = sc.SyscallConn()
	} else if sc, ok := plain.(syscall.Conn); ok {
		rc, _ = sc.SyscallConn()
	}
	if rc != nil {
		fe.sockets = append(fe.sockets, pausable{rc, backlog, plain.Addr()})
	}
}

// stop shuts the socket down for reading: on Linux a listening socket then
// stops listening (connections are refused) and keeps its address; the
// accept waiting on it fails.
func (s pausable) stop() {
	s.rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RD) })
}

// listen makes the socket listen again after stop.
func (s pausable) listen() (err error) {
	s.rc.Control(func(fd uintptr) { err = unix.Listen(int(fd), s.backlog) })
	return err
}

// Pause stops fe's listening sockets as haproxy does ("disable frontend"):
// a socket shut down for reading leaves the listening state, so new
// connections are refused, while it keeps its address for Resume. False if
// fe was paused already.
func (fe *Frontend) Pause() bool {
	if !fe.paused.CompareAndSwap(false, true) {
		return false
	}
	for _, s := range fe.sockets {
		s.stop()
	}
	return true
}

// Resume makes fe's sockets listen again and its accept loops go on
// ("enable frontend"); false if it was not paused.
func (fe *Frontend) Resume() bool {
	if !fe.paused.Load() {
		return false
	}
	for _, s := range fe.sockets {
		if err := s.listen(); err != nil {
			log.Printf("[WARNING] frontend '%s': enable frontend: listen: %v", fe.P.Name, err)
		}
	}
	fe.paused.Store(false)
	fe.limit.signal()
	return true
}

// Paused tells whether "disable frontend" paused fe.
func (fe *Frontend) Paused() bool { return fe.paused.Load() }
