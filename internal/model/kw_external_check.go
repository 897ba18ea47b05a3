package model

import (
	"dhproxy/internal/config"
)

// External checks, as HAProxy 2.6: a program judges each server (exit
// status 0: up), enabled by "external-check" and "insecure-fork-wanted" in
// the global section.
//
//	global
//	    external-check
//	    insecure-fork-wanted
//	backend be
//	    option external-check
//	    external-check path "/usr/bin:/bin"
//	    external-check command /usr/local/bin/check.sh
//	    server s1 10.0.0.1:80 check

func init() {
	registerGlobal("external-check", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 0, 1, "external-check [preserve-env]") {
			return
		}
		if len(l.Args) == 2 && l.Args[1] != "preserve-env" {
			b.errorf(l, "'external-check' only supports 'preserve-env' as an argument, found '%s'.", l.Args[1])
			return
		}
		g.ExternalCheck = true
		g.ExternalCheckPreserveEnv = len(l.Args) == 2
	})
	registerGlobal("insecure-fork-wanted", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 0, 0, "insecure-fork-wanted") {
			g.InsecureForkWanted = true
		}
	})
	registerOption("external-check", CapBE, "", func(b *builder, p *Proxy, l config.Line, negate bool) {
		p.Options["external-check"] = true
		setCheckKind(p, "external-check")
		p.Check.ExtPos = l.Pos
	})
	registerProxy("external-check", CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if !b.wantArgs(l, 2, 2, "external-check { command <command> | path <path> }") {
			return
		}
		switch l.Args[1] {
		case "command":
			p.Check.ExtCommand = l.Args[2]
		case "path":
			p.Check.ExtPath = l.Args[2]
		default:
			b.errorf(l, "'external-check' expects 'command' or 'path', not '%s'.", l.Args[1])
		}
	})
}

// checkExternalCheck refuses an external check that cannot run: HAProxy
// needs "external-check" in the global section and a command, and 2.6
// forbids forking without "insecure-fork-wanted" (there the check would
// fail at run time; here the configuration says so with its line).
func (b *builder) checkExternalCheck(p *Proxy) {
	if p.Check.Kind != "external-check" {
		return
	}
	checked := false
	for _, s := range p.Servers {
		checked = checked || s.Check
	}
	if !checked {
		return
	}
	pos := p.Check.ExtPos
	if pos.File == "" {
		pos = p.Pos
	}
	g := &b.cfg.Global
	p.Check.ExtPreserveEnv = g.ExternalCheckPreserveEnv
	switch {
	case !g.ExternalCheck:
		b.d.Errorf(pos, "%s '%s': 'option external-check' needs 'external-check' in the global section.", sectionWord(p), p.Name)
	case p.Check.ExtCommand == "":
		b.d.Errorf(pos, "%s '%s': 'option external-check' without 'external-check command <command>'.", sectionWord(p), p.Name)
	case !g.InsecureForkWanted:
		b.d.Errorf(pos, "%s '%s': external checks start a process, which needs 'insecure-fork-wanted' in the global section (as in HAProxy 2.6).", sectionWord(p), p.Name)
	}
}
