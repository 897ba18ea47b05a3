package backend

import (
	"errors"
	"net"
	"time"
)

// Persist says how Connect treats the server persistence chose.
type Persist uint8

const (
	PersistUp     Persist = iota // used while up, else the balancer picks
	PersistDown                  // used even when down ("option persist"); redispatch as usual
	PersistForced                // used even when down and never redispatched (force-persist)
)

// Attempts is what Connect reports for the log, and the request's
// priority in the queues, which the caller sets.
type Attempts struct {
	Waited
	Retries  int
	Priority Priority
}

// Connect picks a server of f and returns a connection to it, with
// HAProxy's retry rules: up to "retries" more attempts after a failed
// connect; with "option redispatch" a retry goes at once to another server
// when the balancing is not deterministic and several servers are active
// (or on the last retry, or when the server went down); otherwise it waits
// min(timeout connect, 1s) and tries the same server again. prefer, when
// up (or as persist allows), is tried before the balancer is asked
// (persistence: use-server, a cookie or a stick table); hash, when hashed, is the request's balancing hash, used
// for the first pick. reuse, when not nil, may hand back an existing
// connection to the server; dial opens a new one. The returned server
// holds a serving slot that the caller releases. a, when not nil,
// receives the retries, the redispatch and the time queued; when it
// already counts retries (an L7 retry, "retry-on"), the sequence goes on
// from there. Without "retry-on conn-failure" a failed connect is not
// retried. No server: the zero S and C, and the HTTP status to answer.
func Connect[S, C any](f *Farm[S], prefer *Server[S], persist Persist, hash uint32, hashed bool,
	reuse func(S) (C, bool), dial func(S) (C, error), a *Attempts) (srv S, conn C, reused bool, status int) {
	p := f.p
	var s *Server[S]
	direct := prefer != nil && (persist != PersistUp || prefer.up.Load())
	if direct {
		s = prefer
	}
	var avoid *Server[S]
	var local Attempts
	if a == nil {
		a = &local
	}
	if a.Retries == 0 {
		f.events.Assigned()
	}
	var redispatchedFrom *Server[S] // the server a redispatch left
	for attempt := a.Retries; ; attempt++ {
		a.Retries = attempt
		s, status = f.take(s, direct, avoid, hash, hashed, a.Priority, &a.Waited)
		if s == nil {
			return srv, conn, false, status
		}
		if redispatchedFrom != nil {
			// As HAProxy's assign_server_and_queue: a redispatch that
			// lands on the same server is only a retry.
			f.events.Retried(redispatchedFrom.owner, s != redispatchedFrom)
			redispatchedFrom = nil
		}
		if reuse != nil {
			if c, ok := reuse(s.owner); ok {
				return s.owner, c, true, 0
			}
		}
		c, err := dial(s.owner)
		if err == nil {
			return s.owner, c, false, 0
		}
		s.Release()
		if attempt >= p.Retries || !p.RetryOn.ConnFailure() {
			f.events.Failed(s.owner)
			return srv, conn, false, 503
		}
		if persist != PersistForced && f.RedispatchAfter(s, attempt) {
			redispatchedFrom = s
			avoid, s, direct, hashed = s, nil, false, false
			a.Redispatched = true
			continue
		}
		f.events.Retried(s.owner, false)
		if !timedOut(err) && !errors.As(err, new(ImmediateError)) {
			pause := time.Second
			if t := p.Timeouts.Connect; t > 0 && t < pause {
				pause = t
			}
			time.Sleep(pause)
		}
	}
}

// RedispatchAfter tells whether the retry after attempt (0: the first
// try) failed on s goes to another server: with "option redispatch", on
// the last retry, when s went down, or at once when the balancing is not
// deterministic (not hash-based) and several servers are active. Hash-based
// balancing retries the same server otherwise. (force-persist never
// redispatches: the caller's part.)
func (f *Farm[S]) RedispatchAfter(s *Server[S], attempt int) bool {
	return f.p.Redispatch && (attempt+1 == f.p.Retries || (len(f.set.Load().act.idx) > 1 && !f.hashed) || !s.up.Load())
}

// timedOut tells whether err is a deadline or dial timeout.
func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ImmediateError is a connect failure the kernel reported at once, as
// connect(2) to a UNIX socket does: haproxy retries it without the pause,
// which is for a failure that came later (a refusal over the network).
type ImmediateError struct{ Err error }

func (e ImmediateError) Error() string { return e.Err.Error() }
func (e ImmediateError) Unwrap() error { return e.Err }
