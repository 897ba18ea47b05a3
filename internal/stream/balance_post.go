package stream

import (
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
		s.cdl.read(s.c, firstSet(s.fe.P.Timeouts.HTTPRequest, s.fe.P.Timeouts.Client))
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

// readBody implements "option http-buffer-request": the request body is
// read into the free space of buf after the head, up to what fits (HAProxy
// waits for the whole body or a full buffer), before the http-request
// rules, for the req.body fetches; the forwarding sends it from there.
// Chunked bodies and requests waiting for "100 Continue" are not read.
func (s *httpSession) readBody() {
	req := &s.req
	start := s.r + req.HeadLen
	s.tx.bodyStart, s.tx.bodyEnd = start, start
	switch {
	case req.ExpectContinue:
		return
	case req.BodyFraming() == http1.FramingNone:
		s.tx.bodyOK = true
		return
	case req.BodyFraming() != http1.FramingLength:
		return
	}
	end := start + int(min(req.ContentLength, int64(len(s.buf)-start)))
	if s.w < end {
		s.cdl.read(s.c, firstSet(s.fe.P.Timeouts.HTTPRequest, s.fe.P.Timeouts.Client))
		for s.w < end {
			n, err := s.cio.Read(s.buf[s.w:end])
			s.w += n
			if err != nil {
				break // the forwarding below meets the error again
			}
		}
	}
	s.tx.bodyEnd, s.tx.bodyOK = min(s.w, end), true
}

// RequestBody implements sample.BodyTxn.
func (s *httpSession) RequestBody() (body []byte, size int64, ok bool) {
	if !s.tx.bodyOK {
		return nil, 0, false
	}
	size = s.req.ContentLength
	if s.req.BodyFraming() == http1.FramingNone {
		size = 0
	}
	return s.buf[s.tx.bodyStart:s.tx.bodyEnd], size, true
}
