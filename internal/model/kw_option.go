package model

import (
	"net/netip"
	"strings"

	"dhproxy/internal/config"
	"dhproxy/internal/logging/logformat"
)

// optionKeyword implements one "option X"; negate is true for "no option X".
type optionKeyword struct {
	caps  Cap
	parse func(b *builder, p *Proxy, l config.Line, negate bool)
	later string // feature that will give it an effect; empty when implemented
}

var optionKeywords = map[string]optionKeyword{}

func registerOption(name string, caps Cap, later string, parse func(b *builder, p *Proxy, l config.Line, negate bool)) {
	optionKeywords[name] = optionKeyword{caps, parse, later}
}

// recordOption keeps the option's state for the feature that will use it.
func recordOption(b *builder, p *Proxy, l config.Line, negate bool) {
	p.Options[l.Args[1]] = !negate
}

func init() {
	registerProxy("option", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) { parseOption(b, p, l, false) })
	registerProxy("no-option", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) { parseOption(b, p, l, true) })
	registerProxy("default-option", CapFE|CapBE|CapDef, parseDefaultOption)

	connMode := func(m HTTPConnMode) func(*builder, *Proxy, config.Line, bool) {
		return func(b *builder, p *Proxy, l config.Line, negate bool) {
			if negate {
				if p.ConnMode == m {
					p.ConnMode = HTTPKeepAlive
				}
				return
			}
			p.ConnMode = m
		}
	}
	registerOption("httpclose", CapFE|CapBE, "", connMode(HTTPClose))
	registerOption("http-server-close", CapFE|CapBE, "", connMode(HTTPServerClose))
	registerOption("http-keep-alive", CapFE|CapBE, "", connMode(HTTPKeepAlive))
	registerOption("forceclose", CapFE|CapBE, "", func(b *builder, p *Proxy, l config.Line, negate bool) {
		b.warnf(l, "'option forceclose' is deprecated (removed in HAProxy 2.0); write 'option httpclose' instead.")
		connMode(HTTPClose)(b, p, l, negate)
	})
	registerOption("forwardfor", CapFE|CapBE, "", parseForwardFor)
	registerOption("redispatch", CapBE, "", func(b *builder, p *Proxy, l config.Line, negate bool) {
		if len(l.Args) > 3 {
			b.errorf(l, "'option redispatch' takes at most one argument (the redispatch interval).")
		}
		p.Redispatch = !negate
	})
	for _, o := range []string{"dontlognull", "log-separate-errors", "dontlog-normal"} {
		registerOption(o, CapFE|CapBE, "", recordOption)
	}
	// The last of tcplog, httplog, httpslog and log-format wins.
	registerOption("tcplog", CapFE|CapBE, "", func(b *builder, p *Proxy, l config.Line, negate bool) {
		recordOption(b, p, l, negate)
		p.Options["httplog"] = false
		p.LogFormat, p.HTTPSLogAt = nil, config.Pos{}
	})
	registerOption("httplog", CapFE|CapBE, "", func(b *builder, p *Proxy, l config.Line, negate bool) {
		p.Options["httplog"] = !negate
		p.Options["tcplog"] = false
		p.LogFormat, p.HTTPSLogAt = nil, config.Pos{}
		p.HTTPLogCLF = !negate && len(l.Args) > 2 && l.Args[2] == "clf"
		if len(l.Args) > 2 && l.Args[2] != "clf" {
			b.errorf(l, "'option httplog' only takes 'clf' as argument.")
		}
	})
	registerOption("httpslog", CapFE|CapBE, "", parseHTTPSLog)
	registerOption("logasap", CapFE|CapBE, "", func(b *builder, p *Proxy, l config.Line, negate bool) {
		if len(l.Args) > 2 {
			b.errorf(l, "'option logasap' cannot handle unexpected argument '%s'.", l.Args[2])
			return
		}
		if p.Cap == CapBE && !negate {
			b.warnf(l, "'logasap' ignored because backend '%s' has no frontend capability.", p.Name)
			return
		}
		recordOption(b, p, l, negate)
	})
	registerOption("log-health-checks", CapBE, "", recordOption)
	registerOption("mysql-check", CapBE, "", parseMySQLCheck)
	registerOption("smtpchk", CapBE, "", parseSMTPChk)
	registerOption("pgsql-check", CapBE, "", parsePgSQLCheck)
	for _, o := range []string{"redis-check", "ldap-check"} {
		registerOption(o, CapBE, "", func(b *builder, p *Proxy, l config.Line, negate bool) {
			p.Options[l.Args[1]] = true
			setCheckKind(p, l.Args[1])
		})
	}
	for _, o := range []string{"spop-check"} {
		registerOption(o, CapBE, "this protocol check (a plain TCP check runs instead)", func(b *builder, p *Proxy, l config.Line, negate bool) {
			p.Options[l.Args[1]] = true
			setCheckKind(p, l.Args[1]) // it still replaces an earlier check option
		})
	}
	registerOption("allbackups", CapBE, "", recordOption)
	// read by stream's newBackend
	registerOption("persist", CapBE, "", recordOption)
	registerOption("prefer-last-server", CapBE, "", recordOption)
	registerOption("abortonclose", CapBE, "", recordOption)
	registerOption("http-pretend-keepalive", CapFE|CapBE, "", recordOption)
	registerOption("http-no-delay", CapFE|CapBE, "", recordOption)
	registerOption("http-buffer-request", CapFE|CapBE, "request buffering", recordOption)
	registerOption("http-ignore-probes", CapFE, "", recordOption)
	registerOption("http-use-proxy-header", CapFE, "", recordOption)
	registerOption("idle-close-on-response", CapFE, "", recordOption)
	registerOption("independent-streams", CapFE|CapBE, "", recordOption)
	registerOption("nolinger", CapFE|CapBE, "", recordOption)
	registerOption("tcpka", CapFE|CapBE, "", recordOption)
	registerOption("clitcpka", CapFE, "", recordOption)
	registerOption("srvtcpka", CapBE, "", recordOption)
	registerOption("contstats", CapFE, "", recordOption)
	registerOption("socket-stats", CapFE, "", recordOption)
	registerOption("splice-auto", CapFE|CapBE, "", recordOption)
	registerOption("splice-request", CapFE|CapBE, "", recordOption)
	registerOption("splice-response", CapFE|CapBE, "", recordOption)
	registerOption("tcp-smart-accept", CapFE, "", recordOption)
	registerOption("tcp-smart-connect", CapBE, "", recordOption)
	registerOption("checkcache", CapBE, "", func(b *builder, p *Proxy, l config.Line, negate bool) {
		if len(l.Args) > 2 {
			b.errorf(l, "'option checkcache' takes no argument; remove '%s'.", l.Args[2])
			return
		}
		recordOption(b, p, l, negate)
	})
	registerOption("originalto", CapFE|CapBE, "", parseOriginalTo)
	registerOption("transparent", CapBE, "transparent mode", recordOption)
	registerOption("accept-invalid-http-request", CapFE, "", func(b *builder, p *Proxy, l config.Line, negate bool) {
		if !negate {
			b.warnf(l, "'option accept-invalid-http-request' is ignored: dhproxy always applies strict HTTP/1.1 framing rules (request-smuggling defence).")
		}
	})
	registerOption("accept-invalid-http-response", CapBE, "", func(b *builder, p *Proxy, l config.Line, negate bool) {
		if !negate {
			b.warnf(l, "'option accept-invalid-http-response' is ignored: dhproxy always applies strict HTTP/1.1 framing rules.")
		}
	})
}

