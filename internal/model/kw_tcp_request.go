package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/acl"
	"dhproxy/internal/config"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// tcp-request: "tcp-request connection|session accept|reject|track-sc*"
// rules, evaluated on each accepted connection with layer 4 fetches, and
// "tcp-request content" rules, which wait up to "tcp-request
// inspect-delay" for the client's first bytes while a condition cannot be
// decided yet (layer 6 fetches: req.len, req.payload, req.ssl_sni, ...).
// HAProxy's RDP idiom is one case of the latter:
//
//	tcp-request inspect-delay 5s
//	tcp-request content accept if RDP_COOKIE

// TCPRequest holds the tcp-request settings of a proxy.
type TCPRequest struct {
	InspectDelay time.Duration
	// Connection and Content are the rules of each phase, in order.
	Connection []TCPRule
	Session    []TCPRule
	Content    []TCPRule
}

// TCPRule is an accept, reject, track-sc*, set-var, counter or address
// rule.
type TCPRule struct {
	Pos    config.Pos
	Reject bool
	// Silent: a silent-drop (Reject too): the client is told nothing.
	Silent bool
	Track  *rules.Rule // track-sc*: the counter, key and table (Action TrackSC)
	SetVar *rules.Rule // set-var/unset-var: Action SetVar or UnsetVar, Var, Expr
	// Act is any other action: sc-inc-gpc0/1/(idx) and sc-set-gpt0/(idx)
	// (IncGPC0, IncGPC1, IncGPC, SetGPT0, SetGPT), set-src, set-dst and
	// their -port forms (SetSrc, SetDst, SetSrcPort, SetDstPort, Expr),
	// set-mark and set-tos (SetMark, SetTOS, Int).
	Act  *rules.Rule
	Cond *acl.Cond // nil: always
	// Close: a tcp-response "close" (the server's side ends; what came
	// is forwarded).
	Close bool
	// HTTP: a content rule compiled for mode http (run on each request,
	// with HTTP fetches), the section's mode when the line was read.
	HTTP bool

	// ExpectProxy: "tcp-request connection expect-proxy layer4", the
	// connection starts with a PROXY header (as accept-proxy).
	ExpectProxy bool
}

func init() {
	registerProxy("tcp-request", CapFE|CapBE|CapDef, parseTCPRequest)
}

