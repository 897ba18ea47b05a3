package model

import (
	"dhproxy/internal/config"
)

// "acl NAME FETCH[,conv...] [flags] [-m method] [values...]": named ACLs
// of a frontend, backend or listen section, compiled by internal/acl.
// Several lines with the same name add alternatives to one ACL.

func init() {
	registerProxy("acl", CapFE|CapBE|CapDef, parseACL)
}

func parseACL(b *builder, p *Proxy, l config.Line) {
	if refuseRulesInDefaults(b, p, l) {
		return
	}
	if err := p.ACLs.Declare(b.comp, l.Args[1:]); err != nil {
		b.errorf(l, "%v.", err)
	}
}

// refuseRulesInDefaults reports rule keywords HAProxy 2.6 refuses in an
// anonymous defaults section. A named one may carry acl, http-request and
// http-response lines: the sections that inherit it run its rules before
// their own (inherit in build.go); tcp-request rules there are not
// supported by dhproxy yet.
func refuseRulesInDefaults(b *builder, p *Proxy, l config.Line) bool {
	if p.Cap&CapDef == 0 {
		return false
	}
	if b.sect != nil && (len(b.sect.Args) == 0 || b.sect.Args[0] == "from") {
		b.errorf(l, "'%s' not allowed in anonymous 'defaults' section.", l.Args[0])
		return true
	}
	if l.Args[0] == "tcp-request" || l.Args[0] == "tcp-response" {
		b.errorf(l, "'%s' in a named 'defaults' section is not supported by dhproxy yet; write it in each frontend.", l.Args[0])
		return true
	}
	return false
}
