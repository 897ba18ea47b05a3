package sample

import (
	"bytes"

	"dhproxy/internal/http1"
)

// HTTP fetches: the request line and headers (request phase) and the
// response status and headers (response phase). Values are slices of the
// parsed head; only base assembles bytes, in the scratch buffer.

const (
	needsRequest  = "the HTTP request (http-request rules, use_backend)"
	needsResponse = "the HTTP response (http-response rules)"
)

func init() {
	reqFetch := func(name string, out Type, fn FetchFunc, args ...ArgType) {
		RegisterFetch(&FetchDef{Name: name, Args: args, Out: out, Phases: PhaseReq, Needs: needsRequest, Fn: fn})
	}
	reqFetch("method", TypeMeth, func(t Txn, a *Args, it *Iter, v *Value) bool {
		*v = Value{Type: TypeMeth, Bytes: t.Request().Method}
		return true
	})
	reqFetch("url", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetStr(t.Request().URI)
		return true
	})
	reqFetch("path", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		p, _ := splitQuery(http1.PathQuery(t.Request().URI))
		v.SetStr(p)
		return true
	})
	reqFetch("pathq", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetStr(http1.PathQuery(t.Request().URI))
		return true
	})
	reqFetch("query", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		_, q := splitQuery(t.Request().URI)
		if q == nil {
			return false
		}
		v.SetStr(q[1:])
		return true
	})
	// req.proto_http is true for every request HTTP rules run on (HTTP/1
	// is parsed before any rule runs); on a tcp payload, once it holds a
	// complete HTTP/1 request head, waiting for it while it may come.
	protoHTTP := &FetchDef{Name: "req.proto_http", Out: TypeBool, Phases: PhaseReq | PhaseContent, Needs: needsRequest,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			if p, d, ok := payload(t); ok {
				var r http1.Request
				_, err := http1.ParseRequest(d, &r)
				if err == http1.ErrIncomplete {
					if !p.PayloadFinal() {
						p.WantMore()
					}
					v.SetBool(false)
					return true
				}
				v.SetBool(err == nil)
				return true
			}
			v.SetBool(true)
			return true
		}}
	RegisterFetch(protoHTTP)
	deprecated := *protoHTTP
	deprecated.Name = "req_proto_http"
	RegisterFetch(&deprecated)
	// wait_end: HTTP rules run once the head is complete, with nothing
	// left to wait for; tcp-request content rules wait with it until
	// their inspect-delay ends (or nothing more can come).
	RegisterFetch(&FetchDef{Name: "wait_end", Out: TypeBool, Phases: PhaseReq | PhaseRes | PhaseContent, Needs: needsRequest, Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
		if p, ok := t.(PayloadTxn); ok && !p.PayloadFinal() {
			p.WantMore()
			return false
		}
		v.SetBool(true)
		return true
	}})
	for _, n := range []string{"req.ver", "req_ver"} {
		reqFetch(n, TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
			if h, ok := t.(H2Txn); ok && h.OverH2() {
				v.SetStr(ver20)
				return true
			}
			v.SetStr(version(&t.Request().Message))
			return true
		})
	}
	reqFetch("base", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		req := t.Request()
		p, _ := splitQuery(http1.PathQuery(req.URI))
		host, ok := headerValue(req.Headers, hostHeader, 1, true)
		if !ok || len(host) == 0 {
			v.SetStr(p)
			return true
		}
		s := t.Scratch()
		start := len(*s)
		*s = append(append(*s, host...), p...)
		v.SetStr((*s)[start:len(*s):len(*s)])
		return true
	})
	for _, n := range []string{"url_param", "urlp"} {
		RegisterFetch(&FetchDef{Name: n, Args: []ArgType{ArgStr, ArgStr}, MinArgs: 1, Out: TypeStr, Phases: PhaseReq, Needs: needsRequest, Fn: urlParam})
	}
	// urlp_val: the parameter read as an integer (strl2ic, as hdr_val).
	RegisterFetch(&FetchDef{Name: "urlp_val", Args: []ArgType{ArgStr, ArgStr}, MinArgs: 1, Out: TypeInt, Phases: PhaseReq, Needs: needsRequest,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			if !urlParam(t, a, it, v) {
				return false
			}
			v.SetInt(int64(strl2ic(v.Bytes)))
			return true
		}})

	RegisterFetch(&FetchDef{Name: "req.hdr", Args: []ArgType{ArgStr, ArgInt}, MinArgs: 1, Out: TypeStr, Phases: PhaseReq, Needs: needsRequest, Multi: true, OccArg: true,
		Prepare: prepareHeaderName,
		Fn:      func(t Txn, a *Args, it *Iter, v *Value) bool { return headerFetch(t.Request().Headers, a, it, v, true) }})
	// hdr is req.hdr in request rules and res.hdr in response rules, as
	// in haproxy; an ACL, compiled once for every phase, reads the request.
	RegisterFetch(&FetchDef{Name: "hdr", Args: []ArgType{ArgStr, ArgInt}, MinArgs: 1, Out: TypeStr, Phases: PhaseReq | PhaseRes, Needs: needsRequest, Multi: true, OccArg: true,
		Prepare: func(c *Compiler, a *Args) error {
			if c.where == PhaseRes {
				a.Data = responseSide{}
			}
			return prepareHeaderName(c, a)
		},
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			if _, res := a.Data.(responseSide); res {
				r := t.Response()
				return r != nil && headerFetch(r.Headers, a, it, v, true) // none yet: no sample
			}
			return headerFetch(t.Request().Headers, a, it, v, true)
		}})
	for _, n := range []string{"req.fhdr"} {
		RegisterFetch(&FetchDef{Name: n, Args: []ArgType{ArgStr, ArgInt}, MinArgs: 1, Out: TypeStr, Phases: PhaseReq, Needs: needsRequest, Multi: true, OccArg: true,
			Prepare: prepareHeaderName,
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				return headerFetch(t.Request().Headers, a, it, v, false)
			}})
	}
	for _, n := range []string{"hdr_cnt", "req.hdr_cnt"} {
		RegisterFetch(&FetchDef{Name: n, Args: []ArgType{ArgStr}, Out: TypeInt, Phases: PhaseReq, Needs: needsRequest,
			Prepare: prepareHeaderName,
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				v.SetInt(int64(headerCount(t.Request().Headers, a)))
				return true
			}})
	}
	for _, n := range []string{"req.cook", "cook"} {
		RegisterFetch(&FetchDef{Name: n, Args: []ArgType{ArgStr}, Out: TypeStr, Phases: PhaseReq, Needs: needsRequest, Multi: true, Fn: cookieFetch})
	}

	resFetch := func(name string, out Type, fn FetchFunc, minArgs int, multi bool, args ...ArgType) {
		var prep PrepareFunc
		if len(args) > 0 {
			prep = prepareHeaderName // the header fetches
		}
		RegisterFetch(&FetchDef{Name: name, Args: args, MinArgs: minArgs, Out: out, Phases: PhaseRes, Needs: needsResponse, Fn: fn, Multi: multi, OccArg: multi, Prepare: prep})
	}
	resFetch("status", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetInt(int64(t.Status()))
		return true
	}, 0, false)
	for _, n := range []string{"res.ver", "resp_ver"} {
		resFetch(n, TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
			v.SetStr(version(&t.Response().Message))
			return true
		}, 0, false)
	}
	for _, n := range []string{"res.hdr", "shdr"} {
		resFetch(n, TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
			return headerFetch(t.Response().Headers, a, it, v, true)
		}, 1, true, ArgStr, ArgInt)
	}
	resFetch("res.fhdr", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		return headerFetch(t.Response().Headers, a, it, v, false)
	}, 1, true, ArgStr, ArgInt)
	for _, n := range []string{"res.hdr_cnt", "shdr_cnt"} {
		resFetch(n, TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
			v.SetInt(int64(headerCount(t.Response().Headers, a)))
			return true
		}, 0, false, ArgStr)
	}
}

