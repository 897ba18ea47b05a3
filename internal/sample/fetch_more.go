package sample

import (
	"net/netip"

	"dhproxy/internal/http1"
)

// More HTTP fetches of HAProxy 2.6: cookie counts and integer values
// (request and response), the header block and its names, and the
// address and port of an absolute URI.

func init() {
	reqFetch := func(name string, out Type, fn FetchFunc, minArgs int, args ...ArgType) {
		RegisterFetch(&FetchDef{Name: name, Args: args, MinArgs: minArgs, Out: out, Phases: PhaseReq, Needs: needsRequest, Fn: fn})
	}
	resFetch := func(name string, out Type, fn FetchFunc, minArgs int, multi bool, args ...ArgType) {
		RegisterFetch(&FetchDef{Name: name, Args: args, MinArgs: minArgs, Out: out, Phases: PhaseRes, Needs: needsResponse, Fn: fn, Multi: multi})
	}
	reqHeaders := func(t Txn) []http1.Header { return t.Request().Headers }
	resHeaders := func(t Txn) []http1.Header { return t.Response().Headers }

	for _, n := range []string{"req.cook_cnt", "cook_cnt"} {
		reqFetch(n, TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
			v.SetInt(int64(countCookies(reqHeaders(t), http1.KindCookie, a)))
			return true
		}, 0, ArgStr)
	}
	for _, n := range []string{"req.cook_val", "cook_val"} {
		reqFetch(n, TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
			return cookieInt(reqHeaders(t), http1.KindCookie, a, v)
		}, 1, ArgStr)
	}
	for _, n := range []string{"res.cook", "scook"} {
		resFetch(n, TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
			return cookies(resHeaders(t), http1.KindSetCookie, a, it, v)
		}, 0, true, ArgStr)
	}
	for _, n := range []string{"res.cook_cnt", "scook_cnt"} {
		resFetch(n, TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
			v.SetInt(int64(countCookies(resHeaders(t), http1.KindSetCookie, a)))
			return true
		}, 0, false, ArgStr)
	}
	for _, n := range []string{"res.cook_val", "scook_val"} {
		resFetch(n, TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
			return cookieInt(resHeaders(t), http1.KindSetCookie, a, v)
		}, 1, false, ArgStr)
	}

	// req.hdrs: the header block as HAProxy rebuilds it (names in lower
	// case, one "name: value" line each, the empty line at the end); the
	// Connection header's close and keep-alive tokens are not headers for
	// HAProxy but connection state, so a Connection header of only those
	// is left out.
	reqFetch("req.hdrs", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		s := t.Scratch()
		start := len(*s)
		for _, h := range reqHeaders(t) {
			if isOnlyConnectionState(&h) {
				continue
			}
			*s = appendLower(*s, h.Name)
			*s = append(append(append(*s, ':', ' '), h.Value...), '\r', '\n')
		}
		*s = append(*s, '\r', '\n')
		v.SetStr((*s)[start:len(*s):len(*s)])
		return true
	}, 0)
	reqFetch("req.hdr_names", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		delim := byte(',')
		if a.N > 0 && a.Str[0] != "" {
			delim = a.Str[0][0]
		}
		s := t.Scratch()
		start := len(*s)
		for _, h := range reqHeaders(t) {
			if isOnlyConnectionState(&h) {
				continue
			}
			if len(*s) > start {
				*s = append(*s, delim)
			}
			*s = appendLower(*s, h.Name)
		}
		v.SetStr((*s)[start:len(*s):len(*s)])
		return true
	}, 0, ArgStr)

	// hdr_ip(name[,occ]): a header value read as an address: an IPv4
	// address with whatever follows it ("10.0.0.1:80"), else IPv6.
	for _, n := range []string{"hdr_ip", "req.hdr_ip"} {
		RegisterFetch(&FetchDef{Name: n, Args: []ArgType{ArgStr, ArgInt}, MinArgs: 1, Out: TypeIP, Phases: PhaseReq, Needs: needsRequest, Multi: true, OccArg: true,
			Prepare: prepareHeaderName,
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				if !headerFetch(reqHeaders(t), a, it, v, true) {
					return false
				}
				addr, ok := leadingAddr(v.Bytes)
				if !ok {
					return false
				}
				v.SetIP(addr)
				if it != nil {
					it.More = true
				}
				return true
			}})
	}

	// url_ip and url_port: the IPv4 address and port of an absolute URI
	// ("http://10.0.0.1:81/"); port 80 when none is written. HAProxy
	// reads no host name there, nor IPv6.
	reqFetch("url_ip", TypeIP, func(t Txn, a *Args, it *Iter, v *Value) bool {
		addr, _, ok := urlAddr(t.Request().URI)
		if ok {
			v.SetIP(addr)
		}
		return ok
	}, 0)
	reqFetch("url_port", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		_, port, ok := urlAddr(t.Request().URI)
		if ok {
			v.SetInt(int64(port))
		}
		return ok
	}, 0)
}

