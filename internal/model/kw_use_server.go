package model

import (
	"strings"

	"dhproxy/internal/acl"
	"dhproxy/internal/config"
	"dhproxy/internal/sample"
)

// UseServer is a "use-server <server> if|unless <cond>" rule: the first
// that applies sends the request to that server, before persistence and
// balancing.
type UseServer struct {
	Pos     config.Pos
	Name    string
	Server  *Server        // nil for a computed name
	Dynamic *sample.Format // "use-server %[...]": the name is computed per request
	Cond    *acl.Cond
}

// PersistRule is a "force-persist" or "ignore-persist" rule; the first
// whose condition holds decides for the request.
type PersistRule struct {
	Pos   config.Pos
	Force bool // force-persist: persistence (use-server, cookie, stick match) also picks a DOWN server
	Cond  *acl.Cond
}

func init() {
	// In a frontend haproxy only warns: a configuration it loads loads here too.
	registerProxy("use-server", CapFE|CapBE, parseUseServer)
	registerProxy("force-persist", CapFE|CapBE, parsePersistRule)
	registerProxy("ignore-persist", CapFE|CapBE, parsePersistRule)
	registerProxy("http-send-name-header", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if len(l.Args) < 2 {
			b.errorf(l, "'http-send-name-header' requires a header string.")
			return
		}
		if frontendOnly(b, p, l) {
			return
		}
		// haproxy reads the first word only.
		p.SendNameHeader = l.Args[1]
	})
}

func parseUseServer(b *builder, p *Proxy, l config.Line) {
	if len(l.Args) < 2 {
		b.errorf(l, "'use-server' expects a server name.")
		return
	}
	if len(l.Args) < 3 || l.Args[2] != "if" && l.Args[2] != "unless" {
		b.errorf(l, "'use-server' requires either 'if' or 'unless' followed by a condition.")
		return
	}
	if frontendOnly(b, p, l) {
		return
	}
	u := UseServer{Pos: l.Pos, Name: l.Args[1]}
	if strings.Contains(u.Name, "%[") {
		f, err := b.comp.CompileFormat(u.Name, sample.PhaseReq|sample.PhaseContent)
		if err != nil {
			b.errorf(l, "'use-server %s': %v.", u.Name, err)
			return
		}
		u.Dynamic = f
	}
	c, warns, err := p.ACLs.ParseCond(b.comp, l.Args[2:], sample.PhaseReq|sample.PhaseContent, "server rule")
	if err != nil {
		b.errorf(l, "error detected while parsing switching rule : %v.", err)
		return
	}
	for _, w := range warns {
		b.warnf(l, "%s.", w)
	}
	u.Cond = c
	p.UseServers = append(p.UseServers, u)
}

func parsePersistRule(b *builder, p *Proxy, l config.Line) {
	kw := l.Args[0]
	if len(l.Args) < 2 || l.Args[1] != "if" && l.Args[1] != "unless" {
		b.errorf(l, "'%s' requires either 'if' or 'unless' followed by a condition.", kw)
		return
	}
	if frontendOnly(b, p, l) {
		return
	}
	c, warns, err := p.ACLs.ParseCond(b.comp, l.Args[1:], sample.PhaseReq|sample.PhaseContent, kw+" rule")
	if err != nil {
		b.errorf(l, "error detected while parsing a '%s' rule : %v.", kw, err)
		return
	}
	for _, w := range warns {
		b.warnf(l, "%s.", w)
	}
	p.PersistRules = append(p.PersistRules, PersistRule{Pos: l.Pos, Force: kw == "force-persist", Cond: c})
}

// frontendOnly warns that l has no effect in p, a frontend, and tells so.
func frontendOnly(b *builder, p *Proxy, l config.Line) bool {
	if p.Cap&(CapBE|CapDef) != 0 {
		return false
	}
	b.warnf(l, "'%s' ignored because %s '%s' has no backend capability.", l.Args[0], sectionWord(p), p.Name)
	return true
}

// resolveUseServers points the static use-server rules of p at their
// servers; a name that is not one of p's servers is an error, and so is a
// computed name reading HTTP in mode tcp.
func (b *builder) resolveUseServers(p *Proxy) {
	for i := range p.UseServers {
		u := &p.UseServers[i]
		if u.Dynamic != nil {
			if p.Mode == ModeTCP && !u.Dynamic.Usable(sample.PhaseConn|sample.PhaseContent) {
				b.d.Errorf(u.Pos, "%s '%s': 'use-server %s' reads the HTTP request, which mode tcp does not have.", sectionWord(p), p.Name, u.Name)
			}
			continue
		}
		for _, s := range p.Servers {
			if s.Name == u.Name {
				u.Server = s
				break
			}
		}
		if u.Server == nil {
			b.d.Errorf(u.Pos, "%s '%s' : unable to find server '%s' referenced in a 'use-server' rule; declare 'server %s <addr>' in it.", sectionWord(p), p.Name, u.Name, u.Name)
		}
	}
}
