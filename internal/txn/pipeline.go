package txn

import (
	"dhproxy/internal/acl"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// The rule lists of a transaction's phases, in HAProxy's order and with
// its control flow: a condition decides whether a rule applies, allow
// ends the list, a reply ends the phase. What a rule does beyond editing
// the parsed messages belongs to the connection side, which this package
// reaches only through Session.

// Session is the connection side of a transaction as the rule lists need
// it; internal/stream implements it.
type Session interface {
	sample.Txn
	// Answer writes the reply of a deny, tarpit, return, redirect or auth
	// rule of the request phase (answered false: the rule gave none, as an
	// ignore-empty redirect); keep tells whether the connection stays.
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
	// EditRequest and EditResponse apply an edit action to the parsed
	// message (headers, target, status, variables, log level, source).
	// EditRequest's false: a rewrite failed and ended the request
	// (answered).
	EditRequest(r *rules.Rule) bool
	EditResponse(r *rules.Rule)
}

// Request runs p's http-request rules, then its redirect rules, as
// HAProxy orders them. answered reports that a rule ended the request
// with a reply (or a timeout); keep then says whether the connection
// stays open.
func Request(s Session, st *acl.State, p *model.Proxy) (answered, keep bool) {
rules:
	for _, r := range p.HTTPRequestRules {
		if !r.Cond.Match(s, st) {
			continue
		}
		switch r.Action {
		case rules.Allow:
			break rules
		case rules.Deny, rules.Tarpit, rules.Return, rules.Redirect, rules.Auth, rules.SilentDrop:
			if answered, keep = s.Answer(r); answered {
				return answered, keep
			}
		case rules.TrackSC, rules.IncGPC0, rules.IncGPC1, rules.SetGPT0, rules.IncGPC, rules.SetGPT:
			s.Count(p, r, false)
		case rules.Capture:
			s.Capture(r, false)
		case rules.WaitForBody:
			if !s.WaitForBody(r, false) {
				return true, false
			}
		case rules.NormalizeURI:
			if !s.NormalizeURI(r) {
				return true, false
			}
		default:
			if !s.EditRequest(r) {
				return true, false
			}
		}
	}
	for _, r := range p.RedirectRules {
		if r.Cond.Match(s, st) {
			if answered, keep = s.Answer(r); answered {
				return answered, keep
			}
		}
	}
	return false, false
}

// Response runs the http-response rules of the backend be, then of the
// frontend fe (once when they are one section). It returns the deny,
// return or redirect rule that answers in place of the server, if one
// applies; timedOut: a wait-for-body did not get the body in time.
func Response(s Session, st *acl.State, be, fe *model.Proxy) (answer *rules.Rule, timedOut bool) {
	for p := be; p != nil; p = fe {
		for _, r := range p.HTTPResponseRules {
			if !r.Cond.Match(s, st) {
				continue
			}
			switch r.Action {
			case rules.TrackSC, rules.IncGPC0, rules.IncGPC1, rules.SetGPT0, rules.IncGPC, rules.SetGPT:
				s.Count(p, r, true)
				continue
			case rules.Capture:
				s.Capture(r, true)
				continue
			case rules.WaitForBody:
				if !s.WaitForBody(r, true) {
					return nil, true
				}
				continue
			case rules.Allow:
			case rules.Deny, rules.Return, rules.Redirect:
				return r, false
			default:
				s.EditResponse(r)
				continue
			}
			break
		}
		if p == fe {
			break
		}
	}
	return nil, false
}

// After runs an http-after-response rule list: edits of the response
// until an allow.
func After(s Session, st *acl.State, list []*rules.Rule) {
	for _, r := range list {
		if !r.Cond.Match(s, st) {
			continue
		}
		if r.Action == rules.Allow {
			return
		}
		s.EditResponse(r)
	}
}