// cookiePairs calls fn with each name=value pair of the Cookie headers,
// or with the first of each Set-Cookie (the rest of it are attributes;
// with all, those too, as HAProxy counts them when no name is given),
// until fn returns false. Both headers are comma-separated lists for
// HAProxy: a comma outside quotes starts a new Set-Cookie.
func cookiePairs(hs []http1.Header, kind http1.Kind, all bool, fn func(name, value []byte) bool) {
	for i := range hs {
		h := &hs[i]
		if h.Kind != kind {
			continue
		}
		rest := h.Value
		for len(rest) > 0 {
			end, comma := cookiePairEnd(rest)
			pair := rest[:end]
			rest = rest[min(end+1, len(rest)):]
			name, value, ok := splitCookie(pair)
			if !ok {
				continue
			}
			if !fn(name, value) {
				return
			}
			if kind == http1.KindSetCookie && !all && !comma {
				// skip the attributes, up to the next Set-Cookie
				if e := elementEnd(rest); e < len(rest) {
					rest = rest[e+1:]
				} else {
					rest = nil
				}
			}
		}
	}
}

// countCookies counts the cookies named a.Str[0], or all without a name.
func countCookies(hs []http1.Header, kind http1.Kind, a *Args) int {
	n := 0
	anyName := a.N == 0 || a.Str[0] == ""
	cookiePairs(hs, kind, anyName, func(name, _ []byte) bool {
		if anyName || string(name) == a.Str[0] {
			n++
		}
		return true
	})
	return n
}

// cookies is res.cook: the last cookie of that name (without a name, the
// first cookie, as HAProxy answers), or each in turn for an ACL (it.A
// counts those already given).
func cookies(hs []http1.Header, kind http1.Kind, a *Args, it *Iter, v *Value) bool {
	var found []byte
	ok, seen := false, 0
	anyName := a.N == 0 || a.Str[0] == ""
	cookiePairs(hs, kind, false, func(name, value []byte) bool {
		if !anyName && string(name) != a.Str[0] {
			return true
		}
		if it != nil {
			if seen++; seen <= it.A {
				return true
			}
			it.A++
			found, ok, it.More = value, true, true
			return false
		}
		found, ok = value, true
		return !anyName
	})
	if ok {
		v.SetStr(found)
	}
	return ok
}

// cookieInt is the last such cookie's value read as an integer.
func cookieInt(hs []http1.Header, kind http1.Kind, a *Args, v *Value) bool {
	var last []byte
	found := false
	cookiePairs(hs, kind, false, func(name, value []byte) bool {
		if string(name) == a.Str[0] {
			last, found = value, true
		}
		return true
	})
	if !found {
		return false
	}
	n, _ := parseLeadingInt(last)
	v.SetInt(n)
	return true
}

func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// isOnlyConnectionState tells whether h is a Connection header holding
// only "close" and "keep-alive", which HAProxy's HTTP/1 parser removes.
func isOnlyConnectionState(h *http1.Header) bool {
	if h.Kind != http1.KindConnection {
		return false
	}
	rest := h.Value
	for len(rest) > 0 {
		tok := rest
		rest = nil
		for j, c := range tok {
			if c == ',' {
				tok, rest = tok[:j], tok[j+1:]
				break
			}
		}
		tok = trimOWS(tok)
		if len(tok) > 0 && !http1.EqualFold(tok, "close") && !http1.EqualFold(tok, "keep-alive") {
			return false
		}
	}
	return true
}

// urlAddr reads "scheme://a.b.c.d[:port]" at the start of an absolute URI.
func urlAddr(uri []byte) (netip.Addr, uint16, bool) {
	var auth []byte
	for i := 0; i+2 < len(uri) && uri[i] != '/'; i++ {
		if uri[i] == ':' && uri[i+1] == '/' && uri[i+2] == '/' {
			auth = uri[i+3:]
			break
		}
	}
	if auth == nil {
		return netip.Addr{}, 0, false // origin form: no authority
	}
	for i, c := range auth {
		if c == '/' || c == '?' {
			auth = auth[:i]
			break
		}
	}
	for i, c := range auth {
		if c == '@' {
			auth = auth[i+1:]
			break
		}
	}
	host, port := splitHostPort(auth)
	addr, err := netip.ParseAddr(string(host))
	if err != nil || !addr.Is4() {
		return netip.Addr{}, 0, false
	}
	p := uint16(80)
	if port != nil {
		n, ok := parseLeadingInt(port)
		if !ok || n < 0 || n > 65535 {
			return netip.Addr{}, 0, false
		}
		p = uint16(n)
	}
	return addr, p, true
}

// leadingAddr reads an IPv4 address at the start of b (what follows is
// ignored, as HAProxy's url2ipv4 does), else b whole as an IPv6 address.
func leadingAddr(b []byte) (netip.Addr, bool) {
	var a [4]byte
	i := 0
	for part := 0; part < 4; part++ {
		if part > 0 {
			if i >= len(b) || b[i] != '.' {
				goto v6
			}
			i++
		}
		n, digits := 0, 0
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9' && digits < 3; i++ {
			n = n*10 + int(b[i]-'0')
			digits++
		}
		if digits == 0 || n > 255 {
			goto v6
		}
		a[part] = byte(n)
	}
	return netip.AddrFrom4(a), true
v6:
	var buf [64]byte
	if len(b) >= len(buf) {
		return netip.Addr{}, false
	}
	addr, err := netip.ParseAddr(string(append(buf[:0], b...)))
	if err != nil || !addr.Is6() {
		return netip.Addr{}, false
	}
	return addr, true
}
