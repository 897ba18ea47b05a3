package stream

import (
	"crypto/tls"

	"dhproxy/internal/backend"
	"dhproxy/internal/model"
)

// l7Retry tells whether a request may be sent again after a failed
// answer ("retry-on" other than conn-failure): as in haproxy the whole
// request (head and body) must be in the buffer, and no
// "http-request disable-l7-retry" ran.
func (s *httpSession) l7Retry(be *Backend, bodyDone bool, size int) bool {
	return be.P.RetryOn&model.RetryL7 != 0 && bodyDone && !s.tx.noL7Retry && size <= s.fe.rt.bufs.Size
}

// retryFailure tells whether "retry-on" retries a response read that
// failed with status (504: timeout server, 502: closed or not HTTP), while
// attempts are left.
func (s *httpSession) retryFailure(be *Backend, status int, gotBytes bool) bool {
	r := be.P.RetryOn
	switch {
	case s.lg.connStats.retries >= be.P.Retries:
		return false
	case status == 504:
		return r&model.RetryResponseTimeout != 0
	case gotBytes:
		return r&model.RetryJunkResponse != 0
	}
	return r&model.RetryEmptyResponse != 0
}

// retryL7 sends the request again after the attempt on srv failed (its
// connection already closed): to srv again, or to another server when
// "option redispatch" says so, as a failed connect would. As in haproxy
// the retry counts in wretr of srv and the backend, and again once the
// next server is known: in wredis when it is another one, else in wretr.
// It returns the new server, connection and head sent, or a nil server and
// the status to answer.
func (s *httpSession) retryL7(be *Backend, srv *Server, persist backend.Persist, hk hashKey, headStart, bodyStart, bodyEnd int, serverKeep, upgrade bool) (*Server, *serverConn, []byte, int) {
	st := &s.lg.connStats
	(*farmEvents)(be).Retried(srv, false)
	prefer := srv
	if persist != backend.PersistForced && be.RedispatchAfter(&srv.Server, st.retries) {
		prefer = nil
		st.redispatched = true
	}
	s.releaseSlot(srv)
	st.retries++
	prev := srv
	srv, sc, _, status := be.connect(s.localPort(be), prefer, persist, hk, nil, st, s)
	if sc == nil {
		return nil, nil, nil, status
	}
	(*farmEvents)(be).Retried(prev, srv != prev)
	s.live.attach(srv, s.c, sc)
	s.listed.using(be, srv)
	s.lg.srv = srv
	s.lg.srvAddr, s.lg.bkAddr = sc.ends()
	s.tx.srv = srv
	s.tx.bconn, _ = sc.c.(*tls.Conn)
	head := s.requestHead(headStart, bodyStart, be, srv, serverKeep, upgrade)
	if head == nil {
		head = s.buf[headStart:bodyStart]
	}
	timeout := s.tx.serverTimeout(be.P)
	sc.dl.Write(sc.c, timeout)
	sc.dl.Read(sc.c, timeout)
	s.sr, s.sw = 0, 0
	if err := writeTwo(sc.fd, &s.out, head, s.buf[bodyStart:bodyEnd], s.fe.rt.bufs.Size); err != nil {
		sc.c.Close()
		s.releaseSlot(srv)
		return nil, nil, nil, 502
	}
	return srv, sc, head, 0
}
