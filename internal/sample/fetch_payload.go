package sample

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// PayloadTxn is implemented by the transactions of tcp-request content
// rules: the request bytes received so far. Final tells that no more will
// come before the rules must decide (the inspect-delay ended, the buffer
// is full, the client closed). A fetch that cannot answer yet, or whose
// answer may still change, calls WantMore so that the rule waits for more
// data, as HAProxy's SMP_F_MAY_CHANGE does.
type PayloadTxn interface {
	Payload() []byte
	PayloadFinal() bool
	WantMore()
}

// payload returns the transaction's payload, false where there is none
// (HTTP rules: HAProxy's layer 6 fetches never match there).
func payload(t Txn) (PayloadTxn, []byte, bool) {
	p, ok := t.(PayloadTxn)
	if !ok {
		return nil, nil, false
	}
	return p, p.Payload(), true
}

// tooShort marks a fetch that needs more bytes: it waits unless the data
// is final.
func tooShort(p PayloadTxn) bool {
	if !p.PayloadFinal() {
		p.WantMore()
	}
	return false
}

const (
	needsPayload    = "the request payload (tcp-request content rules, use_backend in mode tcp)"
	needsResPayload = "the response payload (tcp-response content rules)"
)

// payloadLen is req.len and res.len: the bytes received so far; it may
// grow until final.
func payloadLen(t Txn, a *Args, it *Iter, v *Value) bool {
	p, d, ok := payload(t)
	if !ok {
		return false
	}
	if !p.PayloadFinal() {
		p.WantMore()
	}
	v.SetInt(int64(len(d)))
	return true
}

// payloadAt is req.payload and res.payload(off,len): len 0 takes
// everything from off.
func payloadAt(t Txn, a *Args, it *Iter, v *Value) bool {
	p, d, ok := payload(t)
	if !ok {
		return false
	}
	off, n := a.Int[0], a.Int[1]
	if off < 0 || n < 0 {
		return false
	}
	if n == 0 {
		if off > int64(len(d)) {
			return tooShort(p)
		}
		if !p.PayloadFinal() {
			p.WantMore()
		}
		v.SetBin(d[off:])
		return true
	}
	if off+n > int64(len(d)) {
		return tooShort(p)
	}
	v.SetBin(d[off : off+n])
	return true
}

