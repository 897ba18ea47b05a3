package acl

import (
	"strings"
	"testing"

	"dhproxy/internal/sample"
)

// payloadTxn offers a payload that may still grow (final false).
type payloadTxn struct {
	*txn
	data       []byte
	final, hit bool
}

func (p *payloadTxn) Payload() []byte    { return p.data }
func (p *payloadTxn) PayloadFinal() bool { return p.final }
func (p *payloadTxn) WantMore()          { p.hit = true }
func (p *payloadTxn) TakeMiss() bool {
	h := p.hit
	p.hit = false
	return h
}

// Three-valued conditions on data that may still come, as haproxy's
// acl_exec_cond: undecided terms stay undecided under '!', a true
// alternative or a false conjunct decides anyway.
func TestMatchMiss(t *testing.T) {
	p := &payloadTxn{txn: newTxn(t, head)}
	for _, c := range []struct {
		cond     string
		ok, miss bool
	}{
		{"if { req.len gt 3 }", false, true},
		{"if !{ req.len gt 3 }", false, true},
		{"unless { req.len gt 3 }", true, true},
		{"if { req.len gt 3 } || { src 192.168.10.7 }", true, false},
		{"if { req.len gt 3 } { src 10.0.0.0/8 }", false, false},
		{"if { req.len gt 3 } { src 192.168.10.7 }", false, true},
		{"if { src 192.168.10.7 }", true, false},
		{"if !{ src 192.168.10.7 }", false, false},
	} {
		var s Set
		cond, _, err := s.ParseCond(compiler(), strings.Fields(c.cond), sample.PhaseConn|sample.PhaseContent, "x")
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		var st State
		if ok, miss := cond.MatchMiss(p, &st); ok != c.ok || miss != c.miss {
			t.Errorf("%s on no data: ok %v miss %v, want %v %v", c.cond, ok, miss, c.ok, c.miss)
		}
	}
	// with the data final, nothing is undecided
	p.data, p.final = []byte("abcdef"), true
	var s Set
	cond, _, _ := s.ParseCond(compiler(), strings.Fields("if !{ req.len gt 3 }"), sample.PhaseConn|sample.PhaseContent, "x")
	var st State
	if ok, miss := cond.MatchMiss(p, &st); ok || miss {
		t.Errorf("final data: ok %v miss %v", ok, miss)
	}
}
