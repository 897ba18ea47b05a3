package sample

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
	"time"
)

// Client certificate fetches (mTLS binds): ssl_c_* on the client's
// certificate, ssl_fc_has_crt, and the verification results, formatted
// as HAProxy 2.6 formats them with OpenSSL.

// ClientCert is the client certificate side of a TLS connection.
type ClientCert struct {
	Chain   []*x509.Certificate // the client's certificate first; nil: none
	OnConn  bool                // sent in this handshake (not a resumed session's)
	results *[3]int             // verify, err, ca-err; computed once
	// Check verifies the chain (the bind's ca-file, crl-file and ignore
	// lists), returning OpenSSL's codes: the overall result, the first
	// error on the client's certificate and the first on its CAs.
	Check func([]*x509.Certificate) (verify, crtErr, caErr int)
}

// verify returns the chain's verification results: the overall code, the
// first error on the client's certificate and the first on its CAs.
func (cc *ClientCert) verify() *[3]int {
	if cc.results == nil {
		r := [3]int{}
		if cc.Check != nil && len(cc.Chain) > 0 {
			r[0], r[1], r[2] = cc.Check(cc.Chain)
		}
		cc.results = &r
	}
	return cc.results
}

func clientCert(t Txn) *ClientCert {
	ti := clientTLS(t)
	if ti == nil || ti.Client == nil || len(ti.Client.Chain) == 0 {
		return nil
	}
	return ti.Client
}