// urlParam is url_param(name[,delim]): the parameters start after the
// first delim ('?' by default) and are separated by '&' or ';', as
// HAProxy reads them.
func urlParam(t Txn, a *Args, it *Iter, v *Value) bool {
	delim := byte('?')
	if a.N > 1 && a.Str[1] != "" {
		delim = a.Str[1][0]
	}
	uri := t.Request().URI
	for i, c := range uri {
		if c == delim {
			val, ok := queryParam(uri[i+1:], a.Byt[0])
			if ok {
				v.SetStr(val)
			}
			return ok
		}
	}
	return false
}

var hostHeader = headerNameOf("host")

var (
	ver10 = []byte("1.0")
	ver11 = []byte("1.1")
	ver20 = []byte("2.0") // a request that came over HTTP/2 (H2Txn)
)

func version(m *http1.Message) []byte {
	if m.Minor == 0 {
		return ver10
	}
	return ver11
}

// splitQuery cuts b at its first '?': q starts with the '?', nil without one.
func splitQuery(b []byte) (p, q []byte) {
	for i, c := range b {
		if c == '?' {
			return b[:i], b[i:]
		}
	}
	return b, nil
}

// queryParam is the value of the first name=value pair of q, pairs
// being separated by '&' or ';'.
func queryParam(q, name []byte) ([]byte, bool) {
	for len(q) > 0 {
		pair := q
		q = nil
		for i, c := range pair {
			if c == '&' || c == ';' {
				pair, q = pair[:i], pair[i+1:]
				break
			}
		}
		if len(pair) > len(name) && pair[len(name)] == '=' && string(pair[:len(name)]) == string(name) {
			return pair[len(name)+1:], true
		}
	}
	return nil, false
}

