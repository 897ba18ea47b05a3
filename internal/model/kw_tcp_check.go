package model

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"dhproxy/internal/config"
)

// "tcp-check connect|send|send-binary|expect|comment" and "http-check
// connect|send|expect|comment|disable-on-404": the rule lists that "option
// tcp-check" and "option httpchk" run. As in HAProxy, a section that writes
// no rule of its own uses its defaults section's, and the rules are
// numbered from 1 in the order written, comments included, which shows in
// the "at step N" of check failures.

// CheckAction is what a rule does.
type CheckAction uint8

const (
	ActConnect CheckAction = iota
	ActSend
	ActExpect
	ActComment
)

// CheckRule is one tcp-check or http-check line.
type CheckRule struct {
	Pos     config.Pos
	Action  CheckAction
	Index   int    // 0-based position among the section's rules
	Comment string // "comment <text>" of the rule, or of a preceding comment rule

	// connect [port N] [addr A] [send-proxy] [linger]
	Port      int
	Addr      string // host or host:port
	SendProxy bool
	Linger    bool

	// send / send-binary: the bytes; http-check send: the request parts.
	Data []byte
	HTTP *HTTPSend

	Expect *ExpectRule
}

// HTTPSend is "http-check send [meth M] [uri U] [ver V] [hdr N V]* [body S]";
// empty parts take HAProxy's defaults (OPTIONS, /, HTTP/1.0).
type HTTPSend struct {
	Meth, URI, Ver string
	Hdrs           [][2]string
	Body           string
	FromOption     bool // the request line of "option httpchk"
}

// ExpectRule is "expect [min-recv N] [!] <match> <pattern> [options]".
type ExpectRule struct {
	Match   string // string, rstring, binary, rbinary, status, rstatus
	Pattern string // as written
	Data    []byte // string and binary: the bytes to find
	Re      *regexp.Regexp
	Codes   [][2]int // status: inclusive ranges
	Inverse bool
	MinRecv int // -1: not set

	// ok-status, error-status, tout-status: "" keeps the default.
	OKStatus, ErrStatus, ToutStatus string
	// on-success / on-error: a fixed info text (log-format is not supported).
	OnSuccess, OnError string

	// hdr / fhdr: the header name and, optionally, value patterns.
	Hdr *HdrMatch
}

// HdrMatch is "hdr name [-m meth] <pattern> [value [-m meth] <pattern>]";
// with "fhdr" the value is matched whole instead of each comma-separated
// element. Methods are str (the default), beg, end, sub and reg; names
// compare without case.
type HdrMatch struct {
	Full                bool
	NameMeth, ValueMeth string
	Name, Value         string
	NameRe, ValueRe     *regexp.Regexp
	HasValue            bool
}

