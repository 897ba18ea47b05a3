package model

import (
	"strings"
	"time"

	"dhproxy/internal/config"
	"dhproxy/internal/sample"
)

// tcp-response: "tcp-response inspect-delay" and "tcp-response content
// accept|reject|close|set-var|unset-var" rules of a backend, run on the
// server's first bytes (res.len, res.payload) while a condition cannot
// be decided yet, as the tcp-request content rules wait for the client's.

// TCPResponse holds the tcp-response settings of a backend.
type TCPResponse struct {
	InspectDelay time.Duration
	Content      []TCPRule
}

func init() {
	registerProxy("tcp-response", CapFE|CapBE|CapDef, parseTCPResponse)
}

func parseTCPResponse(b *builder, p *Proxy, l config.Line) {
	args := l.Args[1:]
	if len(args) == 0 || (args[0] != "inspect-delay" && args[0] != "content") {
		got := ""
		if len(args) > 0 {
			got = args[0]
		}
		b.errorf(l, "'tcp-response' expects 'inspect-delay' or 'content' in %s '%s' (got '%s').", sectionWord(p), p.Name, got)
		return
	}
	if !p.IsBackend() {
		b.errorf(l, "tcp-response %s is only allowed in 'backend' sections or 'defaults' section with a name.", args[0])
		return
	}
	if args[0] == "inspect-delay" {
		if len(args) != 2 {
			b.errorf(l, "'tcp-response inspect-delay' expects a time.")
			return
		}
		d, err := parseDuration(args[1])
		if err != nil {
			b.errorf(l, "'tcp-response inspect-delay': %v.", err)
			return
		}
		p.TCPResponse.InspectDelay = d
		return
	}
	if len(args) < 2 {
		b.errorf(l, "'tcp-response content' expects 'accept', 'close', 'reject', 'set-var(*)', 'set-var-fmt(*)' or 'unset-var(*)'.")
		return
	}
	act := args[1]
	isVar := strings.HasPrefix(act, "set-var(") || strings.HasPrefix(act, "set-var-fmt(") || strings.HasPrefix(act, "unset-var(")
	if act != "accept" && act != "reject" && act != "close" && act != "silent-drop" && !isVar {
		b.errorf(l, "'tcp-response content %s' is not supported by dhproxy yet; 'accept', 'reject', 'close', 'silent-drop', 'set-var(<var>) <expr>', 'set-var-fmt(<var>) <fmt>' and 'unset-var(<var>)' [if|unless <cond>] work for now.", act)
		return
	}
	if refuseRulesInDefaults(b, p, l) {
		return
	}
	// In mode http too: haproxy 2.6 runs them before the HTTP response
	// is parsed (HTTP fetches never match there, with haproxy's warning).
	const phase = sample.PhaseConn | sample.PhaseResContent
	word := "tcp-response content " + act
	silent := act == "silent-drop" // a reject the client is not told of
	r := TCPRule{Pos: l.Pos, Reject: act == "reject" || silent, Silent: silent, Close: act == "close", HTTP: p.Mode == ModeHTTP}
	end := len(args)
	for i, w := range args {
		if w == "if" || w == "unless" {
			end = i
			break
		}
	}
	cond := args[2:]
	if isVar {
		v := b.tcpVarRule(l, word, act, args, end, phase, nil, "in mode tcp")
		if v == nil {
			return
		}
		r.SetVar, cond = v, args[end:]
	}
	if len(cond) > 0 {
		c, warns, err := p.ACLs.ParseCond(b.comp, cond, phase, "backend tcp-response content rule")
		if err != nil {
			b.errorf(l, "error detected while parsing a '%s' condition : %v.", word, err)
			return
		}
		for _, w := range warns {
			b.warnf(l, "%s.", w)
		}
		r.Cond = c
	}
	p.TCPResponse.Content = append(p.TCPResponse.Content, r)
}
