package model

import (
	"fmt"
	"strings"

	"dhproxy/internal/config"
)

// "http-check send|expect|connect|comment", "http-check disable-on-404" and
// "http-check send-state". Several send/expect sequences are allowed, each
// after the first starting with "http-check connect", as in HAProxy 2.2+.
// "option httpchk [<meth>] [<uri>] [<ver>]" gives the first request's
// defaults; an "http-check send" overrides the parts it sets. A ruleset
// ending with a send gets the implicit "expect status 200-399".

func init() {
	registerProxy("http-check", CapBE|CapDef, parseHTTPCheck)
}

func parseHTTPCheck(b *builder, p *Proxy, l config.Line) {
	if len(l.Args) < 2 {
		b.errorf(l, "'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect', 'send', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got ''")
		return
	}
	switch l.Args[1] {
	case "disable-on-404", "send-state":
		if len(l.Args) > 2 {
			b.errorf(l, "'http-check' cannot handle unexpected argument '%s'.", l.Args[2])
			return
		}
		if l.Args[1] == "disable-on-404" {
			p.Check.DisableOn404 = true
		} else {
			p.Check.SendState = true
		}
		return
	}
	rs := ownRules(p, &p.Check.HTTPRules)
	r := CheckRule{Pos: l.Pos, Index: len(rs.Rules)}
	var err string
	switch l.Args[1] {
	case "connect":
		err = parseCheckConnect(b, rs.Rules, &r, l.Args[2:])
	case "send":
		err = parseHTTPSend(&r, l.Args[2:])
	case "expect":
		err = parseCheckExpect(&r, true, l.Args[2:])
	case "comment":
		err = parseCheckComment(&r, l.Args[2:])
	case "set-var", "unset-var", "set-var-fmt":
		b.errorf(l, "'http-check %s' is not supported by dhproxy yet.", l.Args[1])
		return
	default:
		b.errorf(l, "'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect', 'send', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '%s'", l.Args[1])
		return
	}
	if err == "" {
		err = httpRuleOrder(rs.Rules, r)
	}
	if err != "" {
		b.errorf(l, "'http-check %s' : %s.", l.Args[1], err)
		return
	}
	rs.Rules = append(rs.Rules, r)
}

// httpRuleOrder enforces HAProxy's sequence rules: a send follows a
// connect (or starts the ruleset), an expect follows a send or an expect, a
// connect follows an expect.
func httpRuleOrder(rules []CheckRule, r CheckRule) string {
	var last *CheckRule
	for i := len(rules) - 1; i >= 0; i-- {
		if rules[i].Action != ActComment {
			last = &rules[i]
			break
		}
	}
	if last == nil {
		return ""
	}
	step := r.Index + 1
	switch {
	case r.Action == ActSend && last.Action != ActConnect:
		return fmt.Sprintf("unable to add http-check send rule at step %d (missing connect rule).", step)
	case r.Action == ActExpect && last.Action != ActSend && last.Action != ActExpect:
		return fmt.Sprintf("unable to add http-check expect rule at step %d (missing send rule).", step)
	case r.Action == ActConnect && last.Action != ActExpect:
		return fmt.Sprintf("unable to add http-check connect rule at step %d (missing expect rule).", step)
	}
	return ""
}

func parseHTTPSend(r *CheckRule, args []string) string {
	r.Action = ActSend
	h := &HTTPSend{}
	r.HTTP = h
	hasHost := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := ""
		if i+1 < len(args) {
			next = args[i+1]
		}
		switch a {
		case "meth", "uri", "ver", "body", "comment":
			if next == "" {
				return fmt.Sprintf("'%s' expects a string as argument.", a)
			}
			switch a {
			case "meth":
				h.Meth = next
			case "uri":
				h.URI = next
			case "ver":
				h.Ver = next
			case "body":
				h.Body = next
			case "comment":
				r.Comment = next
			}
			i++
		case "hdr":
			if next == "" || i+2 >= len(args) || args[i+2] == "" {
				return fmt.Sprintf("'%s' expects <name> and <value> as arguments", a)
			}
			name, val := next, args[i+2]
			i += 2
			switch strings.ToLower(name) {
			case "host":
				if hasHost != "" {
					return fmt.Sprintf("'%s' header already defined (previous value is '%s')", name, hasHost)
				}
				hasHost = val
			case "content-length", "transfer-encoding":
				continue // computed from the body, as in HAProxy
			}
			h.Hdrs = append(h.Hdrs, [2]string{name, val})
		case "uri-lf", "body-lf":
			return fmt.Sprintf("'%s' is not supported by dhproxy yet; write a fixed value with '%s'", a, strings.TrimSuffix(a, "-lf"))
		default:
			return fmt.Sprintf("expects 'comment', 'meth', 'uri', 'uri-lf', 'ver', 'hdr', 'body' or 'body-lf' but got '%s' as argument.", a)
		}
	}
	return ""
}

// warnUnusedCheckRules is HAProxy's warning for a section that writes
// tcp-check or http-check rules but does not run that kind of check.
func warnUnusedCheckRules(b *builder, p *Proxy) {
	word := "backend"
	if p.IsFrontend() {
		word = "proxy"
	}
	c := &p.Check
	if c.HTTPRules != nil && c.HTTPRules.Owner == p && len(c.HTTPRules.Rules) > 0 && c.Kind != "httpchk" {
		b.d.Warnf(p.Pos, "%s '%s' uses http-check rules without 'option httpchk', so the rules are ignored.", word, p.Name)
	}
	if c.TCPRules != nil && c.TCPRules.Owner == p && len(c.TCPRules.Rules) > 0 && c.Kind != "tcp-check" {
		b.d.Warnf(p.Pos, "%s '%s' uses tcp-check rules without 'option tcp-check', so the rules are ignored.", word, p.Name)
	}
}
