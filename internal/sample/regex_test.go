package sample

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRegexFallback(t *testing.T) {
	for _, c := range []struct {
		pat      string
		icase    bool
		fallback bool
		subject  string
		want     []int // FindSubmatchIndex
	}{
		{`^/(a+)/`, false, false, "/aa/x", []int{0, 4, 1, 3}},
		{`(\w+)-\1`, false, true, "x ab-ab y", []int{2, 7, 2, 4}},                 // back-reference
		{`^/api(?!/internal)`, false, true, "/api/internal", nil},                 // negative look-ahead
		{`^/api(?!/internal)`, false, true, "/api/v1", []int{0, 4}},               // negative look-ahead
		{`(?<=k=)\d+`, false, true, "k=42", []int{2, 4}},                          // look-behind
		{`^(?>a+)b`, false, true, "aaab", []int{0, 4}},                            // atomic group
		{`^a++b`, false, true, "aab", []int{0, 3}},                                // possessive quantifier
		{`(é)\1(x)?`, false, true, "aééb", []int{1, 5, 1, 3, -1, -1}},             // offsets in bytes
		{`(?=.*ADMIN)`, true, true, "is admin", []int{0, 0}},                      // -i applies
		{`\d\w`, false, false, "ab1c", []int{2, 4}},                               // RE2 stays RE2
		{`^(?=x)\w\s`, false, true, "xé ", nil},                                   // \w is ASCII as in PCRE without UTF
		{`(a)\1`, false, true, string([]byte{0xff, 'a', 'a'}), []int{1, 3, 1, 2}}, // invalid UTF-8 keeps byte offsets
	} {
		var comp Compiler
		re, err := comp.CompileRegex(c.pat, c.icase, true)
		if err != nil {
			t.Errorf("%s: %v", c.pat, err)
			continue
		}
		if (re.Fallback != "") != c.fallback {
			t.Errorf("%s: fallback %q, want %v", c.pat, re.Fallback, c.fallback)
		}
		if len(comp.Notices) != map[bool]int{true: 1}[c.fallback] {
			t.Errorf("%s: notices %q", c.pat, comp.Notices)
		}
		if got := re.FindSubmatchIndex([]byte(c.subject)); !slices.Equal(got, c.want) {
			t.Errorf("%s on %q: %v, want %v", c.pat, c.subject, got, c.want)
		}
		if got := re.Match([]byte(c.subject)); got != (c.want != nil) {
			t.Errorf("%s on %q: Match %v", c.pat, c.subject, got)
		}
	}
	var comp Compiler
	_, err := comp.CompileRegex(`(a`, false, true)
	if err == nil || !strings.Contains(err.Error(), "regex '(a' is invalid") {
		t.Errorf("(a: %v", err)
	}
	re, _ := comp.CompileRegex(`(\w)\1`, false, true)
	if n := comp.Notices; len(n) != 1 || !strings.Contains(n[0], "regex '(\\w)\\1' runs on the backtracking engine (RE2 refuses it: invalid escape sequence `\\1`)") {
		t.Errorf("notice %q", n)
	}
	if re.String() != `(\w)\1` {
		t.Errorf("String() = %q", re.String())
	}
}

// A catastrophic pattern on the backtracking engine gives up after
// RegexTimeout and counts as no match.
func TestRegexFallbackTimeout(t *testing.T) {
	re, err := CompileRegex(`^(?=a)(\w+\s?)*$`, false, false)
	if err != nil || re.Fallback == "" {
		t.Fatalf("%v %v", re, err)
	}
	big := []byte(strings.Repeat("a", 100<<10) + "!")
	start := time.Now()
	if re.Match(big) || re.FindSubmatchIndex(big) != nil {
		t.Error("matched")
	}
	// Without the limit this match runs for hours; a loaded machine may
	// stretch the two limited ones well past 2×RegexTimeout.
	if d := time.Since(start); d > 100*RegexTimeout {
		t.Errorf("two matches took %v", d)
	}
}
