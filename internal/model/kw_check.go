package model

import (
	"strings"

	"dhproxy/internal/config"
)

// CheckOpts holds the arguments of the protocol check options. As in
// HAProxy, the last check option of a section wins, so Kind records which.
type CheckOpts struct {
	Kind string // "httpchk", "mysql-check"; "" means a plain TCP connect

	// option mysql-check [ user <username> [ { post-41 | pre-41 } ] ]
	MySQLUser  string // empty: only the server's greeting is checked
	MySQLPre41 bool   // send the pre-4.1 authentication packet

	// option smtpchk [ { EHLO | HELO } <domain> ]: "EHLO <domain>", or
	// empty for HAProxy's default "HELO localhost".
	SMTPCmd string

	// option pgsql-check user <username>
	PgSQLUser string

	// tcp-check and http-check rules (kw_tcp_check.go, kw_http_check.go);
	// nil when the section and its defaults wrote none.
	TCPRules, HTTPRules *CheckRules
	// option external-check (kw_external_check.go): the program run, the
	// PATH it gets, and the line that asked for it.
	ExtCommand, ExtPath string
	ExtPreserveEnv      bool // the global "external-check preserve-env"
	ExtPos              config.Pos
	DisableOn404        bool // http-check disable-on-404
	SendState           bool // http-check send-state: X-Haproxy-Server-State
}

func init() {
	registerOption("httpchk", CapBE, "", parseHTTPChk)
	// "option tcp-check" runs the section's tcp-check rules; "option
	// ssl-hello-chk" sends a ClientHello and wants a TLS record back.
	for _, o := range []string{"tcp-check", "ssl-hello-chk"} {
		registerOption(o, CapBE, "", func(b *builder, p *Proxy, l config.Line, negate bool) {
			if len(l.Args) > 2 {
				b.errorf(l, "'%s %s' cannot handle unexpected argument '%s'.", l.Args[0], l.Args[1], l.Args[2])
				return
			}
			// A section that turns tcp-check on itself uses its defaults'
			// rules only if the defaults had turned it on too (HAProxy).
			if l.Args[1] == "tcp-check" && p.Check.Kind != "tcp-check" &&
				p.Check.TCPRules != nil && p.Check.TCPRules.Owner != p {
				p.Check.TCPRules = nil
			}
			p.Options[l.Args[1]] = true
			setCheckKind(p, l.Args[1])
		})
	}
}

// parsePgSQLCheck reads "option pgsql-check user <username>", which HAProxy
// requires.
func parsePgSQLCheck(b *builder, p *Proxy, l config.Line, negate bool) {
	p.Options["pgsql-check"] = true
	setCheckKind(p, "pgsql-check")
	a := l.Args[2:]
	switch {
	case len(a) < 2 || a[0] == "" || a[1] == "":
		b.errorf(l, "'option pgsql-check' expects 'user <username>' as argument.")
	case a[0] != "user":
		b.errorf(l, "'option pgsql-check' only supports optional values: 'user'.")
	default:
		p.Check.PgSQLUser = a[1]
	}
}

// parseSMTPChk reads "option smtpchk": as in HAProxy, anything but EHLO or
// HELO followed by a domain falls back to the default greeting.
func parseSMTPChk(b *builder, p *Proxy, l config.Line, negate bool) {
	p.Options["smtpchk"] = true
	setCheckKind(p, "smtpchk")
	p.Check.SMTPCmd = ""
	if a := l.Args[2:]; len(a) >= 2 && a[1] != "" && (a[0] == "EHLO" || a[0] == "HELO") {
		p.Check.SMTPCmd = a[0] + " " + a[1]
	}
}

// setCheckKind makes name the backend's check: the last check option wins.
// None of them takes "no" (see notNegatable).
func setCheckKind(p *Proxy, name string) {
	p.Check.Kind = name
}

// parseMySQLCheck reads "option mysql-check [ user <username> [ post-41 | pre-41 ] ]"
// with HAProxy's error wording.
func parseMySQLCheck(b *builder, p *Proxy, l config.Line, negate bool) {
	p.Options["mysql-check"] = true
	setCheckKind(p, "mysql-check")
	c := &p.Check
	c.MySQLUser, c.MySQLPre41 = "", false
	args := l.Args[2:]
	if len(args) == 0 {
		return
	}
	if args[0] != "user" {
		b.errorf(l, "'option mysql-check' only supports optional values: 'user' (got '%s').", args[0])
		return
	}
	if len(args) < 2 || args[1] == "" {
		b.errorf(l, "'option mysql-check user' expects <username> as argument.")
		return
	}
	c.MySQLUser = args[1]
	if len(args) > 2 {
		switch args[2] {
		case "post-41":
		case "pre-41":
			c.MySQLPre41 = true
		default:
			b.errorf(l, "keyword 'user' only supports 'post-41' and 'pre-41' (got '%s').", args[2])
		}
	}
}

// parseHTTPChk reads "option httpchk [<meth>] [<uri>] [<ver>]". As in
// HAProxy, a section that says it itself runs its own http-check rules:
// those of its defaults section no longer apply.
func parseHTTPChk(b *builder, p *Proxy, l config.Line, negate bool) {
	p.Options["httpchk"] = true
	setCheckKind(p, "httpchk")
	p.HTTPChk = append([]string(nil), l.Args[2:]...)
	if len(l.Args) > 4 && strings.Contains(l.Args[4], "\r\n") {
		b.warnf(l, "'option httpchk' : hiding headers or body at the end of the version string is deprecated. Please, consider to use 'http-check send' directive instead.")
	}
	if p.Check.HTTPRules != nil && p.Check.HTTPRules.Owner != p {
		p.Check.HTTPRules = nil
	}
}
