package sample

import "testing"

// FuzzCompile: any expression text compiles or fails with an error, and a
// compiled one evaluates without panicking.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"hdr(host),lower", `path,regsub("^/([a-z]+)/",/\1-,g)`, "str(a\\,b),field(-2,_,0)", "src,ipmask(24,64)", "url_param(x,;),concat(<,,>),bytes(1,2)", "req.cook(", "hdr(a)),", "int(1),div(0),mod(0)"} {
		f.Add(s)
	}
	txn := newTxn(f, testHead)
	f.Fuzz(func(t *testing.T, s string) {
		var c Compiler
		c.ReadFile = func(string) ([]byte, error) { return nil, nil }
		e, err := c.Compile(s, PhaseReq)
		if err != nil {
			return
		}
		var v Value
		var it Iter
		e.Eval(txn, &v)
		for e.Next(txn, &it, &v) {
		}
		txn.scratch = txn.scratch[:0]
	})
}
