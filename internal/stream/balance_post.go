package stream

import (
	"errors"
	"net"
	"time"

	"dhproxy/internal/http1"
	"dhproxy/internal/lb"
)

// postParamKey implements "balance url_param <name> check_post" for a
// request whose query string lacks the parameter: a POST body is searched
// for it as a form ('&'-separated name=value pairs), as HAProxy does, once
// either the advertised length has arrived or the request buffer is full
// (what is beyond is not waited for). Chunked bodies and requests waiting
// for "100 Continue" are not searched: they fall back to round robin.
// Already parsed head fields point into buf, so the body is only read into
// the free space after it, never compacted.
func (s *httpSession) postParamKey(be *Backend) hashKey {
	req := &s.req
	if string(req.Method) != "POST" || req.BodyFraming() != http1.FramingLength || req.ContentLength == 0 || req.ExpectContinue {
		return hashKey{}
	}
	start := s.r + req.HeadLen
	end := start + int(min(req.ContentLength, int64(len(s.buf)-start)))
	if s.w < end {
		s.expectMore()
		s.cdl.Read(s.c, firstSet(s.fe.P.Timeouts.HTTPRequest, s.fe.P.Timeouts.Client))
		for s.w < end {
			n, err := s.cio.Read(s.buf[s.w:end])
			s.w += n
			if err != nil {
				break // the forwarding below meets the error again
			}
		}
	}
	if v, ok := lb.FormParam(s.buf[start:min(s.w, end)], be.hash.Name); ok {
		return hashKey{be.hash.Key(v), true}
	}
	return hashKey{}
}

// readBody implements "option http-buffer-request" and "http-request
// wait-for-body": the request body is read into the free space of buf
// after the head, until it is whole or fills the buffer (atLeast > 0:
// until that much came), for the req.body fetches; the forwarding sends it
// from there. wait bounds the wait (0: "timeout http-request", else
// "timeout client"); once it passes, the rules go on with what came.
// Chunked bodies and requests waiting for "100 Continue" are not read.
// Called again, it reads on from where it stopped. It returns false when
// the wait ended first, as haproxy then answers 408.
func (s *httpSession) readBody(wait time.Duration, atLeast int64) (ok bool) {
	req := &s.req
	start := s.r + req.HeadLen
	s.tx.bodyStart = start
	if !s.tx.bodyOK {
		s.tx.bodyEnd = start
	}
	switch {
	case req.ExpectContinue:
		return true
	case req.BodyFraming() == http1.FramingNone:
		s.tx.bodyOK = true
		return true
	case req.BodyFraming() == http1.FramingChunked:
		return s.readChunkedBody(start, wait, atLeast)
	case req.BodyFraming() != http1.FramingLength:
		return true
	}
	end := start + int(min(req.ContentLength, int64(len(s.buf)-start)))
	stop := end
	if atLeast > 0 {
		stop = min(end, start+int(min(atLeast, req.ContentLength)))
	}
	ok = true
	if s.w < stop {
		if wait == 0 {
			wait = firstSet(s.fe.P.Timeouts.HTTPRequest, s.fe.P.Timeouts.Client)
		}
		s.expectMore()
		// recorded as the read deadline, so that the next read moves it
		dl := time.Now().Add(wait)
		s.cdl.ReadAt(s.c, dl)
		for s.w < stop {
			n, err := s.cio.Read(s.buf[s.w:end])
			s.w += n
			if err != nil {
				var ne net.Error
				ok = !errors.As(err, &ne) || !ne.Timeout()
				break // the forwarding meets a real error again
			}
		}
	}
	s.tx.bodyEnd, s.tx.bodyOK = min(s.w, end), true
	return ok
}

// RequestBody implements sample.BodyTxn.
func (s *httpSession) RequestBody() (body []byte, size int64, ok bool) {
	if !s.tx.bodyOK {
		return nil, 0, false
	}
	if s.tx.chunked != nil {
		return s.tx.chunked, int64(len(s.tx.chunked)), true
	}
	size = s.req.ContentLength
	if s.req.BodyFraming() == http1.FramingNone {
		size = 0
	}
	return s.buf[s.tx.bodyStart:s.tx.bodyEnd], size, true
}

// bodyTimeout answers a request whose body did not come in time: haproxy's
// 408 (or the proxy's errorfile), the connection then closed.
func (s *httpSession) bodyTimeout() {
	s.writeError(408)
	s.lg.fail('c', 'R')
}
