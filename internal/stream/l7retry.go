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

// resendSpan is what an L7 retry needs to send the request again: where
// its head and buffered body are in buf, and how the head is built.
type resendSpan struct {
	headStart, bodyStart, bodyEnd int
	serverKeep, upgrade           bool
}

// retryL7 sends the request again after the attempt on *srv failed,
// closing *sc: to *srv again, or to another server when "option
// redispatch" says so, as a failed connect would. As in haproxy the retry
// counts in wretr of the server and the backend, and again once the next
// server is known: in wredis when it is another one, else in wretr. *srv,
// *sc and *head become the new attempt's; 0, or the status to answer (the
// log's termination state set, *srv nil: no slot held).
func (s *httpSession) retryL7(be *Backend, srv **Server, sc **serverConn, head *[]byte, persist backend.Persist, hk hashKey, r *resendSpan) int {
	(*sc).c.Close()
	st := &s.lg.connStats
	prev := *srv
	(*farmEvents)(be).Retried(prev, false)
	prefer := prev
	if persist != backend.PersistForced && be.RedispatchAfter(&prev.Server, st.retries) {
		prefer = nil
		st.redispatched = true
	}
	s.releaseSlot(prev)
	*srv = nil
	st.retries++
	next, c, _, status := be.connect(s.localPort(be), prefer, persist, hk, nil, st, s, backend.Priority{Class: s.tx.PrioClass, Offset: s.tx.PrioOffset})
	if c == nil {
		s.lg.fail(st.failState())
		return status
	}
	(*farmEvents)(be).Retried(prev, next != prev)
	*srv, *sc = next, c
	s.live.attach(next, s.c, c)
	s.listed.using(be, next)
	s.lg.srv = next
	s.lg.srvAddr, s.lg.bkAddr = c.ends()
	s.tx.srv = next
	s.tx.bconn, _ = c.c.(*tls.Conn)
	*head = s.requestHead(r.headStart, r.bodyStart, be, next, r.serverKeep, r.upgrade)
	if *head == nil {
		*head = s.buf[r.headStart:r.bodyStart]
	}
	timeout := s.tx.serverTimeout(be.P)
	c.dl.Write(c.c, timeout)
	c.dl.Read(c.c, timeout)
	s.sr, s.sw = 0, 0
	if err := writeTwo(c.fd, &s.out, *head, s.buf[r.bodyStart:r.bodyEnd], s.fe.rt.bufs.Size); err != nil {
		c.c.Close()
		s.lg.fail('S', 'H')
		return 502
	}
	return 0
}