func parseTCPRequest(b *builder, p *Proxy, l config.Line) {
	args := l.Args[1:]
	if len(args) == 2 && args[0] == "inspect-delay" {
		d, err := parseDuration(args[1])
		if err != nil {
			b.errorf(l, "'tcp-request inspect-delay': %v.", err)
			return
		}
		p.TCPRequest.InspectDelay = d
		return
	}
	if len(args) < 2 || (args[0] != "connection" && args[0] != "session" && args[0] != "content") {
		b.errorf(l, "'tcp-request' expects 'inspect-delay', 'connection', 'session' or 'content'.")
		return
	}
	act := args[1]
	expectProxy := args[0] == "connection" && act == "expect-proxy"
	if expectProxy && (len(args) < 3 || args[2] != "layer4") {
		b.errorf(l, "'tcp-request connection expect-proxy' expects 'layer4' (write 'tcp-request connection expect-proxy layer4 [if|unless <cond>]').")
		return
	}
	isVar := strings.HasPrefix(act, "set-var(") || strings.HasPrefix(act, "set-var-fmt(") || strings.HasPrefix(act, "unset-var(")
	isCounter := strings.HasPrefix(act, "sc-inc-gpc") || strings.HasPrefix(act, "sc-set-gpt")
	isAddr := act == "set-src" || act == "set-dst" || act == "set-src-port" || act == "set-dst-port"
	isSockOpt := act == "set-mark" || act == "set-tos"
	if act == "capture" && args[0] != "content" {
		what := ""
		if len(args) > 2 {
			what = " " + args[2]
		}
		b.errorf(l, "'capture%s' is not allowed in 'tcp-request %s' rules in %s '%s'.", what, args[0], sectionWord(p), p.Name)
		return
	}
	isCapture := act == "capture" && p.Mode == ModeHTTP
	isPrio := args[0] == "content" && (act == "set-priority-class" || act == "set-priority-offset")
	isNice := args[0] == "content" && act == "set-nice"
	if !isPrio && !isNice && (act == "set-priority-class" || act == "set-priority-offset" || act == "set-nice") {
		b.errorf(l, "'tcp-request %s %s' does not exist in haproxy 2.6; use it in 'tcp-request content'.", args[0], act)
		return
	}
	if act != "accept" && act != "reject" && act != "silent-drop" && !strings.HasPrefix(act, "track-sc") && !isVar && !isCounter && !isAddr && !isSockOpt && !expectProxy && !isCapture && !isPrio && !isNice {
		b.errorf(l, "'tcp-request %s' is not supported by dhproxy yet; 'tcp-request connection|session|content accept|reject|silent-drop|track-sc<N> <key> [table <t>]|sc-inc-gpc0(<N>)|sc-inc-gpc1(<N>)|sc-inc-gpc(<idx>,<N>)|sc-set-gpt0(<N>) <int>|sc-set-gpt(<idx>,<N>) <int>|set-var(<var>) <expr>|set-var-fmt(<var>) <fmt>|unset-var(<var>)|set-src|set-dst|set-src-port|set-dst-port <expr>|set-mark <mark>|set-tos <tos> [if|unless <cond>]', 'tcp-request content capture <expr> len <n>' (mode http), 'tcp-request connection expect-proxy layer4 [if|unless <cond>]' and 'tcp-request inspect-delay <time>' work for now.", strings.Join(args, " "))
		return
	}
	if refuseRulesInDefaults(b, p, l) {
		return
	}
	phase, list := sample.PhaseConn, &p.TCPRequest.Connection
	switch {
	case args[0] == "content" && p.Mode == ModeHTTP:
		// in mode http the rules see each request, complete
		phase, list = sample.PhaseConn|sample.PhaseReq, &p.TCPRequest.Content
	case args[0] == "content":
		phase, list = sample.PhaseConn|sample.PhaseContent, &p.TCPRequest.Content
	case !p.IsFrontend():
		b.errorf(l, "'tcp-request %s' is only allowed in a frontend or listen section.", args[0])
		return
	case args[0] == "session":
		list = &p.TCPRequest.Session
	}
	word := "tcp-request " + args[0] + " " + act
	silent := act == "silent-drop"
	r := TCPRule{Pos: l.Pos, Reject: act == "reject" || silent, Silent: silent, HTTP: args[0] == "content" && p.Mode == ModeHTTP}
	// end: where the action's words stop and its condition starts
	end := len(args)
	for i, w := range args {
		if w == "if" || w == "unless" {
			end = i
			break
		}
	}
	cond := args[2:]
	switch {
	case expectProxy:
		r.ExpectProxy, cond = true, args[3:]
	case strings.HasPrefix(act, "track-sc") || isCounter:
		// the same parser as the http-request forms
		t, err := rules.ParseTrack(b.comp, args[1:end], end < len(args), phase, "'"+word+"'")
		if err == nil && (t.Action == rules.SetGPT0 || t.Action == rules.SetGPT) && t.Expr != nil && args[0] == "connection" {
			// haproxy 2.6 fails on it with an internal error
			err = fmt.Errorf("'%s' takes an integer in connection rules, not an expression", word)
		}
		if err != nil {
			b.errorf(l, "%v.", err)
			return
		}
		if t.Action == rules.TrackSC {
			r.Track = t
		} else {
			r.Act = t
		}
		cond = args[end:]
	case isCapture:
		// as http-request capture ... len: a new slot of the frontend
		if !p.IsFrontend() {
			b.errorf(l, "'tcp-request content capture' : proxy '%s' has no frontend capability.", p.Name)
			return
		}
		n := 0
		if end == 5 && args[3] == "len" {
			n, _ = strconv.Atoi(args[4])
		}
		if n <= 0 {
			b.errorf(l, "'tcp-request content capture' : a positive 'len' argument is mandatory.")
			return
		}
		e, err := b.comp.Compile(args[2], phase)
		if err != nil {
			b.errorf(l, "'%s %s': %v.", word, args[2], err)
			return
		}
		r.Act, cond = &rules.Rule{Action: rules.Capture, Expr: e, Slot: len(p.ReqCaptures)}, args[end:]
		p.ReqCaptures = append(p.ReqCaptures, Capture{Len: n})
	case isSockOpt:
		if end != 3 {
			b.errorf(l, "'%s' expects exactly 1 argument (integer/hex value).", word)
			return
		}
		a := &rules.Rule{Action: rules.SetMark}
		if act == "set-tos" {
			a.Action = rules.SetTOS
		}
		var err error
		if a.Int, err = rules.ParseSockOptValue(act, args[2]); err != nil {
			b.errorf(l, "%v.", err)
			return
		}
		r.Act, cond = a, args[end:]
	case isPrio:
		if end != 3 {
			b.errorf(l, "'%s' expects <expr>.", word)
			return
		}
		a := &rules.Rule{Action: rules.PrioClass}
		if act == "set-priority-offset" {
			a.Action = rules.PrioOffset
		}
		var err error
		if a.Expr, err = b.comp.Compile(args[2], phase); err != nil {
			b.errorf(l, "'%s': %v.", word, err)
			return
		}
		r.Act, cond = a, args[end:]
	case isNice:
		if end != 3 {
			b.errorf(l, "'%s' expects <nice>.", word)
			return
		}
		a := &rules.Rule{Action: rules.SetNice}
		var err error
		if a.Int, err = rules.ParseNice(args[2], "'"+word+"'"); err != nil {
			b.errorf(l, "%v.", err)
			return
		}
		b.warnf(l, "%s.", rules.NiceWarning("'"+word+"'"))
		r.Act, cond = a, args[end:]
	case isAddr:
		if end != 3 {
			b.errorf(l, "'%s' expects <expr>.", word)
			return
		}
		a := &rules.Rule{Action: map[string]rules.Action{"set-src": rules.SetSrc, "set-dst": rules.SetDst, "set-src-port": rules.SetSrcPort, "set-dst-port": rules.SetDstPort}[act]}
		var err error
		if a.Expr, err = b.comp.Compile(args[2], phase); err != nil {
			b.errorf(l, "'%s': %v.", word, err)
			return
		}
		r.Act, cond = a, args[end:]
	case isVar:
		// connection and session rules run before any transaction, so
		// only sess and proc variables keep what they set there, as in
		// haproxy, which accepts the other scopes
		noRes := func(v sample.VarRef) error {
			if v.Scope == sample.ScopeRes && args[0] == "content" {
				return fmt.Errorf("the 'res' scope does not exist in tcp-request content rules")
			}
			return nil
		}
		v := b.tcpVarRule(l, word, act, args, end, phase, noRes, "here")
		if v == nil {
			return
		}
		r.SetVar, cond = v, args[end:]
	}
	if len(cond) > 0 {
		where := "frontend"
		if args[0] == "content" && !p.IsFrontend() {
			where = "backend"
		}
		c, warns, err := p.ACLs.ParseCond(b.comp, cond, phase, where+" tcp-request "+args[0]+" rule")
		if err != nil {
			b.errorf(l, "error detected while parsing a '%s' condition : %v.", word, err)
			return
		}
		for _, w := range warns {
			b.warnf(l, "%s.", w)
		}
		r.Cond = c
	}
	*list = append(*list, r)
}

