package stream

import (
	"log"
	"net"
	"time"

	"dhproxy/internal/conn"
)

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
		if !rt.underRateLimit() || !fe.underSessionRate() {
			select {
			case <-time.After(rateLimitPoll):
			case <-rt.done:
				return false
			}
			continue
		}
		if !rt.limit.TryAcquire() {
			if !rt.waitWake(&rt.limit) {
				return false
			}
			continue
		}
		if !fe.limit.TryAcquire() {
			rt.limit.Release()
			if !rt.waitWake(&fe.limit) {
				return false
			}
			continue
		}
		rt.limit.Signal()
		fe.limit.Signal()
		return true
	}
}

func (rt *Runtime) waitWake(l *conn.Limit) bool {
	select {
	case <-l.Wake():
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

// underSessionRate tells whether fe's sessions of the last second stay
// below its "rate-limit sessions".
func (fe *Frontend) underSessionRate() bool {
	lim := fe.P.RateLimitSessions
	if lim == 0 {
		return true
	}
	cur, _ := fe.Stats.Rate()
	return cur < lim
}

// SetMaxconn changes fe's connection limit ("set maxconn frontend"); 0
// leaves only the global one.
func (fe *Frontend) SetMaxconn(n int) { fe.limit.Set(n) }

// SetGlobalMaxconn changes the process's connection limit ("set maxconn
// global"); 0: none.
func (rt *Runtime) SetGlobalMaxconn(n int) { rt.limit.Set(n) }

// GlobalMaxconn is the process's connection limit now; 0: none.
func (rt *Runtime) GlobalMaxconn() int { return rt.limit.Max() }

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

// addSocket records the socket under l (served as wrapped), for Pause.
func (fe *Frontend) addSocket(plain, wrapped net.Listener, backlog int) {
	if s, ok := conn.NewListenSocket(plain, wrapped, backlog); ok {
		fe.sockets = append(fe.sockets, s)
	}
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
		s.Stop()
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
		if err := s.Listen(); err != nil {
			log.Printf("[WARNING] frontend '%s': enable frontend: listen: %v", fe.P.Name, err)
		}
	}
	fe.paused.Store(false)
	fe.limit.Signal()
	return true
}

// Paused tells whether "disable frontend" paused fe.
func (fe *Frontend) Paused() bool { return fe.paused.Load() }
