package model

import (
	"strings"

	"dhproxy/internal/config"
)

func init() {
	registerGlobal("maxconn", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "maxconn <number>") {
			g.Maxconn, _ = b.intArg(l, 1)
		}
	})
	registerGlobal("daemon", func(b *builder, g *Global, l config.Line) { g.Daemon = true })
	registerGlobal("quiet", func(b *builder, g *Global, l config.Line) { g.Quiet = true })
	registerGlobal("pidfile", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "pidfile <file>") {
			g.Pidfile = l.Args[1]
		}
	})
	registerGlobal("nbthread", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "nbthread <number>") {
			if n, ok := b.intArg(l, 1); ok && n >= 1 {
				g.Nbthread = n
			} else if ok {
				b.errorf(l, "'nbthread' must be at least 1.")
			}
		}
	})
	registerGlobal("nbproc", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "nbproc <number>") {
			return
		}
		if n, ok := b.intArg(l, 1); ok && n != 1 {
			b.errorf(l, "'nbproc %d': multi-process mode was removed in HAProxy 2.5; remove this line and use 'nbthread %d' instead.", n, n)
			return
		}
		b.warnf(l, "'nbproc' is deprecated (removed in HAProxy 2.5); remove this line ('nbthread' sets the parallelism).")
	})
	registerGlobal("tune.bufsize", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "tune.bufsize <bytes>") {
			return
		}
		n, err := parseSize(l.Args[1])
		if err != nil || n < 1024 || n > 1<<24 {
			b.errorf(l, "'tune.bufsize %s': expects a size between 1k and 16m.", l.Args[1])
			return
		}
		g.BufSize = n
	})
	registerGlobal("tune.maxrewrite", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "tune.maxrewrite <bytes>") {
			if n, err := parseSize(l.Args[1]); err == nil {
				g.MaxRewrite = n
			} else {
				b.errorf(l, "'tune.maxrewrite': %v.", err)
			}
		}
	})
	registerGlobal("node", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "node <name>") {
			g.Node = l.Args[1]
		}
	})
	registerGlobal("log-tag", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "log-tag <string>") {
			g.LogTag = l.Args[1]
		}
	})
	registerGlobal("log-send-hostname", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 0, 1, "log-send-hostname [<string>]") {
			return
		}
		g.LogHostname = "\x00" // the system's host name
		if len(l.Args) == 2 {
			g.LogHostname = l.Args[1]
		}
	})
	registerGlobal("master-worker", func(b *builder, g *Global, l config.Line) {
		b.notYetOnce(l, "'master-worker'", "master-worker mode")
	})
	for _, kw := range []string{"user", "group", "uid", "gid", "chroot"} {
		registerGlobal(kw, func(b *builder, g *Global, l config.Line) {
			if b.wantArgs(l, 1, 1, l.Args[0]+" <value>") {
				b.notYetOnce(l, "'"+l.Args[0]+"'", "dropping privileges")
			}
		})
	}
	registerGlobal("description", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, -1, "description <text>") {
			g.Description = strings.Join(l.Args[1:], " ")
		}
	})
	for _, kw := range []string{"hard-stop-after", "spread-checks", "tune.maxaccept", "tune.http.maxhdr", "maxsslconn", "maxconnrate", "maxsessrate"} {
		registerGlobal(kw, func(b *builder, g *Global, l config.Line) {
			b.notYetOnce(l, "'"+l.Args[0]+"'", "this setting")
		})
	}
	registerGlobal("ssl-server-verify", func(b *builder, g *Global, l config.Line) {
		b.notYetOnce(l, "'ssl-server-verify'", "TLS")
	})
	for _, kw := range []string{"ssl-default-bind-ciphers", "ssl-default-bind-options", "ssl-default-server-ciphers", "ssl-default-server-options", "ssl-default-bind-ciphersuites", "ssl-default-server-ciphersuites", "tune.ssl.default-dh-param", "ca-base", "crt-base"} {
		registerGlobal(kw, func(b *builder, g *Global, l config.Line) {
			b.notYetOnce(l, "'"+l.Args[0]+"'", "TLS")
		})
	}
}