func optionNames() []string {
	var n []string
	for k := range optionKeywords {
		n = append(n, k)
	}
	return n
}

// notNegatable lists the options haproxy 2.6 parses outside its on/off
// tables: a "no" in front of them is a fatal error there, checked before
// the section's capabilities.
var notNegatable = map[string]bool{
	"httplog": true, "tcplog": true, "httpslog": true, "tcpka": true, "forwardfor": true, "originalto": true,
	"httpchk": true, "ssl-hello-chk": true, "smtpchk": true, "pgsql-check": true, "redis-check": true,
	"mysql-check": true, "ldap-check": true, "spop-check": true, "tcp-check": true, "external-check": true,
	"http-restrict-req-hdr-names": true,
}

func parseOption(b *builder, p *Proxy, l config.Line, negate bool) {
	if len(l.Args) < 2 {
		b.errorf(l, "'option' expects an option name.")
		return
	}
	name := l.Args[1]
	kw, ok := optionKeywords[name]
	if !ok {
		b.errorf(l, "unknown option '%s'%s", name, suggest(name, optionNames()))
		return
	}
	if negate && notNegatable[name] {
		b.errorf(l, "negation/default is not supported for option '%s'.", name)
		return
	}
	if kw.caps&p.Cap == 0 && p.Cap&CapDef == 0 {
		b.warnf(l, "'option %s' has no effect in a '%s' section; it applies to %s.", name, sectionWord(p), capWords(kw.caps))
		return
	}
	kw.parse(b, p, l, negate)
	if kw.later != "" && !negate {
		b.notYetOnce(l, "'option "+name+"'", kw.later)
	}
}

