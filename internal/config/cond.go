package config

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// The facts .if conditions are evaluated against. They are variables so
// the binary can report them (-vv) and adjust them (e.g. Enabled after
// -dS or "nosplice").
var (
	// CompatVersion is the HAProxy version whose configuration language
	// dhproxy speaks; version_atleast() and version_before() compare to it.
	CompatVersion = "3.0.0"

	// Features are the build features feature() reports as present.
	Features = []string{"LINUX_SPLICE", "GETADDRINFO", "THREAD"}

	// Enabled answers enabled(); names HAProxy knows but dhproxy lacks
	// (POLL, KQUEUE, EVPORTS, SERVER-SSL-VERIFY-NONE) and unknown names
	// are false, as in HAProxy.
	Enabled = map[string]bool{
		"EPOLL":        true,
		"SPLICE":       true,
		"GETADDRINFO":  true,
		"REUSEPORT":    true,
		"FAST-FORWARD": true,
	}
)

// maxCfgRecursion bounds the condition parser's depth (HAProxy's
// MAX_CFG_RECURSION); every operator and parenthesis costs a level.
const maxCfgRecursion = 1024

type predicate struct {
	name  string
	nargs int // all arguments are mandatory strings
	eval  func(args []string, env Env) bool
}

// predicates are HAProxy 3.x's, in its order. dhproxy has no TLS library:
// the OpenSSL version tests answer as if the library were infinitely old.
var predicates = []predicate{
	{"defined", 1, func(a []string, env Env) bool { _, ok := env(a[0]); return ok }},
	{"feature", 1, func(a []string, _ Env) bool { return a[0] != "" && slices.Contains(Features, a[0]) }},
	{"streq", 2, func(a []string, _ Env) bool { return a[0] == a[1] }},
	{"strneq", 2, func(a []string, _ Env) bool { return a[0] != a[1] }},
	{"strstr", 2, func(a []string, _ Env) bool { return strings.Contains(a[0], a[1]) }},
	{"version_atleast", 1, func(a []string, _ Env) bool { return compareVersion(CompatVersion, a[0]) <= 0 }},
	{"version_before", 1, func(a []string, _ Env) bool { return compareVersion(CompatVersion, a[0]) > 0 }},
	{"openssl_version_atleast", 1, func([]string, Env) bool { return false }},
	{"openssl_version_before", 1, func([]string, Env) bool { return true }},
	{"ssllib_name_startswith", 1, func([]string, Env) bool { return false }},
	{"enabled", 1, func(a []string, _ Env) bool { return Enabled[a[0]] }},
}

// Predicates lists the predicate names .if understands.
func Predicates() []string {
	names := make([]string, len(predicates))
	for i, p := range predicates {
		names[i] = p.name
	}
	return names
}

// CondError is a condition HAProxy cannot parse. Off is the byte offset of
// the problem in the condition text (the words joined by single blanks).
type CondError struct {
	Msg string
	Off int
}

func (e *CondError) Error() string { return e.Msg }

// EvalCond evaluates the words of a .if/.elif condition. Like HAProxy it
// joins them with single blanks and parses the resulting text, so "&&",
// "||", "!" and parentheses need no surrounding blanks, and blanks (spaces
// and tabs) are allowed around them. Precedence: "!" binds tightest, then
// "&&", then "||"; evaluation short-circuits left to right. A term is a
// number (C strtol syntax, non-zero is true, so "0x10" and "-1" are true),
// a parenthesised expression, or a predicate whose comma-separated
// arguments are taken verbatim (blanks included) except that quotes group
// and a backslash escapes. An empty condition is false.
func EvalCond(words []string, env Env) (bool, error) {
	// HAProxy rebuilds the text by turning every NUL of its word buffer
	// into a blank, including NULs that came from "\x00".
	text := strings.ReplaceAll(strings.Join(words, " "), "\x00", " ")
	if text == "" {
		return false, nil
	}
	p := &condParser{s: text}
	e, next, ret, err := p.expr(0, maxCfgRecursion)
	if ret < 0 {
		return false, err
	}
	if ret == 0 {
		return false, &CondError{fmt.Sprintf("unparsable conditional expression '%s'", text), next}
	}
	next = p.skipBlanks(next)
	if next < len(text) {
		return false, &CondError{fmt.Sprintf("unexpected character '%c' at the end of conditional expression '%s'", text[next], text), next}
	}
	return e.eval(env.orDefault()), nil
}

