package txn

import (
	"dhproxy/internal/http1"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// The rule lists of a transaction's phases, in HAProxy's order and with
// its control flow: a condition decides whether a rule applies, allow
// ends the list, a reply ends the phase. Edits of the parsed messages
// (headers, request line, status, variables) happen here; what a rule
// does to the connection belongs to the connection side, which this
// package reaches only through Session.

// Session is the connection side of a transaction as the rule lists need
// it; internal/stream implements it.
type Session interface {
	sample.Txn
	// Answer writes the reply of a deny, tarpit, return, redirect, auth
	// or silent-drop rule of the request phase (answered false: the rule
	// gave none, as an ignore-empty redirect); keep tells whether the
	// connection stays.
	Answer(r *rules.Rule) (answered, keep bool)
	// Count runs a stick counter action (track-sc*, sc-inc-gpc0/1/(),
	// sc-set-gpt0/()) of a rule of section p.
	Count(p *model.Proxy, r *rules.Rule, response bool)
	// Capture runs a capture action.
	Capture(r *rules.Rule, response bool)
	// WaitForBody reads the request's (response's) body as r says; false:
	// it did not come in time and the transaction ends there (answered).
	WaitForBody(r *rules.Rule, response bool) bool
	// NormalizeURI runs normalize-uri; false: the target was refused
	// (answered).
	NormalizeURI(r *rules.Rule) bool
	// DoResolve runs do-resolve: the client waits while the name is
	// resolved; the variable is set only when an address came.
	DoResolve(r *rules.Rule)
	// ConnAction runs an action on the client connection rather than on
	// the messages: set-src, set-dst and their -port forms (for this
	// request), set-log-level, set-mark, set-tos.
	ConnAction(r *rules.Rule)
	// HeaderRewritten checks the request's head after a header rule r
	// edited it; false: it no longer fits and, in strict mode, the
	// request was answered (a 500).
	HeaderRewritten(r *rules.Rule) bool
	// RejectRequest ends the connection for a tcp-request content reject
	// (silent: silent-drop) without an answer.
	RejectRequest(silent bool)
	// ResponseContent is the transaction as the tcp-response content
	// rules see it (their layer 6 fetches).
	ResponseContent() sample.Txn
	// RejectResponse closes both ends for a tcp-response content reject
	// (silent: silent-drop); the client gets no answer.
	RejectResponse(silent bool)
	// EarlyHints sends head, an interim 103 response, to the client now.
	EarlyHints(head []byte)
	// CacheUse runs http-request cache-use of section p: the request's
	// cache key, and the stored response that will answer it, if any.
	CacheUse(p *model.Proxy, r *rules.Rule)
	// CacheStore runs http-response cache-store on the response.
	CacheStore(r *rules.Rule)
}

// Ending is how the response phases ended when no rule answered.
type Ending int

const (
	Forward  Ending = iota // the response goes on to the client
	TimedOut               // a wait-for-body did not get the body in time
	Rejected               // a tcp-response reject or silent-drop closed both ends
	// ServerClosed: a tcp-response close closed the server connection
	// before its response was read, as haproxy 2.6 does in mode http (its
	// client then gets a 502).
	ServerClosed
)

// isConnAction tells the actions that change the client connection
// rather than the messages.
func isConnAction(a rules.Action) bool {
	switch a {
	case rules.SetSrc, rules.SetDst, rules.SetSrcPort, rules.SetDstPort, rules.SetLogLevel, rules.SetMark, rules.SetTOS, rules.StrictMode:
		return true
	}
	return false
}

// requestRules runs p's tcp-request content rules (mode http), then its
// http-request and redirect rules. answered reports that a rule ended the
// request (a reply, a reject, a timeout); keep then says whether the
// connection stays open.
func (t *State) requestRules(s Session, p *model.Proxy) (answered, keep bool) {
	if len(p.TCPRequest.Content) > 0 && t.contentRejects(s, p) {
		return true, false
	}
	return t.Request(s, p)
}

// contentRejects runs p's tcp-request content rules on a request of mode
// http, as haproxy 2.6 runs them on each HTTP stream: the request is
// complete, so HTTP fetches work and nothing waits for more bytes; an
// accept ends them. true: a reject ended the connection.
func (t *State) contentRejects(s Session, p *model.Proxy) bool {
	for i := range p.TCPRequest.Content {
		r := &p.TCPRequest.Content[i]
		if !r.Cond.Match(s, &t.ACL) {
			continue
		}
		switch {
		case r.SetVar != nil:
			t.SetVar(s, r.SetVar)
		case r.Act != nil && r.Act.Action == rules.Capture:
			s.Capture(r.Act, false)
		case r.Act != nil && (r.Act.Action == rules.PrioClass || r.Act.Action == rules.PrioOffset):
			t.setPriority(s, r.Act)
		case r.Act != nil && r.Act.Action == rules.SetNice:
			// without effect (rules.SetNice says why)
		case r.Act != nil && isConnAction(r.Act.Action):
			s.ConnAction(r.Act)
		case r.Act != nil:
			s.Count(p, r.Act, false)
		case r.Track != nil:
			s.Count(p, r.Track, false)
		case r.Reject:
			t.Denied = true
			t.LastRule = &r.Pos
			s.RejectRequest(r.Silent)
			return true
		default:
			t.LastRule = &r.Pos
			return false
		}
	}
	return false
}

// Request runs p's http-request rules, then its redirect rules, as
// HAProxy orders them. answered reports that a rule ended the request
// with a reply (or a timeout); keep then says whether the connection
// stays open.
func (t *State) Request(s Session, p *model.Proxy) (answered, keep bool) {
	list := p.HTTPRequestRules
rules:
	for i := 0; i < len(list); i++ {
		r := list[i]
		if !r.Cond.Match(s, &t.ACL) {
			continue
		}
		switch r.Action {
		case rules.Allow:
			t.LastRule = &r.Pos
			break rules
		case rules.EarlyHint:
			i = t.earlyHints(s, list, i)
		case rules.Deny, rules.Tarpit, rules.Return, rules.Redirect, rules.Auth, rules.SilentDrop, rules.Reject:
			// haproxy notes the rule once it ended the list; only a deny's
			// or a tarpit's reply is built late enough for its
			// http-after-response rules to see it
			prev := t.LastRule
			if r.Action == rules.Deny || r.Action == rules.Tarpit {
				t.LastRule = &r.Pos
			}
			if answered, keep = s.Answer(r); answered {
				t.LastRule = &r.Pos
				return answered, keep
			}
			t.LastRule = prev
		case rules.TrackSC, rules.IncGPC0, rules.IncGPC1, rules.SetGPT0, rules.IncGPC, rules.SetGPT:
			s.Count(p, r, false)
		case rules.Capture:
			s.Capture(r, false)
		case rules.CacheUse:
			s.CacheUse(p, r)
		case rules.WaitForBody:
			if !s.WaitForBody(r, false) {
				return true, false
			}
		case rules.NormalizeURI:
			if !s.NormalizeURI(r) {
				return true, false
			}
		case rules.DoResolve:
			s.DoResolve(r)
		default:
			if !t.editRequest(s, r) {
				return true, false
			}
		}
	}
	if p.RestrictHdrNames != model.RestrictPreserve {
		if answered, keep = t.restrictHeaderNames(s, p.RestrictHdrNames); answered {
			return answered, keep
		}
	}
	for _, r := range p.RedirectRules {
		if r.Cond.Match(s, &t.ACL) {
			if answered, keep = s.Answer(r); answered {
				return answered, keep
			}
		}
	}
	return false, false
}

// earlyHints sends the 103 Early Hints of the early-hint rule list[i],
// whose condition matched, and of the early-hint rules without a
// condition right after it, as haproxy 2.6 groups them (a rule with a
// condition starts a 103 of its own); it returns the index of the group's
// last rule. An HTTP/1.0 client gets none: it knows no interim response.
func (t *State) earlyHints(s Session, list []*rules.Rule, i int) int {
	last := i
	for last+1 < len(list) && list[last+1].Action == rules.EarlyHint && list[last+1].Cond == nil {
		last++
	}
	if req := s.Request(); req.Major == 1 && req.Minor == 0 {
		return last
	}
	start := len(t.Buf)
	t.Buf = append(t.Buf, "HTTP/1.1 103 Early Hints\r\n"...)
	for _, r := range list[i : last+1] {
		t.Buf = append(append(t.Buf, r.Name...), ": "...)
		t.Buf = append(r.Value.Append(s, &t.V, t.Buf), "\r\n"...)
	}
	t.Buf = append(t.Buf, "\r\n"...)
	s.EarlyHints(t.Buf[start:])
	t.Buf = t.Buf[:start] // sent: nothing points into it
	return last
}

// setPriority runs set-priority-class and set-priority-offset: the
// expression's integer, kept within haproxy's bounds; no integer leaves
// the priority as it was.
func (t *State) setPriority(s Session, r *rules.Rule) {
	if !r.Expr.Eval(s, &t.V) || !sample.Cast(&t.V, sample.TypeInt, s.Scratch()) {
		return
	}
	if r.Action == rules.PrioClass {
		t.PrioClass = rules.PriorityValue(r.Action, t.V.Int)
	} else {
		t.PrioOffset = rules.PriorityValue(r.Action, t.V.Int)
	}
}

// restrictDeny is the answer of "option http-restrict-req-hdr-names
// reject", a deny as haproxy counts and logs it.
var restrictDeny = &rules.Rule{Action: rules.Deny, Reply: rules.ErrorReply(403)}

// restrictHeaderNames applies "option http-restrict-req-hdr-names" after
// a section's http-request rules: header names outside [A-Za-z0-9-] are
// removed, or refuse the request.
func (t *State) restrictHeaderNames(s Session, mode model.RestrictHdrNames) (answered, keep bool) {
	req := s.Request()
	n := 0
	for _, h := range req.Headers {
		if plainHeaderName(h.Name) {
			req.Headers[n] = h
			n++
		} else if mode == model.RestrictReject {
			return s.Answer(restrictDeny)
		}
	}
	if n < len(req.Headers) {
		req.Headers = req.Headers[:n]
		t.Edited.RequestHeaders = true
	}
	return false, false
}

// plainHeaderName tells whether name is made of letters, digits and '-'.
func plainHeaderName(name []byte) bool {
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// editRequest applies a header, method, variable or request target
// action to the parsed request and notes it for the serializer; the
// connection's own actions go to s. false: a header rewrite did not fit
// and ended the request.
func (t *State) editRequest(s Session, r *rules.Rule) bool {
	req := s.Request()
	switch r.Action {
	case rules.SetVar, rules.UnsetVar:
		t.SetVar(s, r)
	case rules.AddACL, rules.DelACL, rules.SetMap, rules.DelMap:
		t.EditPatternFile(s, r)
	case rules.PrioClass, rules.PrioOffset:
		t.setPriority(s, r)
	case rules.WaitHandshake, rules.SetNice:
		// nothing to do (rules.WaitHandshake, rules.SetNice say why)
	case rules.SetLogLevel, rules.SetMark, rules.SetTOS, rules.SetSrc, rules.SetDst, rules.SetSrcPort, rules.SetDstPort, rules.StrictMode, rules.SetTimeout, rules.NoL7Retry:
		s.ConnAction(r)
	case rules.SetHeader, rules.AddHeader, rules.DelHeader, rules.ReplaceHeader, rules.ReplaceValue:
		t.Edited.RequestHeaders = true
		req.Headers = t.EditHeaders(s, req.Headers, r)
		return s.HeaderRewritten(r)
	case rules.SetMethod:
		if t.SetMethod(s, req, r) {
			t.Edited.Target = true
		}
	default:
		if t.EditTarget(s, req, r) {
			t.Edited.Target = true
		}
	}
	return true
}

// AddRequestHeader adds a header the proxy sets itself (unique-id-header)
// to the parsed request.
func (t *State) AddRequestHeader(req *http1.Request, name, value []byte) {
	req.Headers = append(req.Headers, http1.Header{Name: name, Value: value, Kind: http1.Classify(name)})
	t.Edited.RequestHeaders = true
}

// Response runs the response phases of a server's answer: the backend
// be's tcp-response content rules (mode http), then the http-response
// rules of be and of the frontend fe (once when they are one section).
// It returns the deny, return, redirect or silent-drop rule that answers
// in place of the server, if one applies, else how the phases ended.
func (t *State) Response(s Session, be, fe *model.Proxy) (answer *rules.Rule, end Ending) {
	if len(be.TCPResponse.Content) > 0 {
		if end = t.responseContent(s, be); end != Forward {
			return nil, end
		}
	}
	if r := t.HTTPResponse(s, be, fe); r != timedOut {
		return r, Forward
	}
	return nil, TimedOut
}

// HTTPResponse runs the http-response rules of be and of the frontend fe
// (once when they are one section): all of Response for an answer that
// comes from no server (a cache hit). It returns the deny, return,
// redirect or silent-drop rule that answers instead, if one applies.
func (t *State) HTTPResponse(s Session, be, fe *model.Proxy) *rules.Rule {
	t.EndRequest()
	for p := be; p != nil; p = fe {
		for _, r := range p.HTTPResponseRules {
			if !r.Cond.Match(s, &t.ACL) {
				continue
			}
			switch r.Action {
			case rules.TrackSC, rules.IncGPC0, rules.IncGPC1, rules.SetGPT0, rules.IncGPC, rules.SetGPT:
				s.Count(p, r, true)
				continue
			case rules.Capture:
				s.Capture(r, true)
				continue
			case rules.CacheStore:
				s.CacheStore(r)
				continue
			case rules.WaitForBody:
				if !s.WaitForBody(r, true) {
					return timedOut
				}
				continue
			case rules.Allow:
				t.LastRule = &r.Pos
			case rules.Deny, rules.Return, rules.Redirect, rules.SilentDrop:
				t.LastRule = &r.Pos
				return r
			default:
				t.editResponse(s, r)
				continue
			}
			break
		}
		if p == fe {
			break
		}
	}
	return nil
}

// timedOut is HTTPResponse's answer when a wait-for-body rule waited in
// vain; Response turns it into TimedOut.
var timedOut = &rules.Rule{}

// responseContent runs be's tcp-response content rules in mode http, as
// haproxy 2.6 runs them before the HTTP response is read: variables set
// there are seen by the http-response rules; an accept ends them, a
// close or a reject ends the transaction.
func (t *State) responseContent(s Session, be *model.Proxy) Ending {
	view := s.ResponseContent()
	for i := range be.TCPResponse.Content {
		r := &be.TCPResponse.Content[i]
		if !r.Cond.Match(view, &t.ACL) {
			continue
		}
		switch {
		case r.SetVar != nil:
			t.SetVar(view, r.SetVar)
		case r.Close:
			t.LastRule = &r.Pos
			return ServerClosed
		case r.Reject:
			t.LastRule = &r.Pos
			s.RejectResponse(r.Silent)
			return Rejected
		default:
			t.LastRule = &r.Pos
			return Forward
		}
	}
	return Forward
}

// AfterResponse runs the http-after-response rules of the backend be
// (nil: none chosen), then of the frontend fe (once when they are one
// section).
func (t *State) AfterResponse(s Session, be, fe *model.Proxy) {
	if be != nil && be != fe {
		t.after(s, be.HTTPAfterResponseRules)
	}
	t.after(s, fe.HTTPAfterResponseRules)
}

// after runs an http-after-response rule list: edits of the response
// until an allow.
func (t *State) after(s Session, list []*rules.Rule) {
	for _, r := range list {
		if !r.Cond.Match(s, &t.ACL) {
			continue
		}
		switch r.Action {
		case rules.Allow:
			t.LastRule = &r.Pos
			return
		case rules.Capture:
			s.Capture(r, true)
		default:
			t.editResponse(s, r)
		}
	}
}

// editResponse applies a header, status or variable action to the
// parsed response and notes it for the serializer; the connection's own
// actions go to s. set-status leaves the parsed status alone: the body's
// framing was the server's status'.
func (t *State) editResponse(s Session, r *rules.Rule) {
	switch r.Action {
	case rules.SetVar, rules.UnsetVar:
		t.SetVar(s, r)
	case rules.AddACL, rules.DelACL, rules.SetMap, rules.DelMap:
		t.EditPatternFile(s, r)
	case rules.SetNice:
		// without effect (rules.SetNice says why)
	case rules.SetLogLevel, rules.SetMark, rules.SetTOS:
		s.ConnAction(r)
	case rules.StrictMode:
		// response rewrites are not bounded yet: none fails
	case rules.SetStatus:
		t.Edited.Response = true
		t.Edited.Status, t.Edited.Reason = r.Status, r.Reason
	default:
		t.Edited.Response = true
		resp := s.Response()
		resp.Headers = t.EditHeaders(s, resp.Headers, r)
	}
}
