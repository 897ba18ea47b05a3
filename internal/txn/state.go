package txn

import (
	"dhproxy/internal/acl"
	"dhproxy/internal/config"
	"dhproxy/internal/sample"
)

// State is one HTTP transaction as the rules see it, from its request to
// its log line; the stream keeps one per client connection and starts it
// anew for each request (Reset), keeping the buffers' capacity, so that a
// transaction allocates nothing once they have grown.
type State struct {
	Work
	ACL acl.State // condition evaluation
	// Vars are the txn, req and res variables (VarsOf); sess ones belong
	// to the connection.
	Vars  [3]sample.Vars
	UID   []byte // the request's unique id ("unique-id-format")
	Reply []byte // a copy of the proxy's own response for http-after-response
	// Replying is the status of the reply being built, for %ST.
	Replying int
	// Denied: a deny or tarpit rule answered; Local: a return, redirect
	// or monitor-uri one (stick counters count the former as errors).
	Denied, Local bool
	// Edited is what the rules changed in the parsed messages.
	Edited Edits
	// LastRule is the line of the last rule that ended its rule list (an
	// accept, reject, allow, deny, return...): last_rule_file and
	// last_rule_line; nil: none did.
	LastRule *config.Pos
	// PrioClass and PrioOffset are the request's place in the queues
	// (set-priority-class, set-priority-offset; prio_class, prio_offset).
	PrioClass, PrioOffset int32
}

// Edits tells the serializers what the rules changed in the parsed
// messages: a head is rebuilt only when one was changed, so that a
// request no rule touched is forwarded as it came.
type Edits struct {
	RequestHeaders bool   // the request's header list
	Target         bool   // its method or target (the request line)
	Response       bool   // the response's header list or status
	Status         int    // set-status: the status sent (0: the server's)
	Reason         []byte // and its reason phrase
}

// Reset starts a new transaction, keeping the capacity of the buffers.
// Field by field, in place: a composite literal builds a second State and
// copies it, on every request (TestResetClearsEveryField checks that no
// field is forgotten here).
func (t *State) Reset() {
	t.Work.Reset()
	t.ACL = acl.State{}
	for i := range t.Vars {
		t.Vars[i].Reset()
	}
	t.UID, t.Reply = t.UID[:0], t.Reply[:0]
	t.Replying = 0
	t.Denied, t.Local = false, false
	t.Edited = Edits{}
	t.LastRule = nil
	t.PrioClass, t.PrioOffset = 0, 0
}

// VarsOf returns the variables of a transaction scope (txn, req, res);
// nil for the others.
func (t *State) VarsOf(sc sample.Scope) *sample.Vars {
	switch sc {
	case sample.ScopeTxn:
		return &t.Vars[0]
	case sample.ScopeReq:
		return &t.Vars[1]
	case sample.ScopeRes:
		return &t.Vars[2]
	}
	return nil
}

// EndRequest ends the request processing: req variables are forgotten
// before the response rules run.
func (t *State) EndRequest() { t.Vars[1].Reset() }
