package stream

import (
	"time"

	"dhproxy/internal/conn"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
)

// tcp-request content rules of a proxy in mode http run on each request,
// before its http-request rules, as haproxy 2.6 runs them on each HTTP
// stream: the request is complete, so HTTP fetches work and nothing
// waits for more bytes.

// contentRejects runs p's tcp-request content rules on the request; an
// accept ends them, a reject closes the connection without an answer
// (logged as haproxy logs it: no request line, "PR", no status).
func (s *httpSession) contentRejects(p *model.Proxy) bool {
	for i := range p.TCPRequest.Content {
		r := &p.TCPRequest.Content[i]
		if !r.Cond.Match(s, &s.tx.ACL) {
			continue
		}
		switch {
		case r.SetVar != nil:
			s.tx.SetVar(s, r.SetVar)
		case r.Act != nil && r.Act.Action == rules.SetSrc:
			s.EditRequest(r.Act)
		case r.Act != nil && r.Act.Action == rules.Capture:
			s.Capture(r.Act, false)
		case r.Act != nil && (r.Act.Action == rules.SetMark || r.Act.Action == rules.SetTOS):
			setSockOpt(s.c, r.Act)
		case r.Act != nil:
			counterAction(s.counter(r.Act.SC), r.Act, s, &s.tx.V)
		case r.Track != nil:
			s.sc.track(s.fe.rt.trackTable(p, r.Track), r.Track, s, &s.tx.V, &s.trackKey, true)
		case r.Reject:
			if r.Silent {
				conn.SilentDrop(s.c)
			}
			s.fe.Stats.Dreq.Add(1)
			s.tx.Denied = true
			s.lg.fail('P', 'R')
			s.lg.methodLen, s.lg.head = 0, time.Time{}
			return true
		default:
			return false
		}
	}
	return false
}