func init() {
	reg := func(names []string, args []ArgType, minArgs int, out Type, fn FetchFunc) {
		for _, n := range names {
			RegisterFetch(&FetchDef{Name: n, Args: args, MinArgs: minArgs, Out: out, Phases: PhaseContent, Needs: needsPayload, Fn: fn,
				Multi: n == "req.ssl_alpn"}) // an ACL sees every protocol offered
		}
	}
	reg([]string{"req.len", "req_len"}, nil, 0, TypeInt, payloadLen)
	reg([]string{"req.payload", "payload"}, []ArgType{ArgInt, ArgInt}, 2, TypeBin, payloadAt)
	RegisterFetch(&FetchDef{Name: "res.len", Out: TypeInt, Phases: PhaseResContent, Needs: needsResPayload, Fn: payloadLen})
	RegisterFetch(&FetchDef{Name: "res.payload", Args: []ArgType{ArgInt, ArgInt}, MinArgs: 2, Out: TypeBin,
		Phases: PhaseResContent, Needs: needsResPayload, Fn: payloadAt})
	// req.payload_lv(off1,len1[,off2]): a len1-byte big-endian length at
	// off1, then that many bytes at off2 (after the length by default;
	// a signed off2 is relative to the end of the length).
	for _, n := range []string{"req.payload_lv", "payload_lv"} {
		RegisterFetch(&FetchDef{Name: n, Args: []ArgType{ArgInt, ArgInt, ArgStr}, MinArgs: 2, Out: TypeBin,
			Phases: PhaseContent, Needs: needsPayload, Prepare: preparePayloadLV, Fn: fetchPayloadLV})
	}
	reg([]string{"req.ssl_hello_type", "req_ssl_hello_type"}, nil, 0, TypeInt, fetchSSLHelloType)
	reg([]string{"req.ssl_ver", "req_ssl_ver"}, nil, 0, TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		p, d, ok := payload(t)
		if !ok {
			return false
		}
		ver, st := helloVersion(d)
		switch st {
		case tlsNeedMore:
			return tooShort(p)
		case tlsNotHello:
			return false
		}
		v.SetInt(int64(ver))
		return true
	})
	ext := func(names []string, want uint16) {
		reg(names, nil, 0, TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
			p, d, ok := payload(t)
			if !ok {
				return false
			}
			val, st := clientHelloExt(d, want, it)
			switch st {
			case tlsNeedMore:
				return tooShort(p)
			case tlsNotHello:
				return false
			}
			v.SetStr(val)
			return true
		})
	}
	ext([]string{"req.ssl_sni", "req_ssl_sni"}, extSNI)
	ext([]string{"req.ssl_alpn"}, extALPN)
	reg([]string{"req.rdp_cookie", "rdp_cookie"}, []ArgType{ArgStr}, 0, TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		p, d, ok := payload(t)
		if !ok {
			return false
		}
		val, st := RDPCookie(d, a.Str[0])
		switch st {
		case RDPNeedMore:
			return tooShort(p)
		case RDPAbsent:
			return false
		}
		v.SetStr(val)
		return true
	})
	reg([]string{"req.rdp_cookie_cnt", "rdp_cookie_cnt"}, []ArgType{ArgStr}, 0, TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		p, d, ok := payload(t)
		if !ok {
			return false
		}
		_, st := RDPCookie(d, a.Str[0])
		if st == RDPNeedMore {
			return tooShort(p)
		}
		v.SetInt(int64(b2i(st == RDPFound)))
		return true
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func preparePayloadLV(c *Compiler, a *Args) error {
	if a.Int[0] < 0 || a.Int[1] < 1 || a.Int[1] > 4 {
		return fmt.Errorf("req.payload_lv: the length must be 1 to 4 bytes at a non-negative offset")
	}
	if a.N < 3 {
		a.Data = payloadLVOff{off: a.Int[0] + a.Int[1]}
		return nil
	}
	s := a.Str[2]
	rel := len(s) > 0 && (s[0] == '+' || s[0] == '-')
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("req.payload_lv: bad offset '%s'", s)
	}
	if rel {
		n += a.Int[0] + a.Int[1]
	}
	if n < 0 {
		return fmt.Errorf("req.payload_lv: offset '%s' falls before the data", s)
	}
	a.Data = payloadLVOff{off: n}
	return nil
}

type payloadLVOff struct{ off int64 }

func fetchPayloadLV(t Txn, a *Args, it *Iter, v *Value) bool {
	p, d, ok := payload(t)
	if !ok {
		return false
	}
	lo, ll := a.Int[0], a.Int[1]
	if lo+ll > int64(len(d)) {
		return tooShort(p)
	}
	n := int64(0)
	for _, c := range d[lo : lo+ll] {
		n = n<<8 | int64(c)
	}
	off := a.Data.(payloadLVOff).off
	if off+n > int64(len(d)) {
		return tooShort(p)
	}
	v.SetBin(d[off : off+n])
	return true
}

type tlsState uint8

const (
	tlsOK tlsState = iota
	tlsNeedMore
	tlsNotHello
)

const (
	extSNI  = 0
	extALPN = 16
)

