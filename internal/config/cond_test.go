package config

import (
	"strings"
	"testing"
)

func TestEvalCond(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", false},
		{"0", false},
		{"1", true},
		{"42", true},
		{"-1", true},
		{"+0", false},
		{"0x10", true},
		{"0x0", false},
		{"010", true}, // octal, as strtol reads it
		{"00", false},
		{"!0", true},
		{"!!1", true},
		{"! 1", false},
		{"! 0", true},
		{"!(0)", true},
		{" 1 ", true},
		{"\t1", true},

		// && binds tighter than ||; blanks are optional.
		{"1 && 0", false},
		{"1&&1", true},
		{"0 || 1", true},
		{"0||0", false},
		{"1 || 0 && 0", true},
		{"0 && 1 || 1", true},
		{"(1 || 0) && 0", false},
		{"( 1 )", true},
		{"!(1 && 0) && !0", true},

		{"defined(FOO)", true},
		{"defined(EMPTY)", true},
		{"defined(NOPE)", false},
		{"!defined(NOPE)", true},
		{"defined", false},   // no list: one empty argument
		{"defined()", false}, // an empty name is never defined
		{"feature(LINUX_SPLICE)", true},
		{"feature(THREAD)", true},
		{"feature(OPENSSL)", false},
		{"feature(THREA)", false},
		{"streq(a,a)", true},
		{"streq(a, a)", false}, // the blank belongs to the argument
		{`streq("a b",'a b')`, true},
		{`streq(x\ y,x y)`, true},
		{"streq(,)", true},
		{"strneq(a,b)", true},
		{"strneq(a,a)", false},
		{"strstr(foobar,oba)", true},
		{"strstr(foo,x)", false},
		{"strstr(foo,)", true},
		{"version_atleast(2.4)", true},
		{"version_atleast(3.0)", true},
		{"version_atleast(3.0.0)", true},
		{"version_atleast(3.0.1)", false},
		{"version_atleast(3.0-dev5)", true},
		{"version_atleast(3.1-dev1)", false},
		{"version_before(3.1)", true},
		{"version_before(3.0.0)", false},
		{"version_before(3.0-rc1)", false},
		{"version_atleast(junk)", true}, // HAProxy's error code compares as "older"
		{"version_before(junk)", false},
		{"openssl_version_atleast(1.1.1)", false},
		{"openssl_version_before(3.0.0)", true},
		{"ssllib_name_startswith(OpenSSL)", false},
		{"enabled(EPOLL)", true},
		{"enabled(FAST-FORWARD)", true},
		{"enabled(POLL)", false},
		{"enabled(NOPE)", false},
		// The example of configuration.txt section 2.4.
		{`feature(LINUX_SPLICE) && (streq("foo",yes) || streq("yes",yes))`, true},
	}
	env := testEnv()
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := EvalCond([]string{tt.in}, env)
			if err != nil {
				t.Fatalf("EvalCond(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("EvalCond(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// Words are joined with blanks, so operators need not be separate words
// and may be.
func TestEvalCondWords(t *testing.T) {
	env := testEnv()
	for _, words := range [][]string{
		{"defined(FOO)", "&&", "!", "defined(NOPE)"},
		{"defined(FOO)&&!defined(NOPE)"},
		{"(", "0", "||", "1", ")"},
		{"1", ""},
	} {
		got, err := EvalCond(words, env)
		if err != nil || !got {
			t.Errorf("EvalCond(%q) = %v, %v; want true", words, got, err)
		}
	}
	if got, err := EvalCond(nil, env); got || err != nil {
		t.Errorf("EvalCond(nil) = %v, %v; want false", got, err)
	}
}

func TestEvalCondErrors(t *testing.T) {
	tests := []struct {
		in, want string
		off      int
	}{
		{"0x", "unexpected character 'x' at the end of conditional expression '0x'", 1},
		{"08", "unexpected character '8' at the end of conditional expression '08'", 1},
		{"1 1", "unexpected character '1' at the end of conditional expression '1 1'", 2},
		{"defined FOO", "unexpected character 'F' at the end of conditional expression 'defined FOO'", 8},
		{"defined (FOO)", "unexpected character '(' at the end of conditional expression 'defined (FOO)'", 8},
		{"1 &&", "unparsable conditional expression '&&'", 2},
		{"1 ||", "unparsable conditional expression '1 ||'", 2},
		{"&&", "unparsable conditional expression '&&'", 0},
		{"(1", "expected ')' after conditional expression '(1'", 0},
		{"()", "unparsable conditional expression ')'", 1},
		{"(", "unparsable conditional expression '('", 0},
		{"  ", "unparsable conditional sub-expression '  '", 0},
		{"yes", "unparsable conditional expression 'yes'", 0},
		{"1 && foo(x)", "unparsable conditional expression 'foo(x)' (unknown predicate 'foo'; known: " + strings.Join(Predicates(), ", ") + ")", 5},
		{"streq(a)", "missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in conditional expression", 7},
		{"streq", "missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in conditional expression", 5},
		{"streq()", "missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in conditional expression", 6},
		{"defined(a,b)", "expected ')' before ',b)' in argument 1 of predicate 'defined' used in conditional expression", 9},
		// A backslash does not escape a comma: "a\" and "b" are the two
		// arguments and the rest is too much.
		{`streq(a\,b,"a,b")`, `expected ')' before ',"a,b")' in argument 1 of predicate 'streq' used in conditional expression`, 10},
		{"defined(a", "expected ')' in argument 1 of predicate 'defined' used in conditional expression", 9},
		{"streq(a,b", "expected ')' in argument 1 of predicate 'streq' used in conditional expression", 9},
		{`defined("a)`, "expected ')' in argument 1 of predicate 'defined' used in conditional expression", 11},
		{`defined(a\`, `failed to parse '\' after 'a' as type 'string' at position 1 in argument 0 of predicate 'defined' used in conditional expression`, 9},
	}
	env := testEnv()
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := EvalCond([]string{tt.in}, env)
			if err == nil {
				t.Fatalf("EvalCond(%q) = %v, want error %q", tt.in, got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("EvalCond(%q) error:\n got %q\nwant %q", tt.in, err, tt.want)
			}
			if ce, ok := err.(*CondError); !ok || ce.Off != tt.off {
				t.Errorf("EvalCond(%q) error offset = %+v, want %d", tt.in, err, tt.off)
			}
		})
	}
}

// Deep nesting hits HAProxy's recursion limit instead of Go's stack.
func TestEvalCondDepth(t *testing.T) {
	env := testEnv()
	ok := strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200)
	if got, err := EvalCond([]string{ok}, env); err != nil || !got {
		t.Errorf("200 parentheses: %v, %v", got, err)
	}
	deep := strings.Repeat("(", 2000) + "1" + strings.Repeat(")", 2000)
	if _, err := EvalCond([]string{deep}, env); err == nil {
		t.Errorf("2000 parentheses: want an error")
	}
	long := strings.Repeat("1 && ", 2000) + "1"
	if _, err := EvalCond([]string{long}, env); err == nil {
		t.Errorf("2000 && operators: want an error")
	}
}

func TestCompareVersion(t *testing.T) {
	tests := []struct {
		cur, v string
		want   int
	}{
		{"3.0.0", "3.0", 0},
		{"3.0.0", "3", 0},
		{"3.0.0", "2.9.99", -1},
		{"3.0.0", "3.0.1", 1},
		{"3.0-dev5", "3.0-dev4", -1},
		{"3.0-dev5", "3.0-rc1", 1},
		{"3.0-rc1", "3.0-pre1", 0},
		{"2.4-dev18-f6818d-20", "2.4-dev18-21", 1},
		{"1.2.10.1", "1.2.10.1", 0},
		{"3.0.0", "", -3},
		{"3.0.0", "x", -3},
		{"3.0.0", "3.0.0.0.0", -3},
		{"bad", "3.0", -2},
		{"3.0.0", "-1", 1}, // stored as unsigned, like in C
	}
	for _, tt := range tests {
		if got := compareVersion(tt.cur, tt.v); got != tt.want {
			t.Errorf("compareVersion(%q, %q) = %d, want %d", tt.cur, tt.v, got, tt.want)
		}
	}
}
