package txn

import (
	"bytes"

	"dhproxy/internal/model"
	"dhproxy/internal/rules"
)

// The request phases, in HAProxy's order: monitor-uri, the frontend's
// tcp-request content and http-request rules, its own services (stats
// page, Prometheus, ACME), use_backend, the backend's rules. What each
// built-in does is the connection's (Conn); when it runs is decided here.

// Conn is the connection side of the request phases.
type Conn interface {
	Session
	// Begin starts a request on the connection (State.Reset included):
	// its stick counters, unique id and header and cookie captures.
	Begin()
	// Monitor answers a request for the frontend's monitor-uri.
	Monitor() (answered, keep bool)
	// Services answers a request for one of the proxy's own services
	// (stats page, Prometheus exporter, ACME http-01 challenges).
	Services() (answered, keep bool)
	// ChooseBackend runs use_backend (else default_backend) and keeps
	// the backend chosen; p is its section (nil: none), bufferBody its
	// "option http-buffer-request".
	ChooseBackend() (p *model.Proxy, bufferBody bool)
	// EnterBackend: the chosen backend's rules run from now on (its error
	// pages and denial counters apply).
	EnterBackend()
}

// Frontend is what the request phases know of a frontend, set at load
// time.
type Frontend struct {
	P *model.Proxy
	// Rules: it or one of its backends has rules, so requests run the
	// rule engine.
	Rules      bool
	BufferBody bool   // option http-buffer-request
	UIDHeader  []byte // unique-id-header (nil: none)
}

// ACMEChallengePath is where ACME http-01 validation requests arrive.
var ACMEChallengePath = []byte("/.well-known/acme-challenge/")

// bufferRequest is option http-buffer-request as a wait-for-body rule:
// the whole body, within "timeout http-request".
var bufferRequest = &rules.Rule{Action: rules.WaitForBody}

// RequestPhases runs what comes before the server is chosen. answered
// reports that the request was answered (or ended) there; keep then says
// whether the connection stays open. c keeps the backend chosen.
func (t *State) RequestPhases(c Conn, fe *Frontend) (answered, keep bool) {
	c.Begin()
	p := fe.P
	if p.MonitorURI != "" {
		if answered, keep = c.Monitor(); answered {
			return true, keep
		}
	}
	// ACME http-01 validation comes before the rules, which often
	// redirect plain http to https.
	if p.AnswersACME && bytes.HasPrefix(c.Request().URI, ACMEChallengePath) {
		if answered, keep = c.Services(); answered {
			return true, keep
		}
	}
	if fe.BufferBody && !c.WaitForBody(bufferRequest, false) {
		return true, false
	}
	if fe.Rules && HasRequestRules(p) {
		if answered, keep = t.requestRules(c, p); answered {
			return true, keep
		}
	}
	if answered, keep = c.Services(); answered {
		return true, keep
	}
	be, bufferBody := c.ChooseBackend()
	if be != nil && bufferBody && !c.WaitForBody(bufferRequest, false) {
		return true, false
	}
	if fe.Rules && be != nil && be != p && HasRequestRules(be) {
		c.EnterBackend()
		if answered, keep = t.requestRules(c, be); answered {
			return true, keep
		}
	}
	if fe.UIDHeader != nil {
		t.AddRequestHeader(c.Request(), fe.UIDHeader, t.UID)
	}
	return false, false
}

// HasRequestRules tells whether p has http-request, redirect or (run on
// each request in mode http) tcp-request content rules, or restricts
// header names after them.
func HasRequestRules(p *model.Proxy) bool {
	return len(p.HTTPRequestRules) > 0 || len(p.RedirectRules) > 0 || len(p.TCPRequest.Content) > 0 ||
		p.RestrictHdrNames != model.RestrictPreserve
}
