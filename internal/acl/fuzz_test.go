package acl

import (
	"strings"
	"testing"

	"dhproxy/internal/sample"
)

// FuzzCond: any condition text compiles or fails with an error, and a
// compiled one evaluates without panicking, in either phase.
func FuzzCond(f *testing.F) {
	for _, s := range []string{
		"if is_static || !{ hdr(host) -i -m beg shop. } METH_GET",
		"unless { src -f /p/nets.lst } or { path_reg ^/a(b|c)$ }",
		"if { hdr_val(x-num) gt 3 } { urlp_val(id) 1:5 } !LOCALHOST",
		"if ! ! { path -m found } || { status 200 }",
		"if { path -i -M -f /p/hosts.map -- -x }",
		"if { }", "if {", "if || ||",
	} {
		f.Add(s)
	}
	txn := newTxn(f, head)
	f.Fuzz(func(t *testing.T, s string) {
		var set Set
		comp := compiler()
		set.Declare(comp, strings.Fields("is_static path_beg /static/"))
		for _, phase := range []sample.Phase{sample.PhaseReq, sample.PhaseRes} {
			cond, _, err := set.ParseCond(comp, strings.Fields(s), phase, "fuzz")
			if err != nil {
				continue
			}
			if phase == sample.PhaseReq {
				var st State
				cond.Match(txn, &st)
				txn.scratch = txn.scratch[:0]
			}
		}
	})
}

// FuzzPatternFile: any file content loads as patterns (each method) or
// fails with an error naming the file and line.
func FuzzPatternFile(f *testing.F) {
	f.Add("# c\n/static/\n\n  /x  \n10.0.0.0/8\n1:5\n^a(b|c)$\n")
	f.Add("a\tb c\r\nkey value\n")
	txn := newTxn(f, head)
	f.Fuzz(func(t *testing.T, data string) {
		for m := range methodNames {
			comp := &sample.Compiler{ReadFile: func(string) ([]byte, error) { return []byte(data), nil }}
			p, err := ParsePart(comp, []string{"path", "-m", m, "-f", "/fuzz.lst"})
			if err != nil {
				if !strings.Contains(err.Error(), "/fuzz.lst:") && !strings.Contains(err.Error(), "takes no pattern") {
					t.Fatalf("-m %s: error without file:line: %v", m, err)
				}
				continue
			}
			var st State
			p.match(txn, &st)
			txn.scratch = txn.scratch[:0]
		}
		comp := &sample.Compiler{ReadFile: func(string) ([]byte, error) { return []byte(data), nil }}
		if e, err := comp.Compile("path,map_beg(/fuzz.map,d)", sample.PhaseReq); err == nil {
			var v sample.Value
			e.Eval(txn, &v)
		}
	})
}
