package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/config"
	"dhproxy/internal/sample"
)

func init() {
	registerProxy("mode", CapFE|CapBE|CapDef, parseMode)
	registerProxy("retries", CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if b.wantArgs(l, 1, 1, "retries <count>") {
			p.Retries, _ = b.intArg(l, 1)
		}
	})
	registerProxy("maxconn", CapFE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if b.wantArgs(l, 1, 1, "maxconn <count>") {
			p.Maxconn, _ = b.intArg(l, 1)
		}
	})
	registerProxy("fullconn", CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if b.wantArgs(l, 1, 1, "fullconn <count>") {
			p.Fullconn, _ = b.intArg(l, 1)
		}
	})
	registerProxy("backlog", CapFE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if b.wantArgs(l, 1, 1, "backlog <count>") {
			p.Backlog, _ = b.intArg(l, 1)
		}
	})
	registerProxy("default_backend", CapFE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if b.wantArgs(l, 1, 1, "default_backend <backend>") {
			p.DefaultBackend, p.DefaultBEPos = l.Args[1], l.Pos
		}
	})
	registerProxy("use_backend", CapFE, parseUseBackend)
	registerProxy("source", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if !b.wantArgs(l, 1, -1, "source <addr>[:<port>]") {
			return
		}
		if p.Cap&(CapBE|CapDef) == 0 {
			// HAProxy only warns: a configuration it loads loads here too.
			b.warnf(l, "'source' ignored because %s '%s' has no backend capability.", sectionWord(p), p.Name)
			return
		}
		if len(l.Args) > 2 {
			b.errorf(l, "'source %s %s' is not supported by dhproxy yet (no transparent 'usesrc' nor 'interface'); write 'source <addr>[:<port>]'.", l.Args[1], l.Args[2])
			return
		}
		src, err := parseSource(l.Args[1])
		if err != nil {
			b.errorf(l, "'source': %v.", err)
			return
		}
		p.Source = src
	})
	registerProxy("log-tag", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if b.wantArgs(l, 1, 1, "log-tag <string>") {
			p.LogTag = l.Args[1]
		}
	})
	registerProxy("description", CapFE|CapBE, func(b *builder, p *Proxy, l config.Line) {
		p.Description = strings.Join(l.Args[1:], " ")
	})
	registerProxy("disabled", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if b.wantArgs(l, 0, 0, "disabled") {
			p.Disabled = true
		}
	})
	registerProxy("enabled", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if b.wantArgs(l, 0, 0, "enabled") {
			p.Disabled = false
		}
	})
	registerProxy("id", CapFE|CapBE, func(b *builder, p *Proxy, l config.Line) {
		if b.wantArgs(l, 1, 1, "id <number>") {
			if n, ok := b.intArg(l, 1); ok && n > 0 {
				p.ID = n
			} else if ok {
				b.errorf(l, "'id' must be greater than zero.")
			}
		}
	})
	registerProxy("http-reuse", CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if !b.wantArgs(l, 1, 1, "http-reuse <never|safe|aggressive|always>") {
			return
		}
		switch l.Args[1] {
		case "never":
			p.Reuse = ReuseNever
		case "safe":
			p.Reuse = ReuseSafe
		case "aggressive":
			p.Reuse = ReuseAggressive
		case "always":
			p.Reuse = ReuseAlways
		default:
			b.errorf(l, "'http-reuse %s': expects 'never', 'safe', 'aggressive' or 'always'.", l.Args[1])
		}
	})
	registerProxy("redispatch", CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		b.warnf(l, "'redispatch' is deprecated (removed in HAProxy 2.1); write 'option redispatch' instead.")
		p.Redispatch = true
	})
	registerProxy("cookie", CapBE|CapDef, parseCookie)
}

