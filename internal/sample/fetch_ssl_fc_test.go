package sample

import "testing"

type tlsFakeTxn struct {
	*fakeTxn
	ti *TLSInfo
}

func (f tlsFakeTxn) ClientTLS() *TLSInfo { return f.ti }

// haproxy 2.6.12 answers ssl_fc_has_sni and ssl_fc_is_resumed with 0 on a
// plain connection, and nothing for ssl_fc_has_early there; ssl_fc_npn is
// empty without an "npn" bind (dhproxy has none).
func TestSSLFCFetches(t *testing.T) {
	f := newTxn(t, testHead)
	for _, c := range []struct {
		ti   *TLSInfo
		want string // has_sni is_resumed has_early npn
	}{
		{nil, "0 0 - -"},
		{&TLSInfo{}, "0 0 0 -"},
		{&TLSInfo{SNI: []byte("site.test"), Resumed: true}, "1 1 0 -"},
	} {
		var got string
		for i, expr := range []string{"ssl_fc_has_sni", "ssl_fc_is_resumed", "ssl_fc_has_early", "ssl_fc_npn"} {
			var comp Compiler
			e, err := comp.Compile(expr, PhaseReq)
			if err != nil {
				t.Fatal(err)
			}
			var v Value
			s := "-"
			if e.Eval(tlsFakeTxn{f, c.ti}, &v) {
				s = "0"
				if v.Int != 0 {
					s = "1"
				}
			}
			if i > 0 {
				got += " "
			}
			got += s
		}
		if got != c.want {
			t.Errorf("%+v: %q, want %q", c.ti, got, c.want)
		}
	}
}