// headerName is the name of the headers a fetch reads. The parser gave
// each header the Kind of its name: a well-known name is found by its
// Kind, without comparing names.
type headerName struct {
	s    string
	kind http1.Kind
}

func headerNameOf(s string) headerName { return headerName{s, http1.Classify([]byte(s))} }

// names tells whether h is one of the headers named n.
func (n headerName) names(h *http1.Header) bool {
	if n.kind != http1.KindOther {
		return h.Kind == n.kind
	}
	return http1.EqualFold(h.Name, n.s)
}

// prepareHeaderName classifies a header fetch's name argument.
func prepareHeaderName(c *Compiler, a *Args) error {
	a.hdr = headerNameOf(a.Str[0])
	return nil
}

// nextHeaderValue returns the value of header name found from headers[*hi]
// at offset *off on, and moves the cursor past it. With split, the
// comma-separated elements of a header are separate values (commas inside
// double quotes do not separate).
func nextHeaderValue(hs []http1.Header, name headerName, split bool, hi, off *int) ([]byte, bool) {
	for ; *hi < len(hs); *hi, *off = *hi+1, 0 {
		h := &hs[*hi]
		if !name.names(h) {
			continue
		}
		val := h.Value
		if *off > len(val) {
			continue
		}
		rest := val[*off:]
		if !split {
			*hi, *off = *hi+1, 0
			return rest, true
		}
		end := elementEnd(rest)
		*off += end + 1
		return trimOWS(rest[:end]), true
	}
	return nil, false
}

// elementEnd is the length of the first comma-separated element of v
// (commas inside double quotes do not separate).
func elementEnd(v []byte) int {
	q := bytes.IndexByte(v, '"')
	if q < 0 {
		q = len(v)
	}
	// before any quote (the usual value has none), a comma ends it
	if c := bytes.IndexByte(v[:q], ','); c >= 0 {
		return c
	}
	quoted := false
	for i := q; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return i
		}
	}
	return len(v)
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// headerCount is hdr_cnt: the comma-separated values of the headers
// named, or without a name of every header but what HAProxy keeps as
// connection state.
func headerCount(hs []http1.Header, a *Args) int {
	if a.N > 0 && a.Str[0] != "" {
		return countValues(hs, a.hdr, true)
	}
	n := 0
	for i := range hs {
		h := &hs[i]
		if isOnlyConnectionState(h) {
			continue
		}
		for rest := h.Value; ; {
			n++
			end := elementEnd(rest)
			if end == len(rest) {
				break
			}
			rest = rest[end+1:]
		}
	}
	return n
}