// condOr is a list of alternatives, condAnd a list of conjuncts.
type (
	condOr   []condAnd
	condAnd  []*condTerm
	condTerm struct {
		neg  bool
		val  bool   // for numbers
		sub  condOr // for parentheses
		pred *predicate
		args []string
	}
)

func (o condOr) eval(env Env) bool {
	for _, a := range o {
		if a.eval(env) {
			return true
		}
	}
	return false
}

func (a condAnd) eval(env Env) bool {
	for _, t := range a {
		if !t.eval(env) {
			return false
		}
	}
	return true
}

func (t *condTerm) eval(env Env) bool {
	var v bool
	switch {
	case t.pred != nil:
		v = t.pred.eval(t.args, env)
	case t.sub != nil:
		v = t.sub.eval(env)
	default:
		v = t.val
	}
	return v != t.neg
}

// condParser follows cfgcond.c's recursive descent closely, down to which
// text each error message quotes, because users grep for those messages.
// Each step returns ret -1 (error), 0 (nothing to parse) or 1 (parsed),
// and the position where parsing should resume.
type condParser struct {
	s string
}

func (p *condParser) skipBlanks(i int) int {
	for i < len(p.s) && (p.s[i] == ' ' || p.s[i] == '\t') {
		i++
	}
	return i
}

func (p *condParser) fail(msg string, args ...any) func(off int) *CondError {
	return func(off int) *CondError { return &CondError{fmt.Sprintf(msg, args...), off} }
}

// expr parses AND-expressions separated by "||".
func (p *condParser) expr(pos, depth int) (condOr, int, int, error) {
	if pos >= len(p.s) {
		return nil, pos, 0, nil
	}
	if depth <= 0 {
		return nil, pos, -1, p.fail("unparsable conditional expression '%s'", p.s[pos:])(pos)
	}
	left, in, ret, err := p.and(pos, depth-1)
	if ret < 0 {
		return nil, pos, -1, err
	}
	if ret == 0 {
		return nil, pos, -1, p.fail("unparsable conditional expression '%s'", p.s[in:])(in)
	}
	out := condOr{left}
	if !strings.HasPrefix(p.s[in:], "||") {
		return out, in, 1, nil
	}
	right, rin, ret, err := p.expr(p.skipBlanks(in+2), depth-1)
	if ret <= 0 {
		// On 0 the caller reports the text from the "||" on.
		return nil, in, ret, err
	}
	return append(out, right...), rin, 1, nil
}

// and parses terms separated by "&&". Its second result is where the
// caller resumes, set past the first term even when ret is 0.
func (p *condParser) and(pos, depth int) (condAnd, int, int, error) {
	if pos >= len(p.s) {
		return nil, pos, 0, nil
	}
	if depth <= 0 {
		return nil, pos, -1, p.fail("unparsable conditional sub-expression '%s'", p.s[pos:])(pos)
	}
	t, in, ret, err := p.term(pos, depth-1)
	if ret < 0 {
		return nil, pos, -1, err
	}
	if ret == 0 {
		return nil, pos, -1, p.fail("unparsable conditional sub-expression '%s'", p.s[pos:])(pos)
	}
	in = p.skipBlanks(in)
	out := condAnd{t}
	if !strings.HasPrefix(p.s[in:], "&&") {
		return out, in, 1, nil
	}
	right, rin, ret, err := p.and(p.skipBlanks(in+2), depth-1)
	if ret <= 0 {
		return nil, in, ret, err
	}
	return append(out, right...), rin, 1, nil
}

