package txn

import (
	"dhproxy/internal/acl"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// The first phases, before any transaction exists: tcp-request
// connection rules on a new connection, then tcp-request session rules
// once a PROXY header (if any) gave it its addresses.

// Layer4Conn is the connection side of those rule lists; internal/stream
// implements it.
type Layer4Conn interface {
	sample.Txn
	Track(r *rules.Rule)  // track-sc*
	ExpectProxy()         // expect-proxy layer4: a PROXY header comes first
	SetVar(r *rules.Rule) // set-var, set-var-fmt, unset-var
	Act(r *rules.Rule)    // counter, address and socket actions
	SilentDrop()          // ready the client's socket for a silent close
}

// Layer4 runs a tcp-request connection or session rule list: track-sc*,
// expect-proxy, variable, counter, address and socket rules apply and
// evaluation goes on; the first accept, reject or silent-drop that
// applies decides; none applying accepts.
func Layer4(c Layer4Conn, st *acl.State, list []model.TCPRule) (reject bool) {
	for i := range list {
		r := &list[i]
		if !r.Cond.Match(c, st) {
			continue
		}
		switch {
		case r.Track != nil:
			c.Track(r.Track)
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
