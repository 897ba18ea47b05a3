package sample

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"time"

	regexp2 "github.com/dlclark/regexp2/v2"
)

// RegexTimeout bounds one match of a pattern that runs on the backtracking
// engine: a pathological pattern ((a+)+$ on a long header) would otherwise
// hold a CPU for minutes. A match that runs out of time counts as no match.
// 50 ms (plus the clock's 10 ms granularity) keeps even a 100 KB header
// from costing a client more than a fraction of a second.
const RegexTimeout = 50 * time.Millisecond

func init() {
	// regexp2 checks deadlines against a clock that ticks every 100 ms by
	// default, which would triple the bound above.
	regexp2.SetTimeoutCheckPeriod(10 * time.Millisecond)
}

// Regex is a regular expression from the configuration. Go's RE2 (linear
// time) runs it when it can; a pattern RE2 refuses (back-references,
// look-around, atomic groups, possessive quantifiers) runs on regexp2, a
// PCRE-like backtracking engine, bounded by RegexTimeout.
type Regex struct {
	re2 *regexp.Regexp
	bt  *regexp2.Regexp
	// Fallback says why RE2 refused the pattern, "" when RE2 runs it.
	Fallback string
	src      string
}

// CompileRegex compiles pat, case-insensitively with icase. Every regex of
// the rule language (ACL -m reg, regsub, map_reg, replace-* actions) is
// compiled here, so that all take the same fallback. Without capture,
// unnamed groups capture nothing, as in HAProxy's ACL and map patterns
// (a back-reference to one is an error there). When pat falls back, the
// compiler records a notice saying so, for -c to print.
func (c *Compiler) CompileRegex(pat string, icase, capture bool) (*Regex, error) {
	r, err := CompileRegex(pat, icase, capture)
	if err != nil {
		return nil, err
	}
	if r.Fallback != "" {
		c.Notices = append(c.Notices, fmt.Sprintf("regex '%s' runs on the backtracking engine (RE2 refuses it: %s); a match taking over %v counts as no match.", pat, r.Fallback, RegexTimeout))
	}
	return r, nil
}

// CompileRegex is Compiler.CompileRegex without the notice.
func CompileRegex(pat string, icase, capture bool) (*Regex, error) {
	expr := pat
	if icase {
		expr = "(?i)" + pat
	}
	re, err := regexp.Compile(expr)
	if err == nil {
		return &Regex{re2: re, src: pat}, nil
	}
	opts := regexp2.RE2 // Go's meaning of \w, \d, \s (ASCII), as PCRE without UTF
	if icase {
		opts |= regexp2.IgnoreCase
	}
	if !capture {
		opts |= regexp2.ExplicitCapture
	}
	bt, err2 := regexp2.Compile(pat, opts)
	if err2 != nil {
		hint := ""
		if !capture {
			hint = " (here, as in HAProxy, only named groups capture: write (?<name>...) and \\k<name>)"
		}
		return nil, fmt.Errorf("regex '%s' is invalid: %v%s", pat, err2, hint)
	}
	bt.MatchTimeout = RegexTimeout
	return &Regex{bt: bt, Fallback: reasonOf(err), src: pat}, nil
}

// reasonOf keeps what RE2's error says about the pattern, without the
// "error parsing regexp: " prefix.
func reasonOf(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("%s `%s`", se.Code, se.Expr)
	}
	return err.Error()
}

// String returns the pattern as written.
func (r *Regex) String() string { return r.src }

// Match tells whether b contains a match.
func (r *Regex) Match(b []byte) bool {
	if r.re2 != nil {
		return r.re2.Match(b)
	}
	ok, err := r.bt.MatchString(string(b))
	return ok && err == nil
}

// FindSubmatchIndex returns the byte offsets of the leftmost match and its
// groups, as regexp's method of that name; nil without a match (or when
// the backtracking engine ran out of time).
func (r *Regex) FindSubmatchIndex(b []byte) []int {
	if r.re2 != nil {
		return r.re2.FindSubmatchIndex(b)
	}
	m, err := r.bt.FindStringMatch(string(b))
	if err != nil || m == nil {
		return nil
	}
	return matchIndex(m)
}

// FindAllSubmatchIndex returns the offsets of every successive match, as
// regexp's method of that name: later matches see the text before them
// (a '^' matches only at the start, a look-behind sees what precedes).
// The backtracking engine stops at its first match running out of time.
func (r *Regex) FindAllSubmatchIndex(b []byte) [][]int {
	if r.re2 != nil {
		return r.re2.FindAllSubmatchIndex(b, -1)
	}
	var all [][]int
	m, err := r.bt.FindStringMatch(string(b))
	for err == nil && m != nil {
		all = append(all, matchIndex(m))
		m, err = r.bt.FindNextMatch(m)
	}
	return all
}

// matchIndex converts a regexp2 match to byte offsets.
func matchIndex(m *regexp2.Match) []int {
	groups := m.Groups()
	idx := make([]int, 2*len(groups))
	for i := range groups {
		if len(groups[i].Captures) == 0 {
			idx[2*i], idx[2*i+1] = -1, -1
			continue
		}
		start, n := groups[i].ByteRange()
		idx[2*i], idx[2*i+1] = start, start+n
	}
	return idx
}