func parseMode(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 1, 1, "mode <http|tcp>") {
		return
	}
	switch l.Args[1] {
	case "http":
		p.Mode = ModeHTTP
	case "tcp":
		p.Mode = ModeTCP
	case "health":
		b.errorf(l, "'mode health' was removed in HAProxy 2.4; use 'monitor-uri' or a 'http-request return' rule instead.")
	default:
		b.errorf(l, "unknown proxy mode '%s'; use 'http' or 'tcp'.", l.Args[1])
	}
}

// parseCookie reads "cookie <name> [rewrite|insert|prefix] [options]".
func parseCookie(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 1, -1, "cookie <name> [ rewrite | insert | prefix ] [ indirect ] [ nocache ] [ postonly ] [ preserve ] [ httponly ] [ secure ] [ domain <domain> ]* [ maxidle <idle> ] [ maxlife <life> ] [ dynamic ] [ attr <value> ]*") {
		return
	}
	c := &Cookie{Name: l.Args[1], Mode: "rewrite"}
	modes := 0
	for i := 2; i < len(l.Args); i++ {
		o := l.Args[i]
		switch o {
		case "rewrite", "insert", "prefix":
			c.Mode = o
			modes++
		case "indirect":
			c.Indirect = true
		case "nocache":
			c.NoCache = true
		case "preserve":
			c.Preserve = true
		case "httponly":
			c.Attrs = append(c.Attrs, "HttpOnly")
		case "secure":
			c.Attrs = append(c.Attrs, "Secure")
		case "postonly":
			c.PostOnly = true
		case "dynamic":
			c.Dynamic = true
		case "domain", "attr", "maxidle", "maxlife":
			if i+1 >= len(l.Args) {
				b.errorf(l, "cookie option '%s' expects a value.", o)
				return
			}
			i++
			switch o {
			case "domain":
				c.Attrs = append(c.Attrs, "domain="+l.Args[i])
			case "attr":
				c.Attrs = append(c.Attrs, l.Args[i])
			default:
				d, err := parseCookieAge(l.Args[i])
				if err != nil {
					b.errorf(l, "cookie option '%s': %v", o, err)
					return
				}
				if o == "maxidle" {
					c.MaxIdle = d
				} else {
					c.MaxLife = d
				}
			}
		default:
			b.errorf(l, "unknown cookie option '%s'; see 'cookie' in HAProxy's configuration manual.", o)
			return
		}
	}
	if modes > 1 {
		b.errorf(l, "'cookie' accepts only one of 'rewrite', 'insert' and 'prefix'.")
		return
	}
	p.Cookie = c
}

// parseCookieAge reads a maxidle/maxlife delay: a plain number is in
// seconds there (not milliseconds as elsewhere), and HAProxy keeps whole
// seconds.
func parseCookieAge(v string) (time.Duration, error) {
	if n, err := strconv.ParseUint(v, 10, 31); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return 0, err
	}
	if d > (1<<31-1)*time.Second {
		return 0, fmt.Errorf("'%s' is too large", v)
	}
	return d.Truncate(time.Second), nil
}

// parseUseBackend reads "use_backend <backend> [{if | unless} <cond>]";
// a name holding %[...] is computed per request (a map lookup, usually).
func parseUseBackend(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 1, -1, "use_backend <backend> [{if | unless} <condition>]") {
		return
	}
	u := UseBackend{Pos: l.Pos, Name: l.Args[1]}
	if strings.Contains(u.Name, "%[") {
		f, err := b.comp.CompileFormat(u.Name, sample.PhaseReq|sample.PhaseContent)
		if err != nil {
			b.errorf(l, "'use_backend %s': %v.", u.Name, err)
			return
		}
		u.Dynamic = f
	}
	if len(l.Args) > 2 {
		c, warns, err := p.ACLs.ParseCond(b.comp, l.Args[2:], sample.PhaseReq|sample.PhaseContent, "frontend use_backend rule")
		if err != nil {
			b.errorf(l, "error detected while parsing switching rule : %v.", err)
			return
		}
		for _, w := range warns {
			b.warnf(l, "%s.", w)
		}
		u.Cond = c
	}
	p.UseBackends = append(p.UseBackends, u)
}