func init() {
	any := func(name string, out Type, fn FetchFunc, args ...ArgType) {
		RegisterFetch(&FetchDef{Name: name, Args: args, Out: out, Phases: PhaseAll, Fn: fn})
	}
	any("ssl_c_used", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		if clientTLS(t) == nil {
			return false
		}
		v.SetBool(clientCert(t) != nil)
		return true
	})
	any("ssl_fc_has_crt", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		if clientTLS(t) == nil {
			return false
		}
		cc := clientCert(t)
		v.SetBool(cc != nil && cc.OnConn)
		return true
	})
	for i, name := range []string{"ssl_c_verify", "ssl_c_err", "ssl_c_ca_err"} {
		any(name, TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
			if clientTLS(t) == nil {
				return false
			}
			code := 0
			if cc := clientCert(t); cc != nil {
				code = cc.verify()[i]
			}
			v.SetInt(int64(code))
			return true
		})
	}
	// Each certificate fetch exists as ssl_c_* (the client's certificate),
	// ssl_f_* (the frontend's own, as served to this client) and ssl_s_*
	// (the one the server presented on the connection to it).
	cert := func(name string, out Type, fn func(t Txn, c *x509.Certificate, a *Args, v *Value) bool, args ...ArgType) {
		any(name, out, func(t Txn, a *Args, it *Iter, v *Value) bool {
			cc := clientCert(t)
			if cc == nil {
				return false
			}
			return fn(t, cc.Chain[0], a, v)
		}, args...)
		any("ssl_f_"+strings.TrimPrefix(name, "ssl_c_"), out, func(t Txn, a *Args, it *Iter, v *Value) bool {
			ti := clientTLS(t)
			if ti == nil || ti.Served == nil {
				return false
			}
			return fn(t, ti.Served, a, v)
		}, args...)
		RegisterFetch(&FetchDef{Name: "ssl_s_" + strings.TrimPrefix(name, "ssl_c_"), Args: args, Out: out, Phases: PhaseRes,
			Needs: "a connection to a server (http-response rules or the log)",
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				c := serverCert(t)
				if c == nil {
					return false
				}
				return fn(t, c, a, v)
			}})
	}
	dn := func(raw func(*x509.Certificate) []byte) func(t Txn, c *x509.Certificate, a *Args, v *Value) bool {
		return func(t Txn, c *x509.Certificate, a *Args, v *Value) bool {
			var seq pkix.RDNSequence
			if _, err := asn1.Unmarshal(raw(c), &seq); err != nil {
				return false
			}
			s := t.Scratch()
			start := len(*s)
			var ok bool
			*s, ok = appendDN(*s, seq, a)
			if !ok {
				return false
			}
			v.SetStr((*s)[start:len(*s):len(*s)])
			return true
		}
	}
	cert("ssl_c_s_dn", TypeStr, dn(func(c *x509.Certificate) []byte { return c.RawSubject }), ArgStr, ArgInt, ArgStr)
	cert("ssl_c_i_dn", TypeStr, dn(func(c *x509.Certificate) []byte { return c.RawIssuer }), ArgStr, ArgInt, ArgStr)
	cert("ssl_c_serial", TypeBin, func(t Txn, c *x509.Certificate, a *Args, v *Value) bool {
		v.SetBin(c.SerialNumber.Bytes())
		return true
	})
	cert("ssl_c_sha1", TypeBin, func(t Txn, c *x509.Certificate, a *Args, v *Value) bool {
		sum := sha1.Sum(c.Raw)
		v.SetBin(sum[:])
		return true
	})
	cert("ssl_c_der", TypeBin, func(t Txn, c *x509.Certificate, a *Args, v *Value) bool {
		v.SetBin(c.Raw)
		return true
	})
	// A chain as the peer sent it. As OpenSSL's SSL_get_peer_cert_chain
	// that haproxy reads, a client's excludes its own certificate, a
	// server's includes it (first).
	chainDER := func(chain []*x509.Certificate, t Txn, v *Value) bool {
		if len(chain) == 0 {
			return false
		}
		s := t.Scratch()
		start := len(*s)
		for _, c := range chain {
			*s = append(*s, c.Raw...)
		}
		v.SetBin((*s)[start:len(*s):len(*s)])
		return true
	}
	any("ssl_c_chain_der", TypeBin, func(t Txn, a *Args, it *Iter, v *Value) bool {
		cc := clientCert(t)
		return cc != nil && chainDER(cc.Chain[1:], t, v)
	})
	RegisterFetch(&FetchDef{Name: "ssl_s_chain_der", Out: TypeBin, Phases: PhaseRes,
		Needs: "a connection to a server (http-response rules or the log)",
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			st, ok := backendTLS(t)
			return ok && chainDER(st.PeerCertificates, t, v)
		}})
	cert("ssl_c_version", TypeInt, func(t Txn, c *x509.Certificate, a *Args, v *Value) bool {
		v.SetInt(int64(c.Version))
		return true
	})
	timeField := func(f func(*x509.Certificate) time.Time) func(t Txn, c *x509.Certificate, a *Args, v *Value) bool {
		return func(t Txn, c *x509.Certificate, a *Args, v *Value) bool {
			s := t.Scratch()
			start := len(*s)
			*s = f(c).UTC().AppendFormat(*s, "060102150405Z")
			v.SetStr((*s)[start:len(*s):len(*s)])
			return true
		}
	}
	cert("ssl_c_notbefore", TypeStr, timeField(func(c *x509.Certificate) time.Time { return c.NotBefore }))
	cert("ssl_c_notafter", TypeStr, timeField(func(c *x509.Certificate) time.Time { return c.NotAfter }))
	cert("ssl_c_sig_alg", TypeStr, func(t Txn, c *x509.Certificate, a *Args, v *Value) bool {
		n, ok := sigAlgNames[c.SignatureAlgorithm]
		if !ok {
			return false
		}
		v.SetStr([]byte(n))
		return true
	})
	cert("ssl_c_key_alg", TypeStr, func(t Txn, c *x509.Certificate, a *Args, v *Value) bool {
		var n string
		switch c.PublicKey.(type) {
		case *rsa.PublicKey:
			n = "rsaEncryption"
		case *ecdsa.PublicKey:
			n = "id-ecPublicKey"
		case ed25519.PublicKey:
			n = "ED25519"
		default:
			return false
		}
		v.SetStr([]byte(n))
		return true
	})
}

// SigAlgName is OpenSSL's short name of c's signature algorithm
// ("ecdsa-with-SHA256"), as ssl_c_sig_alg and PROXY v2's cert-sig give it;
// "" when unknown.
func SigAlgName(c *x509.Certificate) string { return sigAlgNames[c.SignatureAlgorithm] }

