package sample

import (
	"crypto/tls"
	"crypto/x509"

	"dhproxy/internal/tlsconf"
)

// BackendTLSTxn is a Txn whose server connection may be TLS.
type BackendTLSTxn interface {
	// BackendTLS is the state of the TLS connection to the server; false
	// when there is none (no server yet, or a plain one).
	BackendTLS() (tls.ConnectionState, bool)
}

func backendTLS(t Txn) (tls.ConnectionState, bool) {
	if bt, ok := t.(BackendTLSTxn); ok {
		return bt.BackendTLS()
	}
	return tls.ConnectionState{}, false
}

// The ssl_bc* fetches read the connection to the server, known once the
// request was sent: http-response rules and the log.
func init() {
	res := func(name string, out Type, fn FetchFunc) {
		RegisterFetch(&FetchDef{Name: name, Out: out, Phases: PhaseRes, Fn: fn, Needs: "a connection to a server (http-response rules or the log)"})
	}
	res("ssl_bc", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		_, ok := backendTLS(t)
		v.SetBool(ok)
		return true
	})
	res("ssl_bc_is_resumed", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		st, ok := backendTLS(t)
		if !ok {
			return false
		}
		v.SetBool(st.DidResume)
		return true
	})
	str := func(name string, f func(st *tls.ConnectionState) string) {
		res(name, TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
			st, ok := backendTLS(t)
			if !ok {
				return false
			}
			s := f(&st)
			if s == "" {
				return false
			}
			v.SetStr([]byte(s))
			return true
		})
	}
	str("ssl_bc_protocol", func(st *tls.ConnectionState) string { return tlsconf.ProtocolName(st.Version) })
	str("ssl_bc_cipher", func(st *tls.ConnectionState) string { return tlsconf.CipherName(st.CipherSuite) })
	str("ssl_bc_alpn", func(st *tls.ConnectionState) string { return st.NegotiatedProtocol })
	keyBits := func(name string, alg bool) {
		res(name, TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
			st, ok := backendTLS(t)
			if !ok {
				return false
			}
			use, algBits := tlsconf.CipherKeyBits(tlsconf.CipherName(st.CipherSuite))
			if alg {
				use = algBits
			}
			v.SetInt(int64(use))
			return true
		})
	}
	keyBits("ssl_bc_use_keysize", false)
	keyBits("ssl_bc_alg_keysize", true)
}

// serverCert is the certificate the server of the connection presented
// (ssl_s_*), nil when there is none.
func serverCert(t Txn) *x509.Certificate {
	st, ok := backendTLS(t)
	if !ok || len(st.PeerCertificates) == 0 {
		return nil
	}
	return st.PeerCertificates[0]
}