// parseDefaultOption is "default option X". HAProxy 2.6 refuses it as it
// refuses "no" for the options above; for the others its on/off table
// reads the option's own name as an extra argument and refuses that.
// "option redispatch" takes an argument, so "default option redispatch"
// passes there; dhproxy reads it as "option redispatch".
func parseDefaultOption(b *builder, p *Proxy, l config.Line) {
	if len(l.Args) < 2 {
		b.errorf(l, "'option' expects an option name.")
		return
	}
	switch name := l.Args[1]; {
	case notNegatable[name] || optionKeywords[name].parse == nil:
		b.errorf(l, "negation/default is not supported for option '%s'.", name)
	case name == "redispatch":
		parseOption(b, p, l, false)
	default:
		b.errorf(l, "'option %s' cannot handle unexpected argument '%s'.", name, name)
	}
}

// httpsLogFormat is haproxy 2.6's "option httpslog" line (its manual's
// section 8.2.4): the httplog fields followed by the TLS ones.
const httpsLogFormat = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r " +
	"%[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc"

// parseHTTPSLog is "option httpslog": the log-format above. Like haproxy,
// a backend ignores it.
func parseHTTPSLog(b *builder, p *Proxy, l config.Line, negate bool) {
	if p.Cap == CapBE {
		b.warnf(l, "backend '%s' : 'option httpslog' directive is ignored in backends.", p.Name)
		return
	}
	f, err := logformat.Compile(b.comp, httpsLogFormat, true)
	if err != nil {
		panic("option httpslog: " + err.Error()) // a constant that compiles
	}
	p.LogFormat, p.HTTPSLogAt = f, l.Pos
	p.Options["httplog"], p.Options["tcplog"] = false, false
}

// parseForwardFor reads "option forwardfor [except <net>] [header <name>] [if-none]".
func parseForwardFor(b *builder, p *Proxy, l config.Line, negate bool) {
	ff := ForwardFor{Header: "X-Forwarded-For"}
	args := l.Args[2:]
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "except":
			if i+1 >= len(args) {
				b.errorf(l, "'option forwardfor except' expects a network, e.g. 'except 127.0.0.0/8'.")
				return
			}
			n, err := parseNet(args[i+1])
			if err != nil {
				b.errorf(l, "'option forwardfor except %s': not a network; write an address or address/prefix.", args[i+1])
				return
			}
			ff.Except = append(ff.Except, n)
			i++
		case "header":
			if i+1 >= len(args) || args[i+1] == "" {
				b.errorf(l, "'option forwardfor header' expects a header name.")
				return
			}
			ff.Header = args[i+1]
			i++
		case "if-none":
			ff.IfNone = true
		default:
			b.errorf(l, "'option forwardfor' does not know '%s'; it takes [except <net>] [header <name>] [if-none].", args[i])
			return
		}
	}
	p.ForwardFor = ff
}

// parseOriginalTo reads "option originalto [except <net>] [header <name>]";
// as in haproxy, the last "except" given is the one that applies.
func parseOriginalTo(b *builder, p *Proxy, l config.Line, negate bool) {
	ot := OriginalTo{Header: "X-Original-To"}
	args := l.Args[2:]
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "except":
			if i+1 >= len(args) {
				b.errorf(l, "'option originalto except' expects <address>[/mask] as argument.")
				return
			}
			n, err := parseNet(args[i+1])
			if err != nil {
				b.errorf(l, "'option originalto except %s': expects <address>[/mask]; write an address or address/prefix.", args[i+1])
				return
			}
			ot.Except = n
			i++
		case "header":
			if i+1 >= len(args) || args[i+1] == "" {
				b.errorf(l, "'option originalto header' expects <header_name> as argument.")
				return
			}
			ot.Header = args[i+1]
			i++
		default:
			b.errorf(l, "'option originalto' does not know '%s'; it only takes [except <network>] [header <name>].", args[i])
			return
		}
	}
	p.OriginalTo = ot
}

func parseNet(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		pf, err := netip.ParsePrefix(s)
		if err == nil {
			return pf.Masked(), nil
		}
		// HAProxy also accepts a dotted netmask.
		addr, mask, _ := strings.Cut(s, "/")
		a, err1 := netip.ParseAddr(addr)
		m, err2 := netip.ParseAddr(mask)
		if err1 != nil || err2 != nil || !a.Is4() || !m.Is4() {
			return netip.Prefix{}, err
		}
		mb := m.As4()
		bits := 0
		for _, x := range mb {
			for x&0x80 != 0 {
				bits++
				x <<= 1
			}
		}
		return netip.PrefixFrom(a, bits).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