// term parses [!]* followed by a number, "(expr)" or a predicate.
func (p *condParser) term(pos, depth int) (*condTerm, int, int, error) {
	in := p.skipBlanks(pos)
	if in >= len(p.s) {
		return nil, pos, 0, nil
	}
	unparsable := p.fail("unparsable conditional expression '%s'", p.s[pos:])
	if depth <= 0 {
		return nil, pos, -1, unparsable(pos)
	}
	t := &condTerm{}
	for in < len(p.s) && p.s[in] == '!' {
		t.neg = !t.neg
		in = p.skipBlanks(in + 1)
	}
	if nonZero, end, ok := strtol(p.s, in); ok {
		t.val = nonZero
		return t, end, 1, nil
	}
	if in < len(p.s) && p.s[in] == '(' {
		sub, next, ret, err := p.expr(p.skipBlanks(in+1), depth-1)
		if ret < 0 {
			return nil, pos, -1, err
		}
		if ret == 0 {
			return nil, pos, -1, unparsable(pos)
		}
		next = p.skipBlanks(next)
		if next >= len(p.s) || p.s[next] != ')' {
			return nil, pos, -1, p.fail("expected ')' after conditional expression '%s'", p.s[pos:])(pos)
		}
		t.sub = sub
		return t, p.skipBlanks(next + 1), 1, nil
	}
	word := p.s[in:]
	if n := strings.IndexAny(word, " ("); n >= 0 {
		word = word[:n]
	}
	for i := range predicates {
		if predicates[i].name != word {
			continue
		}
		t.pred = &predicates[i]
		args, end, errArg, msg := predArgs(p.s, in+len(word), t.pred.nargs)
		if msg != "" {
			return nil, pos, -1, &CondError{fmt.Sprintf("%s in argument %d of predicate '%s' used in conditional expression", msg, errArg, word), end}
		}
		t.args = args
		return t, end, 1, nil
	}
	err := unparsable(pos)
	if word != "" && strings.HasPrefix(p.s[in+len(word):], "(") {
		// HAProxy stops at "unparsable"; naming the known predicates
		// saves a trip to the manual.
		err.Msg += fmt.Sprintf(" (unknown predicate '%s'; known: %s)", word, strings.Join(Predicates(), ", "))
	}
	return nil, pos, -1, err
}

// predArgs parses a predicate's "(a,b)" argument list starting at in, the
// way HAProxy's make_arg_list() does for string arguments: with no '(' the
// list is one empty argument; inside it, quotes group (and are removed),
// a backslash escapes a backslash, a blank or a quote and encodes \r \n
// \t, anything else (blanks included) is kept. On error msg is set and
// errArg is the argument number HAProxy reports.
func predArgs(s string, in, n int) (args []string, end, errArg int, msg string) {
	empty := in >= len(s) || s[in] != '('
	if !empty {
		in++
	}
	for len(args) < n {
		var b []byte
		squote, dquote := false, false
		for !empty && in < len(s) {
			c := s[in]
			if c == '"' && !squote {
				dquote = !dquote
				in++
				continue
			}
			if c == '\'' && !dquote {
				squote = !squote
				in++
				continue
			}
			if c == '\\' && !squote {
				if in+1 >= len(s) {
					return nil, in, len(args), fmt.Sprintf("failed to parse '%s' after '%s' as type 'string' at position %d", s[in:], b, len(args)+1)
				}
				switch e := s[in+1]; e {
				case '\\', ' ', '"', '\'':
					b = append(b, e)
					in++
				case 'r':
					b = append(b, '\r')
					in++
				case 'n':
					b = append(b, '\n')
					in++
				case 't':
					b = append(b, '\t')
					in++
				default:
					b = append(b, '\\')
				}
				in++
				continue
			}
			if !squote && !dquote && (c == ',' || c == ')') {
				break
			}
			b = append(b, c)
			in++
		}
		args = append(args, string(b))
		if empty || in >= len(s) || s[in] == ')' || len(args) >= n {
			break
		}
		in++ // the comma
	}
	if len(args) < n {
		return nil, in, len(args), fmt.Sprintf("missing arguments (got %d/%d), type 'string' expected", len(args), n)
	}
	switch {
	case empty:
	case in < len(s) && s[in] == ')':
		in++
	default:
		msg = "expected ')'"
		if in < len(s) {
			msg = fmt.Sprintf("expected ')' before '%s'", s[in:])
		}
		pos := len(args)
		if pos > 1 {
			pos--
		}
		return nil, in, pos, msg
	}
	return args, in, len(args), ""
}