// parseExpectHdr reads what follows "hdr" or "fhdr" and returns how many
// arguments it used, with HAProxy's wording for mistakes.
func parseExpectHdr(e *ExpectRule, kw string, args []string) (int, string) {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	h := &HdrMatch{Full: kw == "fhdr", NameMeth: "str", ValueMeth: "str"}
	if arg(0) == "" || arg(1) == "" || (arg(0) != "name" && arg(0) != "name-lf") {
		return 0, fmt.Sprintf("'%s' expects at the name keyword as first argument followed by a pattern", kw)
	}
	if arg(0) == "name-lf" {
		return 0, fmt.Sprintf("'%s': 'name-lf' is not supported by dhproxy yet; write a fixed name", kw)
	}
	i := 1
	meth := func(into *string) string {
		if arg(i+1) == "" {
			return fmt.Sprintf("'%s' : '%s' expects at a matching pattern ('str', 'beg', 'end', 'sub' or 'reg')", kw, arg(i))
		}
		switch m := arg(i + 1); m {
		case "str", "beg", "end", "sub", "reg":
			*into = m
		default:
			return fmt.Sprintf("'%s' : '%s' only supports 'str', 'beg', 'end', 'sub' or 'reg' (got '%s')", kw, arg(i), m)
		}
		i += 2
		return ""
	}
	if arg(i) == "-m" {
		if msg := meth(&h.NameMeth); msg != "" {
			return 0, msg
		}
	}
	h.Name = arg(i)
	if arg(i+1) == "value" || arg(i+1) == "value-lf" {
		if arg(i+1) == "value-lf" {
			return 0, fmt.Sprintf("'%s': 'value-lf' is not supported by dhproxy yet; write a fixed value", kw)
		}
		i++
		if arg(i+1) == "-m" {
			i++
			if msg := meth(&h.ValueMeth); msg != "" {
				return 0, msg
			}
			i--
		}
		if arg(i+1) == "" {
			return 0, fmt.Sprintf("'%s' expect a pattern with the value keyword", kw)
		}
		h.Value, h.HasValue = arg(i+1), true
		i++
	}
	var err error
	if h.NameMeth == "reg" {
		if _, err = regexp.Compile(h.Name); err != nil {
			return 0, fmt.Sprintf("regex '%s' is invalid (error=%v)", h.Name, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		h.NameRe = regexp.MustCompile("(?i)" + h.Name) // names compare without case
	}
	if h.HasValue && h.ValueMeth == "reg" {
		if h.ValueRe, err = regexp.Compile(h.Value); err != nil {
			return 0, fmt.Sprintf("regex '%s' is invalid (error=%v)", h.Value, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
	}
	e.Hdr, e.Pattern = h, h.Name
	return i, ""
}

// CheckRules is a section's rule list. Owner tells whether a section wrote
// the rules itself or inherited them from its defaults section.
type CheckRules struct {
	Owner *Proxy
	Rules []CheckRule
}

func init() {
	registerProxy("tcp-check", CapBE|CapDef, parseTCPCheck)
}

// ownRules returns p's own rule list in *slot, replacing an inherited one.
func ownRules(p *Proxy, slot **CheckRules) *CheckRules {
	if *slot == nil || (*slot).Owner != p {
		*slot = &CheckRules{Owner: p}
	}
	return *slot
}

func parseTCPCheck(b *builder, p *Proxy, l config.Line) {
	if len(l.Args) < 2 {
		b.errorf(l, "'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got ''")
		return
	}
	rs := ownRules(p, &p.Check.TCPRules)
	r := CheckRule{Pos: l.Pos, Index: len(rs.Rules)}
	var err string
	switch l.Args[1] {
	case "connect":
		err = parseCheckConnect(b, rs.Rules, &r, l.Args[2:])
	case "send", "send-binary":
		err = parseCheckSend(&r, l.Args[1], l.Args[2:])
	case "expect":
		err = parseCheckExpect(&r, false, l.Args[2:])
	case "comment":
		err = parseCheckComment(&r, l.Args[2:])
	case "send-lf", "send-binary-lf", "set-var", "unset-var", "set-var-fmt":
		b.errorf(l, "'tcp-check %s' is not supported by dhproxy yet; write the data literally with 'send' or 'send-binary'.", l.Args[1])
		return
	default:
		b.errorf(l, "'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '%s'", l.Args[1])
		return
	}
	if err != "" {
		b.errorf(l, "'tcp-check %s' : %s.", l.Args[1], err)
		return
	}
	rs.Rules = append(rs.Rules, r)
}

func parseCheckComment(r *CheckRule, args []string) string {
	if len(args) == 0 || args[0] == "" {
		return "expects a string as argument"
	}
	r.Action, r.Comment = ActComment, args[0]
	return ""
}

// parseCheckConnect reads the connect options; before rules holds the rules
// already written, since a connect must come first when there is one.
func parseCheckConnect(b *builder, before []CheckRule, r *CheckRule, args []string) string {
	for _, o := range before {
		if o.Action == ActConnect {
			break
		}
		if o.Action == ActComment || (o.HTTP != nil && o.HTTP.FromOption) {
			continue
		}
		return "first step MUST also be a 'connect', optionally preceded by a 'set-var', an 'unset-var' or a 'comment', when there is a 'connect' step in the tcp-check ruleset"
	}
	r.Action = ActConnect
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := ""
		if i+1 < len(args) {
			next = args[i+1]
		}
		switch a {
		case "default":
		case "linger":
			r.Linger = true
		case "send-proxy":
			r.SendProxy = true
		case "addr":
			if next == "" {
				return "'addr' expects <ipv4|ipv6> as argument."
			}
			r.Addr = strings.TrimPrefix(strings.TrimPrefix(b.addr(next), "ipv4@"), "ipv6@")
			i++
		case "port":
			if next == "" {
				return "'port' expects a port number or a sample expression as argument."
			}
			n, err := strconv.Atoi(next)
			if err != nil || n < 1 || n > 65535 {
				return fmt.Sprintf("expects a valid TCP port (from range 1 to 65535) or a sample expression, got %s.", next)
			}
			r.Port = n
			i++
		case "comment":
			if next == "" {
				return "'comment' expects a string as argument."
			}
			r.Comment = next
			i++
		case "ssl", "sni", "alpn", "proto", "via-socks4":
			return fmt.Sprintf("'%s' is not supported by dhproxy yet", a)
		default:
			return fmt.Sprintf("expects 'comment', 'port', 'addr', 'send-proxy', 'ssl', 'sni', 'alpn' or 'via-socks4', 'linger', 'default' but got '%s' as argument.", a)
		}
	}
	return ""
}

func parseCheckSend(r *CheckRule, kind string, args []string) string {
	if len(args) == 0 || args[0] == "" {
		what := "string"
		if kind == "send-binary" {
			what = "binary string"
		}
		return fmt.Sprintf("'%s' expects a %s as argument", what, kind) // sic, as HAProxy words it
	}
	r.Action = ActSend
	if kind == "send-binary" {
		b, err := hex.DecodeString(args[0])
		if err != nil {
			return fmt.Sprintf("'%s' invalid binary string (%s)", args[0], hexError(args[0]))
		}
		r.Data = b
	} else {
		r.Data = []byte(args[0])
	}
	for i := 1; i < len(args); i++ {
		if args[i] != "comment" {
			return fmt.Sprintf("expects 'comment' but got '%s' as argument.", args[i])
		}
		if i+1 >= len(args) || args[i+1] == "" {
			return "'comment' expects a string as argument."
		}
		r.Comment = args[i+1]
		i++
	}
	return ""
}

// hexError words a bad hex string as HAProxy's parse_binary does.
func hexError(s string) string {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i])) {
			return fmt.Sprintf("an hex digit is expected (found '%c')", s[i])
		}
	}
	return "an even number of hex digit is expected"
}

