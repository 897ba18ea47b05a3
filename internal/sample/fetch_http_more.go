package sample

import (
	"encoding/base64"
	"net/netip"

	"dhproxy/internal/http1"
	"dhproxy/internal/lb"
)

// The rest of HAProxy 2.6's HTTP fetches: URL hashes (base32, url32 and
// their "+src" forms), baseq, the "capture.*" request line and version
// fetches, header counts, integers and addresses of either direction, the
// header blocks in SPOE's binary form, the Authorization header's parts,
// and the deprecated cookie.

func init() {
	reqFetch := func(name string, out Type, fn FetchFunc, minArgs int, args ...ArgType) {
		RegisterFetch(&FetchDef{Name: name, Args: args, MinArgs: minArgs, Out: out, Phases: PhaseReq, Needs: needsRequest, Fn: fn})
	}
	resFetch := func(name string, out Type, fn FetchFunc, minArgs int, args ...ArgType) {
		RegisterFetch(&FetchDef{Name: name, Args: args, MinArgs: minArgs, Out: out, Phases: PhaseRes, Needs: needsResponse, Fn: fn})
	}
	// persistent: HAProxy keeps these request facts for the whole
	// transaction, so response rules may read them too.
	persistent := func(name string, fn FetchFunc) {
		RegisterFetch(&FetchDef{Name: name, Out: TypeStr, Phases: PhaseReq | PhaseRes, Needs: needsRequest, Fn: fn})
	}
	reqHeaders := func(t Txn) []http1.Header { return t.Request().Headers }
	resHeaders := func(t Txn) []http1.Header { return t.Response().Headers }

	// base32 is sdbm over the first Host value and the path, avalanched
	// (HAProxy's "base,sdbm(1)"); url32 hashes the whole Host header and
	// the path with its query string the same way.
	reqFetch("base32", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetInt(int64(base32(t)))
		return true
	}, 0)
	reqFetch("url32", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetInt(int64(url32(t)))
		return true
	}, 0)
	// base32+src and url32+src: the hash's 4 bytes (network order), then
	// the client's address (4 or 16 bytes).
	withSrc := func(hash func(Txn) uint32) FetchFunc {
		return func(t Txn, a *Args, it *Iter, v *Value) bool {
			h := hash(t)
			s := t.Scratch()
			start := len(*s)
			*s = append(*s, byte(h>>24), byte(h>>16), byte(h>>8), byte(h))
			*s = appendAddr(*s, t.Src().Addr())
			v.SetBin((*s)[start:len(*s):len(*s)])
			return true
		}
	}
	reqFetch("base32+src", TypeBin, withSrc(base32), 0)
	reqFetch("url32+src", TypeBin, withSrc(url32), 0)
	// baseq: base with the query string.
	reqFetch("baseq", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		host := firstHost(t)
		pq := http1.PathQuery(t.Request().URI)
		if len(host) == 0 {
			v.SetStr(pq)
			return true
		}
		s := t.Scratch()
		start := len(*s)
		*s = append(append(*s, host...), pq...)
		v.SetStr((*s)[start:len(*s):len(*s)])
		return true
	}, 0)

	persistent("capture.req.method", func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetStr(t.Request().Method)
		return true
	})
	// capture.req.uri: the request target from its first slash (an
	// absolute URI loses its scheme and authority); "*" has none.
	persistent("capture.req.uri", func(t Txn, a *Args, it *Iter, v *Value) bool {
		pq := http1.PathQuery(t.Request().URI)
		if len(pq) == 0 {
			return false
		}
		v.SetStr(pq)
		return true
	})
	// capture.req.ver: HTTP/2 requests are "HTTP/1.1" here (haproxy's
	// version flag), unlike req.ver's "2.0".
	persistent("capture.req.ver", func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetStr(httpVersion(&t.Request().Message))
		return true
	})
	resFetch("capture.res.ver", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetStr(httpVersion(&t.Response().Message))
		return true
	}, 0)

	// req.fhdr_cnt([name]): whole header lines; without a name, all of
	// them but what HAProxy keeps as connection state.
	fhdrCount := func(hs func(Txn) []http1.Header) FetchFunc {
		return func(t Txn, a *Args, it *Iter, v *Value) bool {
			if a.N == 0 || a.Str[0] == "" {
				n := 0
				for _, h := range hs(t) {
					if !isOnlyConnectionState(&h) {
						n++
					}
				}
				v.SetInt(int64(n))
				return true
			}
			v.SetInt(int64(countValues(hs(t), a.hdr, false)))
			return true
		}
	}
	for _, d := range []struct {
		name  string
		phase Phase
		needs string
		hs    func(Txn) []http1.Header
	}{{"req.fhdr_cnt", PhaseReq, needsRequest, reqHeaders}, {"res.fhdr_cnt", PhaseRes, needsResponse, resHeaders}} {
		RegisterFetch(&FetchDef{Name: d.name, Args: []ArgType{ArgStr}, Out: TypeInt, Phases: d.phase, Needs: d.needs,
			Prepare: prepareHeaderName, Fn: fhdrCount(d.hs)})
	}

	// hdr_val: the value read as HAProxy's strl2ic reads it; hdr_ip of
	// the response. Without a name there is no sample, as in HAProxy.
	headerInt := func(hs func(Txn) []http1.Header) FetchFunc {
		return func(t Txn, a *Args, it *Iter, v *Value) bool {
			if a.N == 0 || a.Str[0] == "" || !headerFetch(hs(t), a, it, v, true) {
				return false
			}
			v.SetInt(int64(strl2ic(v.Bytes)))
			return true
		}
	}
	headerIP := func(hs func(Txn) []http1.Header) FetchFunc {
		return func(t Txn, a *Args, it *Iter, v *Value) bool {
			if a.N == 0 || a.Str[0] == "" || !headerFetch(hs(t), a, it, v, true) {
				return false
			}
			addr, ok := leadingAddr(v.Bytes)
			if !ok {
				return false
			}
			v.SetIP(addr)
			return true
		}
	}
	multiHeader := func(names []string, out Type, phase Phase, needs string, fn FetchFunc) {
		for _, n := range names {
			RegisterFetch(&FetchDef{Name: n, Args: []ArgType{ArgStr, ArgInt}, Out: out, Phases: phase, Needs: needs,
				Multi: true, OccArg: true, Prepare: prepareHeaderName, Fn: fn})
		}
	}
	multiHeader([]string{"req.hdr_val", "hdr_val"}, TypeInt, PhaseReq, needsRequest, headerInt(reqHeaders))
	multiHeader([]string{"res.hdr_val", "shdr_val"}, TypeInt, PhaseRes, needsResponse, headerInt(resHeaders))
	multiHeader([]string{"res.hdr_ip", "shdr_ip"}, TypeIP, PhaseRes, needsResponse, headerIP(resHeaders))

	resFetch("res.hdr_names", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		delim := byte(',')
		if a.N > 0 && a.Str[0] != "" {
			delim = a.Str[0][0]
		}
		v.SetStr(appendHeaderNames(t.Scratch(), resHeaders(t), delim))
		return true
	}, 0, ArgStr)
	resFetch("res.hdrs", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetStr(appendHeaderBlock(t.Scratch(), resHeaders(t)))
		return true
	}, 0)
	reqFetch("req.hdrs_bin", TypeBin, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetBin(appendHeadersBin(t.Scratch(), reqHeaders(t)))
		return true
	}, 0)
	resFetch("res.hdrs_bin", TypeBin, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetBin(appendHeadersBin(t.Scratch(), resHeaders(t)))
		return true
	}, 0)

	// The Authorization header: its scheme, and Basic's user and
	// password, or Bearer's token.
	reqFetch("http_auth_type", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		var au authData
		switch parseAuth(t, &au); au.scheme {
		case authBasic:
			v.SetStr(basicWord)
		case authBearer:
			v.SetStr(bearerWord)
		default:
			return false
		}
		return true
	}, 0)
	for _, pass := range []bool{false, true} {
		name := "http_auth_user"
		if pass {
			name = "http_auth_pass"
		}
		reqFetch(name, TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
			var au authData
			if parseAuth(t, &au); au.scheme != authBasic {
				return false
			}
			if pass {
				v.SetStr(au.pass)
			} else {
				v.SetStr(au.user)
			}
			return true
		}, 0)
	}
	// http_auth_bearer([header]): the token after "Bearer ", from the
	// Authorization header or the one named.
	RegisterFetch(&FetchDef{Name: "http_auth_bearer", Args: []ArgType{ArgStr}, Out: TypeStr, Phases: PhaseReq, Needs: needsRequest,
		Prepare: prepareHeaderName,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			if a.N == 0 || a.Str[0] == "" {
				// the Authorization header as the other http_auth_* read
				// it: "B x" is a (bad) Basic one there
				var au authData
				if parseAuth(t, &au); au.scheme != authBearer {
					return false
				}
				v.SetStr(trimOWS(au.token))
				return true
			}
			val, ok := headerValue(reqHeaders(t), a.hdr, 1, true)
			if !ok {
				return false
			}
			// a named header's scheme is the whole word, unlike
			// Authorization's ("Bear x" is no Bearer there)
			scheme, rest, ok := cutScheme(val)
			if !ok || !http1.EqualFold(scheme, "Bearer") {
				return false
			}
			v.SetStr(trimOWS(rest))
			return true
		}})

	// cookie([name]) (deprecated): the request's Cookie headers in
	// request rules, the response's Set-Cookie headers in response
	// rules. An ACL is compiled once for every phase: there it reads the
	// request, as the hdr* ACLs do.
	RegisterFetch(&FetchDef{Name: "cookie", Args: []ArgType{ArgStr}, Out: TypeStr, Phases: PhaseReq | PhaseRes, Needs: needsRequest, Multi: true,
		Prepare: func(c *Compiler, a *Args) error {
			if c.where == PhaseRes {
				a.Data = responseSide{}
			}
			return nil
		},
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			if _, res := a.Data.(responseSide); res {
				return cookies(resHeaders(t), http1.KindSetCookie, a, it, v)
			}
			return cookies(reqHeaders(t), http1.KindCookie, a, it, v)
		}})
}

