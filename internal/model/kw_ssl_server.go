package model

import (
	"dhproxy/internal/config"
	"dhproxy/internal/tlsconf"
)

// Global defaults of "ssl" servers: ssl-default-server-options (versions,
// no-ssl-reuse), ssl-default-server-ciphers and -ciphersuites; a server
// line's own settings come after them.

func init() {
	registerGlobal("ssl-default-server-options", func(b *builder, g *Global, l config.Line) {
		for i := 1; i < len(l.Args); i++ {
			w := l.Args[i]
			switch {
			case w == "ssl-min-ver" || w == "ssl-max-ver":
				if i+1 >= len(l.Args) {
					b.errorf(l, "'%s' expects a version (TLSv1.0 ... TLSv1.3).", w)
					return
				}
				g.SSLServer.Options = append(g.SSLServer.Options, w, l.Args[i+1])
				i++
			case tlsconf.IsVersionOption(w), w == "no-ssl-reuse":
				g.SSLServer.Options = append(g.SSLServer.Options, w)
			case w == "no-tls-tickets" || w == "prefer-client-ciphers" || w == "allow-0rtt":
				b.warnf(l, "ssl-default-server-options '%s' is accepted but has no effect in dhproxy.", w)
			default:
				b.errorf(l, "ssl-default-server-options: unknown option '%s'.", w)
			}
		}
	})
	registerGlobal("ssl-default-server-ciphers", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "ssl-default-server-ciphers <ciphers>") {
			g.SSLServer.Ciphers = l.Args[1]
		}
	})
	registerGlobal("ssl-default-server-ciphersuites", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "ssl-default-server-ciphersuites <ciphersuites>") {
			g.SSLServer.Suites = l.Args[1]
		}
	})
}
