package stream

import (
	"net"
	"time"

	"dhproxy/internal/lb"
	"dhproxy/internal/model"
)

// connect picks a server and returns a connection to it, with HAProxy's
// retry rules: up to "retries" more attempts after a failed connect; with
// "option redispatch" a retry goes at once to another server when the
// balancing is not deterministic and several servers are active (or on the
// last retry); otherwise it waits min(timeout connect, 1s) and tries the same
// server again. reuse may hand back an existing connection to the server.
// The returned server holds a serving slot that the caller releases.
// st, when not nil, receives the retries and whether a redispatch happened.
// prefer, when usable, is tried before the balancer is asked (persistence:
// a cookie or a stick table).
// hk, when set, is the request's balancing hash, used for the first pick.
// from is the client side, for the PROXY header of send-proxy servers.
func (b *Backend) connect(dstPort int, prefer *Server, hk hashKey, reuse func(*Server) *serverConn, st *connStats, from ppStream) (*Server, *serverConn, bool, int) {
	p := b.P
	var srv *Server
	direct := prefer != nil && prefer.up.Load()
	if direct {
		srv = prefer
	}
	var avoid *Server
	for attempt := 0; ; attempt++ {
		if st != nil {
			st.retries = attempt
		}
		var status int
		srv, status = b.take(srv, direct, avoid, hk, st)
		if srv == nil {
			return nil, nil, false, status
		}
		if reuse != nil {
			if sc := reuse(srv); sc != nil {
				return srv, sc, true, 0
			}
		}
		sc, err := srv.dial(p.Timeouts.Connect, dstPort, from)
		srv.observeL4(err)
		if err == nil {
			return srv, sc, false, 0
		}
		srv.release()
		if attempt >= p.Retries {
			return nil, nil, false, 503
		}
		// Hash-based balancing is deterministic: retry the same server,
		// redispatching only on the last retry or when it went down.
		if p.Redispatch && (attempt+1 == p.Retries || (len(b.set.Load().act.idx) > 1 && b.hash.Kind == lb.HashNone) || !srv.up.Load()) {
			avoid, srv, direct, hk = srv, nil, false, hashKey{}
			if st != nil {
				st.redispatched = true
			}
			continue
		}
		if !isTimeout(err) {
			time.Sleep(min(firstSet(p.Timeouts.Connect, time.Second), time.Second))
		}
	}
}

// take returns srv, or the server the balancer picks when srv is nil,
// holding a serving slot, as HAProxy's assign_server_and_queue: a full
// server chosen by persistence or hashing queues the request unless its
// "maxqueue" is reached; then a persistent request is redispatched with
// "option redispatch" and anything else gets a 503. When every server is
// full the request waits in the backend's queue for the first free slot.
// A queued request gives up after "timeout queue" (else "timeout connect").
// st, when not nil, receives the time spent queued, the redispatch, and
// the cause of a queue failure for the log's termination state.
func (b *Backend) take(srv *Server, direct bool, avoid *Server, hk hashKey, st *connStats) (*Server, int) {
	timeout := firstSet(b.P.Timeouts.Queue, b.P.Timeouts.Connect)
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	var queueOn *Server // nil: the backend's queue
	for {
		picked := srv == nil
		if picked {
			var full bool
			srv, full = b.pick(avoid, hk)
			if srv == nil {
				if !full {
					return nil, 503
				}
				break
			}
		}
		if srv.tryTake(false) {
			if picked {
				// lbtot: the balancer chose it; persistence and the
				// queue do not count, as in HAProxy.
				srv.Stats.LBTot.Add(1)
				b.Stats.LBTot.Add(1)
			}
			return srv, 0
		}
		if mq := srv.Conf.Maxqueue; mq > 0 && int(srv.queue.n.Load()) >= mq {
			if direct && b.P.Redispatch {
				srv, direct = nil, false
				if st != nil {
					st.redispatched = true
				}
				continue
			}
			if st != nil {
				st.queueTerm = 'S' // HAProxy's "SQ": the queue was full
			}
			return nil, 503
		}
		queueOn = srv
		break
	}
	start := time.Now()
	srv = b.wait(queueOn, timeout)
	if st != nil {
		st.queued += time.Since(start)
		if srv == nil {
			st.queueTerm = 's' // "sQ": timeout queue expired
		}
	}
	if srv == nil {
		return nil, 503
	}
	return srv, 0
}

// connect finds a server connection for the current request: the session's
// own kept connection when the balancer picks the same server, else an idle
// pooled one when http-reuse allows it, else a new one.
func (s *httpSession) connect(be *Backend, prefer *Server, hk hashKey) (*Server, *serverConn, bool, int) {
	s.lg.connStats = connStats{}
	srv, sc, reused, status := be.connect(s.localPort(be), prefer, hk, s.reuseFor, &s.lg.connStats, s)
	if sc != nil {
		s.live.attach(srv, s.c, sc)
		s.listed.using(be, srv)
	}
	return srv, sc, reused, status
}

// reuseFor finds an existing connection to srv that this request may use.
func (s *httpSession) reuseFor(srv *Server) *serverConn {
	if s.priv != nil {
		sc := s.priv
		s.priv = nil
		if sc.srv == srv && sc.reusableFor(s) {
			return sc
		}
		s.releaseServer(sc, true)
	}
	if !srv.shareable() {
		return nil
	}
	// "safe": a session's first request never rides a connection
	// another session used, in case the server closes it meanwhile.
	first := srv.backend.P.Reuse == model.ReuseSafe && s.nreq == 0
	if srv.multiplexes() {
		if sc := srv.h2.take(srv, first); sc != nil {
			return sc
		}
	}
	if first {
		return nil
	}
	return srv.takeIdleFor(s)
}

// shareable tells whether connections to s may serve other sessions: not
// with http-reuse never, nor when they started with a PROXY header naming
// one client.
func (s *Server) shareable() bool {
	return s.backend.P.Reuse != model.ReuseNever && s.Conf.SendProxy.Version == 0
}

// connStats is what a connection attempt sequence reports for the logs.
type connStats struct {
	retries      int
	redispatched bool
	queued       time.Duration // waiting in queues (%Tw)
	queueTerm    byte          // 's' queue timeout, 'S' queue full; 0 when not failed in a queue
}

// failState is the log's termination stage for a failed connect: 'Q' when
// the request failed in a queue, else 'C'; cause is 's' or 'S' then.
func (st *connStats) failState() (cause, stage byte) {
	if st.queueTerm != 0 {
		return st.queueTerm, 'Q'
	}
	return 'S', 'C'
}

// localPort is the port the client connected to, for a backend with a
// server that uses it; asked of the kernel once per connection, and only
// then.
func (s *httpSession) localPort(be *Backend) int {
	if !be.useDst {
		return 0
	}
	if s.dstPort == 0 {
		if la, ok := s.c.LocalAddr().(*net.TCPAddr); ok {
			s.dstPort = la.Port
		}
	}
	return s.dstPort
}

// redial replaces a reused connection the server closed: a fresh connection
// to the same server, keeping the slot already held.
func (s *httpSession) redial(srv *Server, be *Backend) (*serverConn, int) {
	sc, err := srv.dial(be.P.Timeouts.Connect, s.localPort(be), s)
	if err != nil {
		return nil, 503
	}
	return sc, 0
}
