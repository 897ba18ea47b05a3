package config

import (
	"slices"
	"strings"
	"testing"
)

// testEnv is the environment the table tests run with.
func testEnv(extra ...string) Env {
	m := map[string]string{
		"FOO":          "foo",
		"EMPTY":        "",
		"ARR":          "a b  c",
		"SP":           " x ",
		"FD_APP1":      "3",
		"HAPROXY_USER": "haproxy",
		".LINE":        "42",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func TestSplitLine(t *testing.T) {
	logFormat := []string{"log-format", "%{+Q}o %t %s %{-Q}r"}
	reqrep := []string{"reqrep", `^([^ :]*) /static/(.*)`, `\1 /\2`}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		// The equivalences of configuration.txt section 2.2.
		{"doc log-format escaped", `log-format %{+Q}o\ %t\ %s\ %{-Q}r`, logFormat},
		{"doc log-format dquote", `log-format "%{+Q}o %t %s %{-Q}r"`, logFormat},
		{"doc log-format squote", `log-format '%{+Q}o %t %s %{-Q}r'`, logFormat},
		{"doc log-format mixed", `log-format "%{+Q}o %t"' %s %{-Q}r'`, logFormat},
		{"doc log-format mixed escaped", `log-format "%{+Q}o %t"' %s'\ %{-Q}r`, logFormat},
		{"doc reqrep escaped", `reqrep "^([^\ :]*)\ /static/(.*)"     \1\ /\2`, reqrep},
		{"doc reqrep squote", `reqrep "^([^ :]*)\ /static/(.*)"     '\1 /\2'`, reqrep},
		{"doc reqrep dquote", `reqrep "^([^ :]*)\ /static/(.*)"     "\1 /\2"`, reqrep},
		{"doc reqrep dquote escaped", `reqrep "^([^ :]*)\ /static/(.*)"     "\1\ /\2"`, reqrep},
		// The examples of section 2.3.
		{"doc bind fd", `bind "fd@${FD_APP1}"`, []string{"bind", "fd@3"}},
		{"doc log default", `log "${LOCAL_SYSLOG-127.0.0.1}:514" local0 notice  # send to local server`,
			[]string{"log", "127.0.0.1:514", "local0", "notice"}},
		{"doc user", `user "$HAPROXY_USER"`, []string{"user", "haproxy"}},

		// Blanks and comments.
		{"empty", "", nil},
		{"blanks only", " \t \v\f ", nil},
		{"comment only", "   # just a comment", nil},
		{"leading blanks", "\t  mode http", []string{"mode", "http"}},
		{"all blanks separate", "a\tb\vc\fd  e", []string{"a", "b", "c", "d", "e"}},
		{"comment inside a word", "a#b c", []string{"a"}},
		{"escaped sharp", `a \#b`, []string{"a", "#b"}},
		{"sharp in dquote", `"a#b" c`, []string{"a#b", "c"}},
		{"sharp in squote", `'a#b' c`, []string{"a#b", "c"}},
		{"CR ends the line", "a b\rc d", []string{"a", "b"}},
		{"LF ends the line", "a\nb", []string{"a"}},
		{"NUL ends the line", "a\x00b", []string{"a"}},

		// Escapes.
		{"escaped backslash", `a\\b`, []string{`a\b`}},
		{"control escapes", `\t\n\r`, []string{"\t\n\r"}},
		{"hex escapes", `\x41\x2a\x7E`, []string{"A*~"}},
		{"hex in dquote", `"\x41"`, []string{"A"}},
		{"hex in squote is literal", `'\x41'`, []string{`\x41`}},
		{"unknown escape kept", `\1 \q`, []string{`\1`, `\q`}},
		{"trailing backslash kept", `a\`, []string{`a\`}},
		{"backslash tab is not an escape", "a\\\tb", []string{`a\`, "b"}},
		{"escaped squote", `it\'s`, []string{"it's"}},
		{"escaped squote in dquote", `"it\'s"`, []string{"it's"}},
		{"escaped dquote in dquote", `"a\"b"`, []string{`a"b`}},
		{"backslash literal in squote", `'a\' b`, []string{`a\`, "b"}},
		{"NUL escape ends the word", `a\x00b c`, []string{"a", "c"}},

		// Quotes.
		{"concatenation", `a"b c"'d e'f`, []string{"ab cd ef"}},
		{"dquote in squote", `'say "hi"'`, []string{`say "hi"`}},
		{"squote in dquote", `"it's"`, []string{"it's"}},
		{"empty word in the middle", `a "" b`, []string{"a", "", "b"}},
		{"empty word first", `"" a`, []string{"", "a"}},
		{"trailing empty word dropped", `a ""`, []string{"a"}},
		{"lone empty word dropped", `''`, nil},

		// Variables: only inside double quotes.
		{"unquoted dollar is literal", `$FOO ${FOO}`, []string{"$FOO", "${FOO}"}},
		{"squoted dollar is literal", `'$FOO'`, []string{"$FOO"}},
		{"escaped dollar in dquote", `"\$FOO"`, []string{"$FOO"}},
		{"escaped dollar outside keeps backslash", `\$FOO`, []string{`\$FOO`}},
		{"plain", `"$FOO"`, []string{"foo"}},
		{"braces", `"${FOO}bar"`, []string{"foobar"}},
		{"name stops at punctuation", `"$FOO.x-$FOO"`, []string{"foo.x-foo"}},
		{"default unused", `"${FOO-def}"`, []string{"foo"}},
		{"default used", `"${NOPE-def}"`, []string{"def"}},
		{"default not used when empty", `a "${EMPTY-def}" b`, []string{"a", "", "b"}},
		{"default keeps blanks and quotes", `"${NOPE-a "b #c}"`, []string{`a "b #c`}},
		{"empty default makes an empty word", `a "${NOPE-}" b`, []string{"a", "", "b"}},
		{"empty value", `a "$EMPTY" b`, []string{"a", "", "b"}},
		{"unset vanishes with its quote", `a "$NOPE" b`, []string{"a", "b"}},
		{"unset in braces vanishes", `a "${NOPE}" b`, []string{"a", "b"}},
		{"unset at end", `a "$NOPE"`, []string{"a"}},
		{"unset glues to the next word", `"x$NOPE" y`, []string{"xy"}},
		{"unset not before the quote", `a "$NOPE x" b`, []string{"a", " x", "b"}},
		{"word expansion", `"${ARR[*]}"`, []string{"a", "b", "c"}},
		{"word expansion concatenates", `x"${ARR[*]}"y`, []string{"xa", "b", "cy"}},
		{"word expansion leading blank", `"${SP[*]}"`, []string{"", "x"}},
		{"no expansion without [*]", `"${ARR}"`, []string{"a b  c"}},
		{"[*] needs braces", `"$ARR[*]"`, []string{"a b  c[*]"}},
		{"word expansion of default", `"${NOPE[*]-p q}"`, []string{"p", "q"}},
		{"pseudo variable", `"$.LINE"`, []string{"42"}},
		{"unset pseudo variable stays", `a "$.FILE" b`, []string{"a", "", "b"}},
	}
	env := testEnv()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SplitLine(tt.in, env)
			if err != nil {
				t.Fatalf("SplitLine(%q): %v", tt.in, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("SplitLine(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSplitLineErrors(t *testing.T) {
	words := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = "w"
		}
		return strings.Join(w, " ")
	}
	tests := []struct {
		name, in, want string
	}{
		{"unmatched dquote", `a "b`, "unmatched quote at position 3"},
		{"unmatched squote", `a 'b"`, "unmatched quote at position 3"},
		{"quote position counts leading blanks", `  x "`, "unmatched quote at position 5"},
		{"dquote inside squote", `'a"b`, "unmatched quote at position 1"},
		{"bad hex digit", `a \x4g`, "truncated or invalid hexadecimal sequence at position 3"},
		{"short hex", `\x4`, "truncated or invalid hexadecimal sequence at position 1"},
		{"bare dollar", `"$"`, "forbidden first char in environment variable name at position 3"},
		{"digit name", `"$1"`, "forbidden first char in environment variable name at position 3"},
		{"empty braces", `"${}"`, "forbidden first char in environment variable name at position 4"},
		{"unknown pseudo variable", `"$.NOPE"`, "forbidden first char in environment variable name at position 3"},
		{"unterminated brace", `"${FOO"`, "unmatched brace in environment variable name at position 3"},
		{"no :- form", `"${FOO:-x}"`, "unmatched brace in environment variable name at position 3"},
		{"unterminated default", `"${NOPE-abc"`, "unmatched brace in environment variable name at position 3"},
		{"bad expansion", `"${ARR[x]}"`, "truncated or invalid word expansion sequence at position 7"},
		{"truncated expansion", `"${ARR[*}"`, "truncated or invalid word expansion sequence at position 7"},
		{"65 words", words(65), "too many words, truncating after word 64, position 127: <w>."},
		{"64 words and a trailing blank", words(64) + " ", "too many words, truncating after word 64, position 127: <w>."},
		{"64 words and a comment", words(64) + " # c", "too many words, truncating after word 64, position 127: <w>."},
	}
	env := testEnv()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SplitLine(tt.in, env)
			if err == nil {
				t.Fatalf("SplitLine(%q) = %q, want error %q", tt.in, got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("SplitLine(%q) error = %q, want %q", tt.in, err, tt.want)
			}
		})
	}
	// The limit itself is fine, and expanded words count too.
	if w, err := SplitLine(words(64), env); err != nil || len(w) != 64 {
		t.Errorf("64 words: got %d words, %v", len(w), err)
	}
	if _, err := SplitLine(words(62)+` "${ARR[*]}"`, env); err == nil {
		t.Errorf("62 words and 3 expanded ones: want too many words")
	}
}

func TestSplitLineDefaultEnv(t *testing.T) {
	t.Setenv("DHPROXY_SPLIT_TEST", "v")
	got, err := SplitLine(`x "$DHPROXY_SPLIT_TEST"`, nil)
	if err != nil || !slices.Equal(got, []string{"x", "v"}) {
		t.Errorf("SplitLine with nil env = %q, %v; want [x v]", got, err)
	}
}
