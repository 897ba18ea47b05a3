package model

import (
	"dhproxy/internal/acl"
	"dhproxy/internal/config"
	"dhproxy/internal/sample"
)

// "monitor-uri <uri>": requests for exactly this URI are answered by the
// frontend itself with HAProxy's 200 page (503 when a "monitor fail"
// condition holds), before any http-request rule, and are not logged.

func init() {
	registerProxy("monitor-uri", CapFE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if b.wantArgs(l, 1, 1, "monitor-uri <uri>") {
			p.MonitorURI = l.Args[1]
		}
	})
	registerProxy("monitor", CapFE, parseMonitor)
}

func parseMonitor(b *builder, p *Proxy, l config.Line) {
	if len(l.Args) < 3 || l.Args[1] != "fail" {
		b.errorf(l, "'monitor' expects 'fail' followed by an 'if' or 'unless' condition, as in 'monitor fail if <cond>'.")
		return
	}
	c, warns, err := p.ACLs.ParseCond(b.comp, l.Args[2:], sample.PhaseReq, "frontend monitor rule")
	if err != nil {
		b.errorf(l, "error detected while parsing a 'monitor fail' condition : %v.", err)
		return
	}
	for _, w := range warns {
		b.warnf(l, "%s.", w)
	}
	p.MonitorFail = append(p.MonitorFail, c)
}

// MonitorFails tells whether one of the "monitor fail" conditions holds.
func (p *Proxy) MonitorFails(t sample.Txn, st *acl.State) bool {
	for _, c := range p.MonitorFail {
		if c.Match(t, st) {
			return true
		}
	}
	return false
}
