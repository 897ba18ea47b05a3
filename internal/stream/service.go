package stream

import (
	"bytes"

	"dhproxy/internal/http1"
	"dhproxy/internal/model"
)

// Service answers a request a frontend serves itself (the stats page, the
// Prometheus exporter) instead of forwarding it: it returns the whole
// response and its status. It runs only for requests whose path matches
// the frontend's service paths, so the forwarding path pays one prefix
// comparison per request of such frontends and nothing elsewhere.
type Service func(p *model.Proxy, req *http1.Request) (resp []byte, status int)

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
		paths = append(paths, acmeChallengePath)
	}
	return paths
}

// acmeChallengePath is where ACME http-01 validation requests arrive.
var acmeChallengePath = []byte("/.well-known/acme-challenge/")

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
	resp, status := errorPage(503), 503
	if svc := s.fe.rt.service.Load(); svc != nil {
		resp, status = (*svc)(s.fe.P, &s.req)
	}
	s.lg.status = status
	s.cdl.write(s.c, s.fe.P.Timeouts.Client)
	n, err := s.cio.Write(resp)
	s.lg.bytesOut += int64(n)
	// The request must have no body to keep the connection: the service
	// does not read one.
	keep := err == nil && s.req.BodyFraming() == http1.FramingNone && s.req.KeepAlive()
	s.r += s.req.HeadLen
	return true, keep
}
