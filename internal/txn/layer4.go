package txn

import (
	"dhproxy/internal/acl"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// The phases of a connection before (or, in mode tcp, without) an HTTP
// transaction: tcp-request connection rules on a new connection,
// tcp-request session rules once a PROXY header (if any) gave it its
// addresses, and in mode tcp the content inspection of the client's
// first bytes (tcp-request content) and of the server's (tcp-response
// content).

// Layer4Conn is the connection side of those rule lists; internal/stream
// implements it.
type Layer4Conn interface {
	sample.Txn
	Track(p *model.Proxy, r *rules.Rule) // track-sc* of a rule of section p
	ExpectProxy()                        // expect-proxy layer4: a PROXY header comes first
	// SetVar runs set-var, set-var-fmt or unset-var; wait: a sample
	// that may still change asks for more data first (content rules).
	SetVar(r *rules.Rule) (wait bool)
	Act(r *rules.Rule) // counter, address and socket actions
	SilentDrop()       // ready the client's socket for a silent close
}

// ContentConn is the connection side of content inspection.
type ContentConn interface {
	Layer4Conn
	Final() bool // no more data will be waited for
	ReadMore()   // wait for more data (until the inspection's deadline)
}

// Layer4 runs a tcp-request connection or session rule list: track-sc*,
// expect-proxy, variable, counter, address and socket rules apply and
// evaluation goes on; the first accept, reject or silent-drop that
// applies decides; none applying accepts.
func Layer4(c Layer4Conn, st *acl.State, p *model.Proxy, list []model.TCPRule) (reject bool) {
	for i := range list {
		r := &list[i]
		if !r.Cond.Match(c, st) {
			continue
		}
		switch {
		case r.Track != nil:
			c.Track(p, r.Track)
		case r.ExpectProxy:
			c.ExpectProxy()
		case r.SetVar != nil:
			c.SetVar(r.SetVar)
		case r.Act != nil:
			c.Act(r.Act)
		default:
			if r.Silent {
				c.SilentDrop()
			}
			return r.Reject
		}
	}
	return false
}

// Inspect runs p's content rule list on the data received so far, as
// HAProxy does: while a condition or a variable's sample cannot be
// decided yet (a payload fetch lacks bytes, or its answer may still
// change) and more may come, it waits for more and tries again;
// track-sc*, counter, address and variable rules go on; the first
// accept, reject or close that applies decides and is returned (nil:
// none applied, an accept).
func Inspect(c ContentConn, st *acl.State, p *model.Proxy, list []model.TCPRule) *model.TCPRule {
	for i := 0; i < len(list); {
		r := &list[i]
		ok, miss := r.Cond.MatchMiss(c, st)
		if miss && !c.Final() {
			c.ReadMore()
			continue
		}
		if !ok {
			i++
			continue
		}
		switch {
		case r.SetVar != nil:
			if c.SetVar(r.SetVar) {
				c.ReadMore()
				continue
			}
		case r.Track != nil:
			c.Track(p, r.Track)
		case r.Act != nil:
			c.Act(r.Act)
		default:
			return r
		}
		i++
	}
	return nil
}
