package stream

import (
	"dhproxy/internal/http1"
	"dhproxy/internal/rules"
)

// normalizeURI runs an http-request normalize-uri rule on the request
// target (an absolute URI's scheme and authority are kept); false when
// a strict normalizer refused it.
func (s *httpSession) normalizeURI(r *rules.Rule) bool {
	uri := s.req.URI
	pq := http1.PathQuery(uri)
	if len(pq) == 0 || pq[0] != '/' {
		return true // "*" or an authority alone: no path to normalize
	}
	start := len(s.tx.Buf)
	s.tx.Buf = append(s.tx.Buf, uri[:len(uri)-len(pq)]...)
	var ok bool
	s.tx.Buf, ok = r.NormalizeURI(s.tx.Buf, pq)
	if !ok {
		s.tx.Buf = s.tx.Buf[:start]
		return false
	}
	if string(s.tx.Buf[start:]) == string(uri) {
		s.tx.Buf = s.tx.Buf[:start]
		return true
	}
	s.req.URI = s.tx.Buf[start:len(s.tx.Buf):len(s.tx.Buf)]
	s.tx.Edited.Target = true
	return true
}

// badNormalizedURI answers a request a strict normalizer refused with
// 400 (the section's errorfile if any) and closes, as haproxy does for
// an invalid request found by a rule: a proxy error ("PR"), counted as a
// bad request.
func (s *httpSession) badNormalizedURI() {
	s.fe.Stats.Ereq.Add(1)
	s.writeError(400)
	s.lg.fail('P', 'R')
}
