package model

import (
	"dhproxy/internal/config"
	"dhproxy/internal/tlsconf"
	"slices"
)

// Global defaults of "ssl" servers: ssl-default-server-options (versions,
// no-ssl-reuse), ssl-default-server-ciphers and -ciphersuites; a server
// line's own settings come after them.

func init() {
	registerGlobal("ssl-default-server-options", func(b *builder, g *Global, l config.Line) {
		g.SSLServer.Options = b.sslDefaultOptions(l, g.SSLServer.Options, []string{"no-ssl-reuse"}, []string{"no-tls-tickets", "prefer-client-ciphers", "allow-0rtt"})
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

// sslDefaultOptions reads the words of ssl-default-bind-options or
// ssl-default-server-options into opts: the protocol versions, a version
// bound with its argument and the words of kept; the words of ignored are
// accepted with a warning, any other is an error.
func (b *builder) sslDefaultOptions(l config.Line, opts, kept, ignored []string) []string {
	for i := 1; i < len(l.Args); i++ {
		w := l.Args[i]
		switch {
		case w == "ssl-min-ver" || w == "ssl-max-ver":
			if i+1 >= len(l.Args) {
				b.errorf(l, "'%s' expects a version (TLSv1.0 ... TLSv1.3).", w)
				return opts
			}
			opts = append(opts, w, l.Args[i+1])
			i++
		case tlsconf.IsVersionOption(w), slices.Contains(kept, w):
			opts = append(opts, w)
		case slices.Contains(ignored, w):
			b.warnf(l, "%s '%s' is accepted but has no effect in dhproxy.", l.Args[0], w)
		default:
			b.errorf(l, "%s: unknown option '%s'.", l.Args[0], w)
		}
	}
	return opts
}
