package sample

import "encoding/binary"

// Layer 6 fetches on a ClientHello still in the request buffer (mode tcp
// with TLS passed through): whether it offers the elliptic curves
// extension and a session ticket; and the handshake type of the response.

const (
	extSupportedGroups = 10 // RFC 4492's "elliptic_curves"
	extSessionTicket   = 35
)

func init() {
	// helloExt answers from the ClientHello's extension of type want
	// (body nil: not offered).
	helloExt := func(name string, out Type, want uint16, answer func(body []byte, found bool, v *Value) bool) {
		RegisterFetch(&FetchDef{Name: name, Out: out, Phases: PhaseContent, Needs: needsPayload,
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				p, d, ok := payload(t)
				if !ok {
					return false
				}
				exts, st := helloExtensions(d)
				switch st {
				case tlsNeedMore:
					return tooShort(p)
				case tlsNotHello:
					return false
				}
				body, found, ok := findExtension(exts, want)
				if !ok {
					return false
				}
				return answer(body, found, v)
			}})
	}
	// req.ssl_ec_ext: true when offered; no sample otherwise, as haproxy
	// 2.6.12 answers.
	helloExt("req.ssl_ec_ext", TypeBool, extSupportedGroups, func(_ []byte, found bool, v *Value) bool {
		v.SetBool(true)
		return found
	})
	// req.ssl_st_ext: 0 without the SessionTicket extension, 1 with an
	// empty one, 2 with a ticket in it.
	helloExt("req.ssl_st_ext", TypeInt, extSessionTicket, func(body []byte, found bool, v *Value) bool {
		switch {
		case !found:
			v.SetInt(0)
		case len(body) == 0:
			v.SetInt(1)
		default:
			v.SetInt(2)
		}
		return true
	})
	for _, n := range []string{"res.ssl_hello_type", "rep_ssl_hello_type"} {
		RegisterFetch(&FetchDef{Name: n, Out: TypeInt, Phases: PhaseResContent, Needs: needsResPayload,
			Fn: fetchSSLHelloType})
	}
}

// findExtension looks for extension want in an extensions block; ok is
// false when the block is malformed.
func findExtension(b []byte, want uint16) (body []byte, found, ok bool) {
	for len(b) >= 4 {
		typ := binary.BigEndian.Uint16(b)
		n := int(binary.BigEndian.Uint16(b[2:]))
		if len(b) < 4+n {
			return nil, false, false
		}
		if typ == want {
			return b[4 : 4+n], true, true
		}
		b = b[4+n:]
	}
	return nil, false, true
}
