package config

import (
	"strings"
	"testing"
)

// The expected values were checked against haproxy 2.6.12: each input was
// put in a bind line and the port haproxy reported back compared.
func TestExpandAddrEnv(t *testing.T) {
	env := testEnv("P", "8080", "HOST", "127.0.0.1", "A", "127.0.0.1:xz")
	for _, c := range []struct{ name, in, want string }{
		{"no variable", "127.0.0.1:80", "127.0.0.1:80"},
		{"braces", "127.0.0.1:${P}", "127.0.0.1:8080"},
		{"no braces", "127.0.0.1:$P", "127.0.0.1:8080"},
		{"two variables", "${HOST}:${P}", "127.0.0.1:8080"},
		{"whole address", "${A}", "127.0.0.1:xz"},
		{"concatenated", "127.0.0.1:${P}${P}", "127.0.0.1:80808080"},
		{"unset is empty", "127.0.0.1:${NOPE}", "127.0.0.1:"},
		{"empty value", "${EMPTY}127.0.0.1:81", "127.0.0.1:81"},
		{"no default form", "127.0.0.1:${NOPE-81}", "127.0.0.1:-81}"},
		{"no default even when set", "127.0.0.1:${P-81}", "127.0.0.1:8080-81}"},
		{"unclosed brace", "127.0.0.1:${P", "127.0.0.1:8080"},
		{"extra brace stays", "127.0.0.1:${P}}", "127.0.0.1:8080}"},
		{"brace not consumed without opening", "127.0.0.1:$P}", "127.0.0.1:8080}"},
		{"empty braces vanish", "127.0.0.1:${}", "127.0.0.1:"},
		{"names may start with a digit", "127.0.0.1:8$0", "127.0.0.1:8"},
		{"lone dollar vanishes", "127.0.0.1:80$", "127.0.0.1:80"},
		{"dollar before punctuation vanishes", "a$-b", "a-b"},
		{"double dollar", "127.0.0.1:$$P", "127.0.0.1:8080"},
		{"no word expansion", "${A[*]}", "127.0.0.1:xz[*]}"},
		{"no pseudo variables", "127.0.0.1:$.LINE", "127.0.0.1:.LINE"},
		{"backslash stays", `127.0.0.1:\${P}`, `127.0.0.1:\8080`},
		{"name stops at punctuation", "unix@/run/$FOO.sock", "unix@/run/foo.sock"},
	} {
		if got := ExpandAddrEnv(c.in, env); got != c.want {
			t.Errorf("%s: ExpandAddrEnv(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func FuzzExpandAddrEnv(f *testing.F) {
	for _, s := range []string{"127.0.0.1:${P}", "$FOO$", "${", "${FOO", "a$$b${}c", "${ARR[*]}"} {
		f.Add(s)
	}
	env := testEnv()
	f.Fuzz(func(t *testing.T, s string) {
		got := ExpandAddrEnv(s, env)
		if !strings.Contains(s, "$") && got != s {
			t.Fatalf("ExpandAddrEnv(%q) = %q: changed a string without '$'", s, got)
		}
		if strings.Count(got, "$") > strings.Count(s, "$") {
			t.Fatalf("ExpandAddrEnv(%q) = %q: more '$' than the input", s, got)
		}
	})
}

// TestAddressAfterSplitting: an address word goes through both
// expansions, so variables expand in it quoted or not; even single quotes,
// which keep the splitter's hands off, do not protect it. Checked against
// haproxy 2.6.12's bind line ('127.0.0.1:${P}' binds port $P there too).
func TestAddressAfterSplitting(t *testing.T) {
	env := testEnv("P", "8080")
	for _, c := range []struct{ line, want string }{
		{`bind 127.0.0.1:${P}`, "127.0.0.1:8080"},
		{`bind 127.0.0.1:$P`, "127.0.0.1:8080"},
		{`bind "127.0.0.1:${P}"`, "127.0.0.1:8080"},
		{`bind '127.0.0.1:${P}'`, "127.0.0.1:8080"},
		{`bind "127.0.0.1:${NOPE-81}"`, "127.0.0.1:81"},
		{`bind 127.0.0.1:${NOPE-81}`, "127.0.0.1:-81}"},
		{`bind "127.0.0.1:\${P}"`, "127.0.0.1:8080"},
	} {
		words, err := SplitLine(c.line, env)
		if err != nil || len(words) != 2 {
			t.Fatalf("SplitLine(%q) = %q, %v", c.line, words, err)
		}
		if got := ExpandAddrEnv(words[1], env); got != c.want {
			t.Errorf("%s: address %q, want %q", c.line, got, c.want)
		}
	}
}