func countValues(hs []http1.Header, name headerName, split bool) int {
	n, hi, off := 0, 0, 0
	for {
		if _, ok := nextHeaderValue(hs, name, split, &hi, &off); !ok {
			return n
		}
		n++
	}
}

// HeaderValue returns occurrence occ of header name: from 1 on counted from
// the first value, from -1 on from the last; 0 means the last.
func HeaderValue(hs []http1.Header, name string, occ int64, split bool) ([]byte, bool) {
	return headerValue(hs, headerNameOf(name), occ, split)
}

func headerValue(hs []http1.Header, name headerName, occ int64, split bool) ([]byte, bool) {
	if occ == 0 {
		// the last one, in one pass
		var last []byte
		found := false
		for hi, off := 0, 0; ; {
			v, ok := nextHeaderValue(hs, name, split, &hi, &off)
			if !ok {
				return last, found
			}
			last, found = v, true
		}
	}
	if occ < 0 {
		occ += int64(countValues(hs, name, split)) + 1
		if occ <= 0 {
			return nil, false
		}
	}
	hi, off := 0, 0
	for {
		v, ok := nextHeaderValue(hs, name, split, &hi, &off)
		if !ok {
			return nil, false
		}
		if occ--; occ == 0 {
			return v, true
		}
	}
}

func headerFetch(hs []http1.Header, a *Args, it *Iter, v *Value, split bool) bool {
	name := a.hdr
	if name.s == "" {
		name = headerNameOf(a.Str[0]) // a fetch registered without prepareHeaderName
	}
	if it == nil {
		val, ok := headerValue(hs, name, a.Int[1], split)
		if ok {
			v.SetStr(val)
		}
		return ok
	}
	val, ok := nextHeaderValue(hs, name, split, &it.A, &it.B)
	if ok {
		v.SetStr(val)
		it.More = true
	}
	return ok
}

// cookieFetch is req.cook([name]): the last such cookie of the Cookie
// headers (without a name, the first cookie), or each in turn for an ACL.
func cookieFetch(t Txn, a *Args, it *Iter, v *Value) bool {
	hs := t.Request().Headers
	name := ""
	if a.N > 0 {
		name = a.Str[0]
	}
	if it != nil {
		val, ok := nextCookie(hs, name, &it.A, &it.B)
		if ok {
			v.SetStr(val)
			it.More = true
		}
		return ok
	}
	var last []byte
	found := false
	hi, off := 0, 0
	for {
		val, ok := nextCookie(hs, name, &hi, &off)
		if !ok {
			break
		}
		last, found = val, true
		if name == "" {
			break
		}
	}
	if found {
		v.SetStr(last)
	}
	return found
}

// nextCookie finds the next cookie named name ("": any) of the Cookie
// headers from the cursor on; names are case-sensitive.
func nextCookie(hs []http1.Header, name string, hi, off *int) ([]byte, bool) {
	for ; *hi < len(hs); *hi, *off = *hi+1, 0 {
		h := &hs[*hi]
		if h.Kind != http1.KindCookie {
			continue
		}
		for *off < len(h.Value) {
			rest := h.Value[*off:]
			end, _ := cookiePairEnd(rest)
			*off += end + 1
			n, val, ok := splitCookie(rest[:end])
			if ok && (name == "" || string(n) == name) {
				return val, true
			}
		}
	}
	return nil, false
}

// cookiePairEnd is the length of the first pair of a Cookie or
// Set-Cookie value: HAProxy ends it at a ';', or at a ',' outside double
// quotes (it reads these headers as comma-separated lists); comma tells
// which.
func cookiePairEnd(b []byte) (end int, comma bool) {
	quoted := false
	for i, c := range b {
		switch {
		case c == '"':
			quoted = !quoted
		case c == ';' && !quoted:
			return i, false
		case c == ',' && !quoted:
			return i, true
		}
	}
	return len(b), false
}

// splitCookie cuts "name=value" (spaces around both trimmed); a pair
// without '=' or without a name is no cookie.
func splitCookie(pair []byte) (name, value []byte, ok bool) {
	for i, c := range pair {
		if c == '=' {
			name = trimOWS(pair[:i])
			return name, trimOWS(pair[i+1:]), len(name) > 0
		}
	}
	return nil, nil, false
}
