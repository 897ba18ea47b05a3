package logformat

import (
	"strings"
	"testing"

	"dhproxy/internal/sample"
)

func TestCompile(t *testing.T) {
	c := &sample.Compiler{}
	f, err := Compile(c, `%ci:%cp  [%tr] %{+Q,+E}[var(txn.x)] 100%% %{+Q}o %b \ x`, true)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []Kind
	for _, n := range f.Nodes {
		kinds = append(kinds, n.Kind)
	}
	want := []Kind{CI, Text, CP, Sep, Text, DateReq, Text, Sep, Expr, Sep, Text, Sep, Sep, Backend, Sep, Text}
	if len(kinds) != len(want) {
		t.Fatalf("nodes %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("node %d: %v, want %v (all: %v)", i, kinds[i], want[i], kinds)
		}
	}
	if f.Nodes[8].Flags != Quote|Escape || f.Nodes[13].Flags != Quote {
		t.Errorf("flags: expr %v, %%b after %%{+Q}o %v", f.Nodes[8].Flags, f.Nodes[13].Flags)
	}
	for in, msg := range map[string]string{
		"%zz":           "no such format variable '%zz'",
		"%[path]":       "needs 'HTTP request headers'",
		"%[res.hdr(x)]": "needs 'HTTP response headers'",
		"%[nope]":       "unknown fetch method",
		"%{+Z}ci":       "unknown flag '+Z'",
		"%[src":         "missing ']'",
		"50% off":       "must be followed by a variable name",
		"%{+Q":          "missing '}'",
	} {
		if _, err := Compile(c, in, true); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Compile(%q) = %v, want an error with %q", in, err, msg)
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"%ci:%cp [%tr] %ft %b/%s %{+Q}r", "%{+Q,+X}o %[src,ipmask(24)] %%", "%[", "%{", "\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		Compile(&sample.Compiler{}, s, true)
	})
}
