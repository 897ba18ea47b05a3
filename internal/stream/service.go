package stream

import (
	"bytes"

	"dhproxy/internal/http1"
	"dhproxy/internal/model"
	"dhproxy/internal/txn"
)

// Service answers a request a frontend serves itself (the stats page, the
// Prometheus exporter) instead of forwarding it: it returns the whole
// response and its status. It runs only for requests whose path matches
// the frontend's service paths, so the forwarding path pays one prefix
// comparison per request of such frontends and nothing elsewhere.
type Service func(p *model.Proxy, r *ServiceRequest) (resp []byte, status int)

// ServiceRequest is a request a Service answers.
type ServiceRequest struct {
	Req *http1.Request
	// Body is a POST's body (the stats page's admin form); TooLarge when
	// it did not fit in the buffer.
	Body     []byte
	TooLarge bool
	// Admin tells that a "stats admin" condition of the stats proxy holds
	// for the request: the page may change server states.
	Admin bool
	// Rule is the first "stats http-request" rule whose condition holds;
	// nil when none does.
	Rule *model.StatsRule
}

// SetService installs the handler of the frontends' own services; until
// then their requests get a 503.
func (rt *Runtime) SetService(svc Service) { rt.service.Store(&svc) }

// servicePaths are the path prefixes a frontend answers itself: the stats
// URI of the frontend (or its default backend, as HAProxy does), the
// Prometheus exporter's path, and the ACME http-01 challenges.
func servicePaths(p *model.Proxy, be *Backend) [][]byte {
	var paths [][]byte
	for _, q := range []*model.Proxy{p, backendProxy(be)} {
		if q != nil && q.Stats != nil && q.Stats.Enabled {
			paths = append(paths, []byte(StatsURI(q)))
			break
		}
	}
	if p.PrometheusPath != "" {
		paths = append(paths, []byte(p.PrometheusPath))
	}
	if p.AnswersACME {
		paths = append(paths, txn.ACMEChallengePath)
	}
	return paths
}

func backendProxy(b *Backend) *model.Proxy {
	if b == nil {
		return nil
	}
	return b.P
}

// StatsURI is the stats page's URI prefix of p, HAProxy's default when
// "stats uri" is not given.
func StatsURI(p *model.Proxy) string {
	if p.Stats != nil && p.Stats.URI != "" {
		return p.Stats.URI
	}
	return "/haproxy?stats"
}

// local answers the request itself when it targets one of the frontend's
// services; handled reports whether it did, ok whether the connection
// stays open.
func (s *httpSession) local() (handled, ok bool) {
	if len(s.fe.servicePaths) == 0 {
		return false, false
	}
	uri := s.req.URI
	match := false
	for _, p := range s.fe.servicePaths {
		if bytes.HasPrefix(uri, p) {
			match = true
			break
		}
	}
	if !match {
		return false, false
	}
	s.fe.Stats.Intercepted.Add(1)
	sr := ServiceRequest{Req: &s.req}
	bodyRead := s.req.BodyFraming() == http1.FramingNone
	if s.req.BodyFraming() == http1.FramingLength {
		sr.Body, bodyRead = s.serviceBody()
		sr.TooLarge = !bodyRead
	}
	if sp := statsProxy(s.fe.P, s.fe.backend); sp != nil {
		for _, c := range sp.Stats.Admin {
			if c.Match(s, &s.tx.ACL) {
				sr.Admin = true
				break
			}
		}
		for i := range sp.Stats.HTTPRequest {
			r := &sp.Stats.HTTPRequest[i]
			if r.Cond == nil || r.Cond.Match(s, &s.tx.ACL) {
				sr.Rule = r
				break
			}
		}
	}
	resp, status := errorPage(503), 503
	if svc := s.fe.rt.service.Load(); svc != nil {
		resp, status = (*svc)(s.fe.P, &sr)
	}
	s.lg.status = status
	s.cdl.Write(s.c, s.fe.P.Timeouts.Client)
	n, err := s.cio.Write(resp)
	s.lg.bytesOut += int64(n)
	// The connection stays open only when the body was read whole.
	keep := err == nil && bodyRead && s.req.KeepAlive()
	s.r += s.req.HeadLen + len(sr.Body)
	return true, keep
}

// statsProxy is the proxy whose stats page a frontend serves: its own, or
// its default backend's, as Serve picks it.
func statsProxy(p *model.Proxy, be *Backend) *model.Proxy {
	for _, q := range []*model.Proxy{p, backendProxy(be)} {
		if q != nil && q.Stats != nil && q.Stats.Enabled {
			return q
		}
	}
	return nil
}

// serviceBody reads a Content-Length body after the head, for the stats
// page's admin form: it must fit in the buffer behind the head (the parsed
// head points into the buffer, so nothing moves). False when it does not
// fit or the client stops sending.
func (s *httpSession) serviceBody() ([]byte, bool) {
	start := s.r + s.req.HeadLen
	n := s.req.ContentLength
	if n > int64(len(s.buf)-start) {
		return nil, false
	}
	end := start + int(n)
	t := &s.fe.P.Timeouts
	if s.w < end {
		s.expectMore()
	}
	s.cdl.Read(s.c, firstSet(t.HTTPRequest, t.Client))
	for s.w < end {
		m, err := s.cio.Read(s.buf[s.w:])
		s.w += m
		if err != nil && s.w < end {
			return nil, false
		}
	}
	return s.buf[start:end], true
}
