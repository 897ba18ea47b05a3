package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadSetenv: the global section's environment lines change what the
// next lines expand, in order, and in later sections; lines in skipped
// .if branches or outside global change nothing.
func TestLoadSetenv(t *testing.T) {
	cfg := `global
    setenv A one
    x "${A}"
    presetenv A two
    presetenv B two
    x "${A}" "${B}"
    unsetenv A
    x "a=${A}"
    setenv A three
    resetenv A FOO MISSING
    x "f=${FOO}" "a=${A}"
    x "b=${B}"
    x "r=${ARR}"
    resetenv FOO
    x "f=${FOO}" "a=${A}"
.if defined(FOO)
    setenv C yes
.endif
.if defined(A)
    setenv D no
.endif
    x "c=${C}" "d=${D}"
frontend f
    setenv E no
    x "c=${C}" "e=${E}"
`
	path := filepath.Join(t.TempDir(), "h.cfg")
	os.WriteFile(path, []byte(cfg), 0o644)
	var d Diags
	secs := Load([]string{path}, testEnv(), &d)
	if d.HasErrors() {
		var b strings.Builder
		d.Write(&b, 0)
		t.Fatal(b.String())
	}
	var got []string
	for _, s := range secs {
		for _, l := range s.Lines {
			if l.Args[0] == "x" {
				got = append(got, strings.Join(l.Args[1:], ","))
			}
		}
	}
	want := []string{"one", "one,two", "a=", "f=foo,a=three", "b=", "r=", "f=foo,a=", "c=yes,d=", "c=yes,e="}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("expanded lines\n got %q\nwant %q", got, want)
	}
	// a section keeps the environment it was read with
	if v, ok := secs[1].Env("C"); !ok || v != "yes" {
		t.Errorf("frontend's Env(C) = %q, %v", v, ok)
	}
}

func TestEnvAfter(t *testing.T) {
	e := testEnv()
	e = EnvAfter(e, []string{"setenv", "X", "1"})
	e = EnvAfter(e, []string{"presetenv", "FOO", "no"})
	e = EnvAfter(e, []string{"resetenv", "X", "FOO"})
	if v, _ := e("X"); v != "1" {
		t.Errorf("X = %q", v)
	}
	if v, _ := e("FOO"); v != "foo" {
		t.Errorf("FOO = %q", v)
	}
	if _, ok := e("ARR"); ok {
		t.Errorf("ARR survived resetenv")
	}
}