// strtol reports whether C's strtol(s+i, &end, 0) converts anything, and
// whether the value is non-zero (overflow saturates, so any non-zero digit
// means non-zero).
func strtol(s string, i int) (nonZero bool, end int, ok bool) {
	j := i
	for j < len(s) && isSpace(s[j]) {
		j++
	}
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	base := 10
	if j < len(s) && s[j] == '0' {
		base = 8
		// "0x" is a prefix only when a hex digit follows; otherwise the
		// "0" alone is converted and "x" is left over.
		if j+2 < len(s) && s[j+1]|0x20 == 'x' {
			if _, ok := hexVal(s[j+2]); ok {
				base = 16
				j += 2
			}
		}
	}
	start := j
	for j < len(s) {
		d, ok := hexVal(s[j])
		if !ok || int(d) >= base {
			break
		}
		if d != 0 {
			nonZero = true
		}
		j++
	}
	if j == start {
		return false, i, false
	}
	return nonZero, j, true
}

// versionElts is HAProxy's VERSION_MAX_ELTS.
const versionElts = 7

// splitVersion decodes <a>[.<b>[.<c>[.<d>]]][-{dev,pre,rc}<f>][-*][-<g>]
// like HAProxy's split_version(): tag "dev" is 1, "pre"/"rc" are 2, a
// release is 3, so 3.0-dev1 < 3.0-rc1 < 3.0.
func splitVersion(v string) ([versionElts]uint32, bool) {
	var val [versionElts]uint32
	val[4] = 3
	if v == "" {
		return val, false
	}
	at := func(i int) byte {
		if i < len(v) {
			return v[i]
		}
		return 0
	}
	p := 0
	for k := 0; k < 4; k++ {
		n, end := strtol10(v, p)
		val[k] = n
		p = end + 1
		switch c := at(end); {
		case c == 0:
			return val, true
		case c == '-':
			return splitVersionTag(v, p, val)
		case c != '.' || k == 3:
			return val, false
		}
	}
	return val, false
}

func splitVersionTag(v string, p int, val [versionElts]uint32) ([versionElts]uint32, bool) {
	if p < len(v) && isDigit(v[p]) {
		return splitVersionCommit(v, p, val)
	}
	rest := v[min(p, len(v)):]
	switch {
	case strings.HasPrefix(rest, "dev"):
		val[4], p = 1, p+3
	case strings.HasPrefix(rest, "rc"):
		val[4], p = 2, p+2
	case strings.HasPrefix(rest, "pre"):
		val[4], p = 2, p+3
	default:
		return splitVersionCommit(v, p, val)
	}
	n, end := strtol10(v, p)
	val[5] = n
	if end >= len(v) {
		return val, true
	}
	if v[end] != '-' {
		return val, false
	}
	return splitVersionCommit(v, end+1, val)
}

func splitVersionCommit(v string, p int, val [versionElts]uint32) ([versionElts]uint32, bool) {
	rest := v[min(p, len(v)):]
	if k := strings.LastIndexByte(rest, '-'); k >= 0 {
		rest = rest[k+1:]
		if rest == "" {
			return val, false
		}
	}
	if n, end := strtol10(rest, 0); end == len(rest) {
		val[6] = n
	}
	return val, true
}

// strtol10 is strtol(s+i, &end, 10) truncated to C's unsigned int, as
// split_version stores it.
func strtol10(s string, i int) (uint32, int) {
	j := i
	for j < len(s) && isSpace(s[j]) {
		j++
	}
	neg := false
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		neg = s[j] == '-'
		j++
	}
	start := j
	var n int64
	for j < len(s) && isDigit(s[j]) {
		if n <= (math.MaxInt64-9)/10 {
			n = n*10 + int64(s[j]-'0')
		} else {
			n = math.MaxInt64
		}
		j++
	}
	if j == start {
		return 0, i
	}
	if neg {
		n = -n
	}
	return uint32(n), j
}

// compareVersion is HAProxy's compare_current_version(): -1 if v is older
// than cur, 0 if equal, 1 if newer, -2 if cur does not parse and -3 if v
// does not parse. Note that the error codes make version_atleast() true.
func compareVersion(cur, v string) int {
	loc, ok := splitVersion(cur)
	if !ok {
		return -2
	}
	mod, ok := splitVersion(v)
	if !ok {
		return -3
	}
	for i := range loc {
		if mod[i] < loc[i] {
			return -1
		}
		if mod[i] > loc[i] {
			return 1
		}
	}
	return 0
}