// tcpVarRule parses "set-var(<var>) <expr>", "set-var-fmt(<var>) <fmt>"
// or "unset-var(<var>)" of a tcp-request or tcp-response rule (act is
// args[1], end the index of its condition); check refuses a scope the
// rule cannot set, and where names the %-variables' advice. Nil after
// an error it reported.
func (b *builder) tcpVarRule(l config.Line, word, act string, args []string, end int, phase sample.Phase, check func(sample.VarRef) error, where string) *rules.Rule {
	fmtVar := strings.HasPrefix(act, "set-var-fmt(")
	set := fmtVar || strings.HasPrefix(act, "set-var(")
	name := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(act, "set-var("), "set-var-fmt("), "unset-var(")
	if !strings.HasSuffix(name, ")") || (set && end != 3) || (!set && end != 2) {
		b.errorf(l, "'%s' expects 'set-var(<scope>.<name>) <expr>', 'set-var-fmt(<scope>.<name>) <fmt>' or 'unset-var(<scope>.<name>)'.", word)
		return nil
	}
	v := &rules.Rule{Action: rules.UnsetVar}
	var err error
	if v.Var, err = b.comp.ParseVar(strings.TrimSuffix(name, ")")); err == nil && check != nil {
		err = check(v.Var)
	}
	switch {
	case err == nil && fmtVar:
		// the variable gets the format's text (Value, no Expr)
		v.Action = rules.SetVar
		if v.Value, err = b.comp.CompileFormat(args[2], phase); err == nil && !v.Value.Usable(phase) {
			err = fmt.Errorf("log-format %%-variables need an HTTP transaction; use %%[<expr>] %s", where)
		}
	case err == nil && set:
		v.Action = rules.SetVar
		v.Expr, err = b.comp.Compile(args[2], phase)
	}
	if err != nil {
		b.errorf(l, "'%s': %v.", word, err)
		return nil
	}
	return v
}