// helloVersion reads the version a ClientHello asks for (major<<16|minor:
// 3.3 is TLS 1.2, also in TLS 1.3's hellos), as HAProxy's req.ssl_ver:
// a record of SSLv3's format (3.0 or later) whose length is sane, read
// whole. SSLv2-format hellos are not recognized.
func helloVersion(d []byte) (int, tlsState) {
	if len(d) == 0 {
		return 0, tlsNeedMore
	}
	if (d[0] < 0x14 || d[0] > 0x17) && d[0] != 0xff {
		return 0, tlsNotHello
	}
	if len(d) < 11 {
		return 0, tlsNeedMore
	}
	rec := int(binary.BigEndian.Uint16(d[3:5]))
	if d[1] < 3 || rec < 6 || rec > 1<<14+2048 {
		return 0, tlsNotHello
	}
	if len(d) < 5+rec {
		return 0, tlsNeedMore
	}
	return int(d[9])<<16 | int(d[10]), tlsOK
}

// helloType reads the handshake type of the first record: 1 for a
// ClientHello, 2 for a ServerHello.
func helloType(d []byte) (int, tlsState) {
	if len(d) < 6 {
		return 0, tlsNeedMore
	}
	if d[0] != 0x16 || d[1] != 3 {
		return 0, tlsNotHello
	}
	if t := d[5]; t == 1 || t == 2 {
		return int(t), tlsOK
	}
	return 0, tlsNotHello
}

// helloExtensions is the extensions block of the ClientHello of the first
// record, which must hold the whole ClientHello.
func helloExtensions(d []byte) ([]byte, tlsState) {
	if len(d) < 5 {
		return nil, tlsNeedMore
	}
	if d[0] != 0x16 || d[1] != 3 {
		return nil, tlsNotHello
	}
	rec := int(binary.BigEndian.Uint16(d[3:5]))
	if len(d) < 5+rec {
		return nil, tlsNeedMore
	}
	h := d[5 : 5+rec]
	if len(h) < 4 || h[0] != 1 {
		return nil, tlsNotHello
	}
	hl := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if hl > len(h)-4 {
		return nil, tlsNotHello // split over records: not followed, as HAProxy
	}
	b := h[4 : 4+hl]
	// version, random, session id, cipher suites, compression methods
	if len(b) < 2+32+1 {
		return nil, tlsNotHello
	}
	b = b[34:]
	skip := func(lenBytes int) bool {
		if len(b) < lenBytes {
			return false
		}
		n := 0
		for _, c := range b[:lenBytes] {
			n = n<<8 | int(c)
		}
		if len(b) < lenBytes+n {
			return false
		}
		b = b[lenBytes+n:]
		return true
	}
	if !skip(1) || !skip(2) || !skip(1) || len(b) < 2 {
		return nil, tlsNotHello
	}
	el := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if el > len(b) {
		return nil, tlsNotHello
	}
	b = b[:el]
	return b, tlsOK
}

// clientHelloExt finds extension want in the ClientHello of the first
// record and returns its name: the host name of SNI; a protocol of ALPN,
// the first one, or for an ACL (it) each in turn (it.A: the offset of the
// next in the list). The whole ClientHello must be in that record.
func clientHelloExt(d []byte, want uint16, it *Iter) ([]byte, tlsState) {
	b, st := helloExtensions(d)
	if st != tlsOK {
		return nil, st
	}
	for len(b) >= 4 {
		typ := binary.BigEndian.Uint16(b)
		n := int(binary.BigEndian.Uint16(b[2:]))
		if len(b) < 4+n {
			return nil, tlsNotHello
		}
		body := b[4 : 4+n]
		b = b[4+n:]
		if typ != want {
			continue
		}
		switch want {
		case extSNI:
			// list length, then name type 0 (host name) and its length
			if len(body) < 5 || body[2] != 0 {
				return nil, tlsNotHello
			}
			l := int(binary.BigEndian.Uint16(body[3:]))
			if len(body) < 5+l {
				return nil, tlsNotHello
			}
			return body[5 : 5+l], tlsOK
		case extALPN:
			off := 2 // past the list length
			if it != nil && it.A > off {
				off = it.A
			}
			if len(body) < off+1 {
				return nil, tlsNotHello
			}
			l := int(body[off])
			if len(body) < off+1+l {
				return nil, tlsNotHello
			}
			if it != nil {
				it.A, it.More = off+1+l, off+1+l < len(body)
			}
			return body[off+1 : off+1+l], tlsOK
		}
	}
	return nil, tlsNotHello
}

