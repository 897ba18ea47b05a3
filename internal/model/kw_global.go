package model

import (
	"strconv"
	"strings"
	"time"

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
	// haproxy's gate for experimental actions (normalize-uri): they are
	// refused unless an earlier global line says this
	registerGlobal("expose-experimental-directives", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 0, 0, "expose-experimental-directives") {
			g.ExposeExperimental = true
		}
	})
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
		if !b.wantArgs(l, 0, 1, "master-worker [no-exit-on-failure]") {
			return
		}
		if len(l.Args) == 2 {
			if l.Args[1] != "no-exit-on-failure" {
				b.errorf(l, "'master-worker' only accepts 'no-exit-on-failure', not '%s'", l.Args[1])
				return
			}
			g.NoExitOnFailure = true
		}
		g.MasterWorker = true
	})
	registerGlobal("noreuseport", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 0, 0, "noreuseport") {
			g.NoReusePort = true
		}
	})
	for kw, field := range map[string]func(*Global) *time.Duration{
		"hard-stop-after": func(g *Global) *time.Duration { return &g.HardStopAfter },
		"grace":           func(g *Global) *time.Duration { return &g.Grace },
	} {
		registerGlobal(kw, func(b *builder, g *Global, l config.Line) {
			if !b.wantArgs(l, 1, 1, kw+" <time>") {
				return
			}
			d, err := parseDuration(l.Args[1])
			if err != nil {
				b.errorf(l, "'%s': %v", kw, err)
				return
			}
			*field(g) = d
		})
	}
	registerProxy("grace", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		b.errorf(l, "the 'grace' keyword is not supported any more since HAProxy version 2.5; write 'grace <time>' in the global section.")
	})
	registerGlobal("close-spread-time", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "close-spread-time <time>|infinite") {
			return
		}
		if l.Args[1] == "infinite" {
			g.CloseSpreadInfinite = true
			return
		}
		if _, err := parseDuration(l.Args[1]); err != nil {
			b.errorf(l, "'close-spread-time': %v", err)
			return
		}
		b.warnf(l, "'close-spread-time <time>' has no effect: on a soft stop dhproxy never cuts an idle keep-alive connection (a request may be on its way); each one closes after its next response, which carries 'Connection: close', or at its keep-alive timeout ('close-spread-time infinite' leaves out 'Connection: close' too).")
	})
	registerGlobal("description", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, -1, "description <text>") {
			g.Description = strings.Join(l.Args[1:], " ")
		}
	})
	registerGlobal("spread-checks", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "spread-checks <0..50>") {
			return
		}
		n, err := strconv.Atoi(l.Args[1])
		switch {
		case err != nil:
			b.errorf(l, "'spread-checks' expects an integer argument (0..50).")
		case n < 0 || n > 50:
			b.errorf(l, "'spread-checks' needs a positive value in range 0..50.")
		default:
			g.SpreadChecks = n
		}
	})
	registerGlobal("maxsslconn", func(b *builder, g *Global, l config.Line) {
		b.notYetOnce(l, "'"+l.Args[0]+"'", "this setting")
	})
	// maxconnrate, maxsessrate: new connections (sessions) per second the
	// process accepts at most; the others wait in the sockets' backlogs.
	for kw, field := range map[string]func(*Global) *int{
		"maxconnrate": func(g *Global) *int { return &g.MaxConnRate },
		"maxsessrate": func(g *Global) *int { return &g.MaxSessRate },
	} {
		registerGlobal(kw, func(b *builder, g *Global, l config.Line) {
			if b.wantArgs(l, 1, 1, kw+" <number>") {
				*field(g), _ = b.intArg(l, 1)
			}
		})
	}
	registerGlobal("ssl-server-verify", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "ssl-server-verify none|required") {
			return
		}
		switch l.Args[1] {
		case "none":
			g.SSLServerVerifyNone = true
		case "required":
			g.SSLServerVerifyNone = false
		default:
			b.errorf(l, "'ssl-server-verify' expects 'none' or 'required', not '%s'.", l.Args[1])
		}
	})
	registerGlobal("ssl-default-bind-options", func(b *builder, g *Global, l config.Line) {
		g.SSLBind.Options = b.sslDefaultOptions(l, g.SSLBind.Options, []string{"no-tls-tickets", "no-ca-names"}, []string{"prefer-client-ciphers", "allow-0rtt"})
	})
	registerGlobal("crt-base", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "crt-base <dir>") {
			g.CrtBase = l.Args[1]
		}
	})
	registerGlobal("ssl-default-bind-ciphers", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "ssl-default-bind-ciphers <ciphers>") {
			g.SSLBind.Ciphers = l.Args[1]
		}
	})
	registerGlobal("ssl-default-bind-curves", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "ssl-default-bind-curves <curves>") {
			g.SSLBind.Curves = l.Args[1]
		}
	})
	registerGlobal("ssl-default-bind-ciphersuites", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "ssl-default-bind-ciphersuites <ciphersuites>") {
			g.SSLBind.Suites = l.Args[1]
		}
	})
	registerGlobal("ca-base", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "ca-base <dir>") {
			g.CABase = l.Args[1]
		}
	})
}