// OpenSSL's short names of signature algorithms (OBJ_nid2sn).
var sigAlgNames = map[x509.SignatureAlgorithm]string{
	x509.MD5WithRSA: "RSA-MD5", x509.SHA1WithRSA: "RSA-SHA1", x509.SHA256WithRSA: "RSA-SHA256",
	x509.SHA384WithRSA: "RSA-SHA384", x509.SHA512WithRSA: "RSA-SHA512",
	x509.SHA256WithRSAPSS: "RSASSA-PSS", x509.SHA384WithRSAPSS: "RSASSA-PSS", x509.SHA512WithRSAPSS: "RSASSA-PSS",
	x509.ECDSAWithSHA1: "ecdsa-with-SHA1", x509.ECDSAWithSHA256: "ecdsa-with-SHA256",
	x509.ECDSAWithSHA384: "ecdsa-with-SHA384", x509.ECDSAWithSHA512: "ecdsa-with-SHA512",
	x509.PureEd25519: "ED25519",
}

// OpenSSL's short names of the usual name attributes.
var dnShortNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
	"2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.9": "street", "2.5.4.12": "title",
	"2.5.4.42": "GN", "2.5.4.43": "initials", "2.5.4.44": "generationQualifier", "2.5.4.46": "dnQualifier",
	"2.5.4.65": "pseudonym", "2.5.4.13": "description", "2.5.4.17": "postalCode",
	"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1": "UID", "2.5.4.97": "organizationIdentifier",
}

type dnEntry struct{ name, value string }

// appendDN writes a distinguished name as HAProxy does: with no argument
// OpenSSL's one-line form "/C=FR/O=Example/CN=client"; with an entry name
// only the value of its occurrence (1 the first, -1 the last); with the
// format "rfc2253", "CN=client,O=Example,C=FR".
func appendDN(dst []byte, seq pkix.RDNSequence, a *Args) ([]byte, bool) {
	var entries []dnEntry
	for _, rdn := range seq {
		for _, atv := range rdn {
			name := dnShortNames[atv.Type.String()]
			if name == "" {
				name = atv.Type.String()
			}
			entries = append(entries, dnEntry{name, fmt.Sprint(atv.Value)})
		}
	}
	entry, occ, format := "", int64(1), ""
	if a.N > 0 {
		entry = a.Str[0]
	}
	if a.N > 1 && a.Int[1] != 0 {
		occ = a.Int[1]
	}
	if a.N > 2 {
		format = a.Str[2]
	}
	if entry != "" {
		var match []string
		for _, e := range entries {
			if strings.EqualFold(e.name, entry) {
				match = append(match, e.value)
			}
		}
		i := int(occ) - 1
		if occ < 0 {
			i = len(match) + int(occ)
		}
		if i < 0 || i >= len(match) {
			return dst, false
		}
		return append(dst, match[i]...), true
	}
	if format == "rfc2253" {
		for i := len(entries) - 1; i >= 0; i-- {
			if i != len(entries)-1 {
				dst = append(dst, ',')
			}
			dst = append(dst, entries[i].name...)
			dst = append(dst, '=')
			dst = appendRFC2253(dst, entries[i].value)
		}
		return dst, true
	}
	for _, e := range entries {
		dst = append(dst, '/')
		dst = append(dst, e.name...)
		dst = append(dst, '=')
		for i := 0; i < len(e.value); i++ {
			c := e.value[i]
			if c < 0x20 || c > 0x7e {
				dst = fmt.Appendf(dst, "\\x%02X", c)
			} else {
				dst = append(dst, c)
			}
		}
	}
	return dst, true
}

// appendRFC2253 escapes a value as RFC 2253 asks.
func appendRFC2253(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case strings.IndexByte(",+\"\\<>;", c) >= 0,
			(c == '#' || c == ' ') && i == 0,
			c == ' ' && i == len(v)-1:
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
