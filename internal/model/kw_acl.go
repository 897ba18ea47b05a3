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

// refuseRulesInDefaults reports rule keywords in a defaults section:
// HAProxy 2.6 refuses them in anonymous ones; named ones (inherited by
// explicit "from") are not supported by dhproxy yet.
func refuseRulesInDefaults(b *builder, p *Proxy, l config.Line) bool {
	if p.Cap&CapDef == 0 {
		return false
	}
	if b.sect != nil && (len(b.sect.Args) == 0 || b.sect.Args[0] == "from") {
		b.errorf(l, "'%s' not allowed in anonymous 'defaults' section.", l.Args[0])
	} else {
		b.errorf(l, "'%s' in a named 'defaults' section is not supported by dhproxy yet; write it in each frontend or backend.", l.Args[0])
	}
	return true
}
