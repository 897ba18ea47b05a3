package model

import (
	"path/filepath"

	"dhproxy/internal/config"
)

// Server state across reloads (HAProxy 2.6): "show servers state" writes
// the file that "server-state-file" and "load-server-state-from-file"
// read at start.
//
//	global
//	    server-state-base /var/lib/haproxy
//	    server-state-file state
//	defaults
//	    load-server-state-from-file global

func init() {
	registerGlobal("server-state-file", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "server-state-file <file>") {
			g.ServerStateFile = l.Args[1]
		}
	})
	registerGlobal("server-state-base", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "server-state-base <directory>") {
			g.ServerStateBase = l.Args[1]
		}
	})
	registerProxy("load-server-state-from-file", CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if !b.wantArgs(l, 1, 1, "load-server-state-from-file { global | local | none }") {
			return
		}
		switch l.Args[1] {
		case "global", "local", "none":
			p.LoadServerState = l.Args[1]
		default:
			b.errorf(l, "'load-server-state-from-file' expects 'global', 'local' or 'none', not '%s'.", l.Args[1])
		}
	})
	registerProxy("server-state-file-name", CapBE, func(b *builder, p *Proxy, l config.Line) {
		if !b.wantArgs(l, 0, 1, "server-state-file-name [ { use-backend-name | <file> } ]") {
			return
		}
		p.ServerStateFileName = ""
		if len(l.Args) == 2 && l.Args[1] != "use-backend-name" {
			p.ServerStateFileName = l.Args[1]
		}
	})
}

// ServerStateFile is the file backend p loads its servers' state from at
// start, "" for none: the global file ("load-server-state-from-file
// global"), or its own ("local": "server-state-file-name", by default the
// backend's name); relative paths are under "server-state-base".
func (c *Config) ServerStateFile(p *Proxy) string {
	var f string
	switch p.LoadServerState {
	case "global":
		f = c.Global.ServerStateFile
	case "local":
		f = p.ServerStateFileName
		if f == "" {
			f = p.Name
		}
	}
	if f == "" || filepath.IsAbs(f) || c.Global.ServerStateBase == "" {
		return f
	}
	return filepath.Join(c.Global.ServerStateBase, f)
}