// responseSide marks a fetch compiled for response rules (Args.Data).
type responseSide struct{}

var (
	authorizationHeader = headerNameOf("authorization")
	basicWord           = []byte("Basic")
	bearerWord          = []byte("Bearer")
	httpVer10           = []byte("HTTP/1.0")
	httpVer11           = []byte("HTTP/1.1")
)

func httpVersion(m *http1.Message) []byte {
	if m.Minor == 0 {
		return httpVer10
	}
	return httpVer11
}

// firstHost is the first comma-separated value of the first Host header.
func firstHost(t Txn) []byte {
	host, _ := headerValue(t.Request().Headers, hostHeader, 1, true)
	return host
}

func sdbmOn(h uint32, b []byte) uint32 {
	for _, c := range b {
		h = uint32(c) + (h << 6) + (h << 16) - h
	}
	return h
}

func base32(t Txn) uint32 {
	p, _ := splitQuery(http1.PathQuery(t.Request().URI))
	return lb.FullHash(sdbmOn(sdbmOn(0, firstHost(t)), p))
}

func url32(t Txn) uint32 {
	var h uint32
	if host, ok := headerValue(t.Request().Headers, hostHeader, 1, false); ok {
		h = sdbmOn(h, host)
	}
	return lb.FullHash(sdbmOn(h, http1.PathQuery(t.Request().URI)))
}

