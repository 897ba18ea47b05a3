package sample

// More of the client connection's TLS facts (ssl_fc_*). Like HAProxy's,
// ssl_fc_has_sni and ssl_fc_is_resumed are false on a plain connection;
// the others have no sample there.

var success = []byte("Success")

func init() {
	any := func(name string, out Type, fn FetchFunc) {
		RegisterFetch(&FetchDef{Name: name, Out: out, Phases: PhaseAll, Fn: fn})
	}
	any("ssl_fc_has_sni", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		ti := clientTLS(t)
		v.SetBool(ti != nil && len(ti.SNI) > 0)
		return true
	})
	any("ssl_fc_is_resumed", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		ti := clientTLS(t)
		v.SetBool(ti != nil && ti.Resumed)
		return true
	})
	// A connection that failed its handshake is closed before any rule
	// or log line runs: the ones that do see it had no error, as
	// haproxy's OpenSSL error stack is then empty (0, and no text).
	any("ssl_fc_err", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		if clientTLS(t) == nil {
			return false
		}
		v.SetInt(0)
		return true
	})
	any("ssl_fc_err_str", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		return false
	})
	// Likewise the connection's own error (haproxy's CO_ER_NONE).
	any("fc_err", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetInt(0)
		return true
	})
	any("fc_err_str", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetStr(success)
		return true
	})
	// Go's TLS server never accepts early (0-RTT) data: a TLS connection
	// has had none.
	any("ssl_fc_has_early", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		if clientTLS(t) == nil {
			return false
		}
		v.SetBool(false)
		return true
	})
	// Go's TLS has no NPN (replaced by ALPN): no protocol is ever
	// negotiated that way, as with a haproxy bind without "npn".
	any("ssl_fc_npn", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		return false
	})
}