// parseCheckExpect reads an expect rule of tcp-check (http false) or
// http-check (http true), with HAProxy's error wording.
func parseCheckExpect(r *CheckRule, http bool, args []string) string {
	if len(args) == 0 || args[0] == "" {
		return "expects at least a matching pattern as arguments"
	}
	e := &ExpectRule{MinRecv: -1}
	r.Action, r.Expect = ActExpect, e
	badKw := func(a string) string {
		if http {
			return fmt.Sprintf("'only supports min-recv, [!]string', '[!]rstring', '[!]string-lf', '[!]status', '[!]rstatus', [!]hdr, [!]fhdr or comment but got '%s' as argument.", a)
		}
		return fmt.Sprintf("'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf''[!]rbinary', '[!]binary-lf' or comment but got '%s' as argument.", a)
	}
	statusArg := func(a, v string, allowed ...string) (string, string) {
		for _, s := range allowed {
			if strings.EqualFold(v, s) {
				return s, ""
			}
		}
		q := make([]string, len(allowed))
		for i, s := range allowed {
			q[i] = "'" + s + "'"
		}
		list := strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
		return "", fmt.Sprintf("'%s' only supports %s status (got '%s').", a, list, v)
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := ""
		if i+1 < len(args) {
			next = args[i+1]
		}
		inPattern := false
		for strings.HasPrefix(a, "!") {
			inPattern = true
			e.Inverse = !e.Inverse
			a = a[1:]
			if a == "" {
				i++
				if i >= len(args) {
					return "pattern not found"
				}
				a = args[i]
				next = ""
				if i+1 < len(args) {
					next = args[i+1]
				}
			}
		}
		switch a {
		case "min-recv", "comment", "on-success", "on-error", "ok-status", "error-status", "tout-status", "status-code":
			if inPattern {
				return fmt.Sprintf("[!] not supported with '%s'", a)
			}
		}
		switch a {
		case "min-recv":
			if next == "" {
				return fmt.Sprintf("'%s' expects a integer as argument", a)
			}
			n := atol(next)
			if n < -1 || n > 1<<31-1 {
				return fmt.Sprintf("'%s' expects -1 or an integer from 0 to INT_MAX", a)
			}
			e.MinRecv = int(n)
			i++
		case "string", "rstring", "binary", "rbinary", "status", "rstatus":
			isHTTPOnly := a == "status" || a == "rstatus"
			isTCPOnly := a == "binary" || a == "rbinary"
			if (http && isTCPOnly) || (!http && isHTTPOnly) {
				return badKw(a)
			}
			if e.Match != "" {
				return "only on pattern expected"
			}
			if next == "" {
				return fmt.Sprintf("'%s' expects a <pattern> as argument", a)
			}
			e.Match, e.Pattern = a, next
			i++
		case "comment":
			if next == "" {
				return fmt.Sprintf("'%s' expects a string as argument", a)
			}
			r.Comment = next
			i++
		case "on-success", "on-error":
			if next == "" {
				return fmt.Sprintf("'%s' expects a string as argument", a)
			}
			if strings.Contains(next, "%[") || strings.Contains(next, "%{") {
				return fmt.Sprintf("'%s': log-format expressions are not supported by dhproxy yet; write a fixed text", a)
			}
			if a == "on-success" {
				e.OnSuccess = next
			} else {
				e.OnError = next
			}
			i++
		case "ok-status":
			if next == "" {
				return fmt.Sprintf("'%s' expects a string as argument", a)
			}
			s, msg := statusArg(a, next, "L4OK", "L6OK", "L7OK", "L7OKC")
			if msg != "" {
				return msg
			}
			e.OKStatus = s
			i++
		case "error-status":
			if next == "" {
				return fmt.Sprintf("'%s' expects a string as argument", a)
			}
			s, msg := statusArg(a, next, "L4CON", "L6RSP", "L7RSP", "L7STS")
			if msg != "" {
				return msg
			}
			e.ErrStatus = s
			i++
		case "tout-status":
			if next == "" {
				return fmt.Sprintf("'%s' expects a string as argument", a)
			}
			s, msg := statusArg(a, next, "L4TOUT", "L6TOUT", "L7TOUT")
			if msg != "" {
				return msg
			}
			e.ToutStatus = s
			i++
		case "hdr", "fhdr":
			if !http {
				return badKw(a)
			}
			if e.Match != "" {
				return "only on pattern expected"
			}
			n, msg := parseExpectHdr(e, a, args[i+1:])
			if msg != "" {
				return msg
			}
			e.Match = a
			i += 1 + n // the last argument it used
		case "string-lf", "binary-lf", "custom", "status-code":
			return fmt.Sprintf("'%s' is not supported by dhproxy yet", a)
		default:
			return badKw(a)
		}
	}
	switch e.Match {
	case "":
		return "pattern not found"
	case "string":
		e.Data = []byte(e.Pattern)
	case "binary":
		b, err := hex.DecodeString(e.Pattern)
		if err != nil {
			return fmt.Sprintf("invalid binary string (%s)", hexError(e.Pattern))
		}
		e.Data = b
	case "rstring", "rbinary", "rstatus":
		re, err := regexp.Compile(e.Pattern)
		if err != nil {
			return fmt.Sprintf("regex '%s' is invalid (error=%v)", e.Pattern, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		e.Re = re
	case "hdr", "fhdr":
		return "" // patterns compiled by parseExpectHdr
	case "status":
		codes, msg := parseStatusCodes(e.Pattern)
		if msg != "" {
			return msg
		}
		e.Codes = codes
	}
	return ""
}

// parseStatusCodes reads "200", "200-399", "200,302,400-404".
func parseStatusCodes(p string) ([][2]int, string) {
	var out [][2]int
	for _, part := range strings.Split(p, ",") {
		lo, hi, rng := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if rng {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil {
			bad := part
			for _, c := range part {
				if (c < '0' || c > '9') && c != '-' {
					return nil, fmt.Sprintf("invalid character '%c' in the list of status codes", c)
				}
			}
			return nil, fmt.Sprintf("invalid range of status codes '%s'", bad)
		}
		if a > b {
			return nil, fmt.Sprintf("invalid range of status codes '%s'", p)
		}
		out = append(out, [2]int{a, b})
	}
	return out, ""
}

// finishCheckRules applies what HAProxy does once a section is complete:
// comments move onto the rules that follow them.
func finishCheckRules(rs *CheckRules) []CheckRule {
	if rs == nil {
		return nil
	}
	out := make([]CheckRule, 0, len(rs.Rules))
	comment := ""
	prev := ActComment
	for _, r := range rs.Rules {
		if r.Action != prev && prev != ActComment {
			comment = ""
		}
		prev = r.Action
		switch r.Action {
		case ActComment:
			comment = r.Comment
			continue
		case ActConnect:
			if r.Comment == "" {
				r.Comment = comment
			}
			comment = ""
		default:
			if r.Comment == "" {
				r.Comment = comment
			}
		}
		out = append(out, r)
	}
	return out
}

// TCPCheckRules returns the rules "option tcp-check" runs, comments folded
// into the rules they describe.
func (c CheckOpts) TCPCheckRules() []CheckRule { return finishCheckRules(c.TCPRules) }

// HTTPCheckRules returns the "http-check" rules, comments folded in.
func (c CheckOpts) HTTPCheckRules() []CheckRule { return finishCheckRules(c.HTTPRules) }

// atol reads a leading integer as C's atol: "x" is 0, "12ab" is 12.
func atol(s string) int64 {
	neg := strings.HasPrefix(s, "-")
	if neg || strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	var n int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 1<<40; i++ {
		n = n*10 + int64(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}