// BodyTxn is implemented by HTTP transactions whose request body was read
// before the rules ("option http-buffer-request"): the body received (at
// most a buffer) and the advertised length; ok is false when it was not
// read.
type BodyTxn interface {
	RequestBody() (body []byte, size int64, ok bool)
}

func init() {
	body := func(name string, out Type, args []ArgType, minArgs int, fn func(t Txn, a *Args, b []byte, size int64, v *Value) bool) {
		RegisterFetch(&FetchDef{Name: name, Args: args, MinArgs: minArgs, Out: out, Phases: PhaseReq,
			Needs: "the request body read by 'option http-buffer-request'",
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				bt, ok := t.(BodyTxn)
				if !ok {
					return false
				}
				b, size, ok := bt.RequestBody()
				if !ok {
					return false
				}
				return fn(t, a, b, size, v)
			}})
	}
	body("req.body", TypeBin, nil, 0, func(t Txn, a *Args, b []byte, size int64, v *Value) bool {
		v.SetBin(b)
		return true
	})
	body("req.body_len", TypeInt, nil, 0, func(t Txn, a *Args, b []byte, size int64, v *Value) bool {
		v.SetInt(int64(len(b)))
		return true
	})
	body("req.body_size", TypeInt, nil, 0, func(t Txn, a *Args, b []byte, size int64, v *Value) bool {
		v.SetInt(size)
		return true
	})
	// req.body_param([name]): a form parameter of the body ('&'-separated
	// pairs); without a name, the whole body.
	body("req.body_param", TypeStr, []ArgType{ArgStr, ArgStr}, 0, func(t Txn, a *Args, b []byte, size int64, v *Value) bool {
		if a.N == 0 || a.Str[0] == "" {
			v.SetBin(b)
			return true
		}
		p, ok := queryParam(b, a.Byt[0])
		if !ok {
			return false
		}
		v.SetStr(p)
		return true
	})
}

// ResponseBodyTxn is implemented by HTTP transactions whose response body
// was read before the rules ("http-response wait-for-body"): the body
// received (decoded when chunked), its size, and ok false when it was not
// read.
type ResponseBodyTxn interface {
	ResponseBody() (body []byte, size int64, ok bool)
}

func init() {
	body := func(name string, out Type, fn func(b []byte, size int64, v *Value)) {
		RegisterFetch(&FetchDef{Name: name, Out: out, Phases: PhaseRes,
			Needs: "the response body read by 'http-response wait-for-body'",
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				bt, ok := t.(ResponseBodyTxn)
				if !ok {
					return false
				}
				b, size, ok := bt.ResponseBody()
				if ok {
					fn(b, size, v)
				}
				return ok
			}})
	}
	body("res.body", TypeBin, func(b []byte, _ int64, v *Value) { v.SetBin(b) })
	body("res.body_len", TypeInt, func(b []byte, _ int64, v *Value) { v.SetInt(int64(len(b))) })
	body("res.body_size", TypeInt, func(_ []byte, size int64, v *Value) { v.SetInt(size) })
}

// fetchSSLHelloType is req.ssl_hello_type and res.ssl_hello_type: the TLS
// handshake message type of the payload's first record (the side's
// payload, as the fetch's phase gives it).
func fetchSSLHelloType(t Txn, a *Args, it *Iter, v *Value) bool {
	p, d, ok := payload(t)
	if !ok {
		return false
	}
	typ, st := helloType(d)
	switch st {
	case tlsNeedMore:
		return tooShort(p)
	case tlsNotHello:
		return false
	}
	v.SetInt(int64(typ))
	return true
}