func appendAddr(dst []byte, a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return append(dst, b[:]...)
	}
	b := a.As16()
	return append(dst, b[:]...)
}

// strl2ic is HAProxy's reading of a header as an integer: digits up to
// the first byte above '9'; a byte below '0' is not refused but added as
// a negative digit, and the sum wraps at 32 bits, as its C does.
func strl2ic(b []byte) int32 {
	var n int32
	if len(b) == 0 {
		return 0
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	for _, c := range b {
		d := int32(c) - '0'
		if d > 9 {
			break
		}
		if neg {
			n = n*10 - d
		} else {
			n = n*10 + d
		}
	}
	return n
}

// appendHeaderNames writes the lower-case header names separated by
// delim, leaving out what HAProxy keeps as connection state.
func appendHeaderNames(s *[]byte, hs []http1.Header, delim byte) []byte {
	start := len(*s)
	for i := range hs {
		h := &hs[i]
		if isOnlyConnectionState(h) {
			continue
		}
		if len(*s) > start {
			*s = append(*s, delim)
		}
		*s = appendLower(*s, h.Name)
	}
	return (*s)[start:len(*s):len(*s)]
}

// appendHeaderBlock writes the headers as HAProxy rebuilds them: one
// "name: value" line each, the name in lower case, then the empty line.
func appendHeaderBlock(s *[]byte, hs []http1.Header) []byte {
	start := len(*s)
	for i := range hs {
		h := &hs[i]
		if isOnlyConnectionState(h) {
			continue
		}
		*s = appendLower(*s, h.Name)
		*s = append(append(append(*s, ':', ' '), h.Value...), '\r', '\n')
	}
	*s = append(*s, '\r', '\n')
	return (*s)[start:len(*s):len(*s)]
}

// appendHeadersBin writes the headers in SPOE's form: each name (lower
// case) and value as a varint length and its bytes, then two empty
// strings.
func appendHeadersBin(s *[]byte, hs []http1.Header) []byte {
	start := len(*s)
	for i := range hs {
		h := &hs[i]
		if isOnlyConnectionState(h) {
			continue
		}
		*s = AppendVarint(*s, uint64(len(h.Name)))
		*s = appendLower(*s, h.Name)
		*s = AppendVarint(*s, uint64(len(h.Value)))
		*s = append(*s, h.Value...)
	}
	*s = append(*s, 0, 0)
	return (*s)[start:len(*s):len(*s)]
}

// AppendVarint is HAProxy's variable-length integer (SPOE, the peers
// protocol): below 240 one byte; else the low 4 bits with the top 4 set,
// then 7 bits a byte, the high bit saying another byte follows.
func AppendVarint(dst []byte, n uint64) []byte {
	if n < 240 {
		return append(dst, byte(n))
	}
	dst = append(dst, byte(n)|240)
	n = (n - 240) >> 4
	for n >= 128 {
		dst = append(dst, byte(n)|128)
		n = (n - 128) >> 7
	}
	return append(dst, byte(n))
}

const (
	authNone = iota
	authBasic
	authBearer
)

type authData struct {
	scheme     int
	user, pass []byte // Basic's
	token      []byte // Bearer's, as written after the space
}

// parseAuth reads the first value of the Authorization header as HAProxy
// does: the scheme is the word before the first space, matched against
// "Basic" and "Bearer" case-insensitively over the word's length; Basic's
// credentials must decode (standard base64) and hold a ':', or the header
// is not understood at all.
func parseAuth(t Txn, au *authData) {
	val, ok := headerValue(t.Request().Headers, authorizationHeader, 1, true)
	if !ok {
		return
	}
	scheme, rest, ok := cutScheme(val)
	if !ok {
		return
	}
	switch {
	case schemeIs(scheme, "Basic"):
		s := t.Scratch()
		start := len(*s)
		*s = append(*s, make([]byte, base64.StdEncoding.DecodedLen(len(rest)))...)
		n, err := base64.StdEncoding.Decode((*s)[start:], rest)
		if err != nil {
			*s = (*s)[:start]
			return
		}
		dec := (*s)[start : start+n : start+n]
		*s = (*s)[:start+n]
		for i, c := range dec {
			if c == ':' {
				au.scheme, au.user, au.pass = authBasic, dec[:i], dec[i+1:]
				return
			}
		}
	case schemeIs(scheme, "Bearer"):
		au.scheme, au.token = authBearer, rest
	}
}

// schemeIs compares as HAProxy's strncasecmp over the scheme's length
// does: "bas" is Basic too.
func schemeIs(scheme []byte, word string) bool {
	return len(scheme) <= len(word) && http1.EqualFold(scheme, word[:len(scheme)])
}

// cutScheme splits an Authorization value at its first space; the scheme
// is not empty.
func cutScheme(val []byte) (scheme, rest []byte, ok bool) {
	for i, c := range val {
		if c == ' ' {
			return val[:i], val[i+1:], i > 0
		}
	}
	return nil, nil, false
}
