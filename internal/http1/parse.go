package http1

import (
	"bytes"
	"encoding/binary"
	"math"
)

// The parsers are stateless: on ErrIncomplete the caller calls again with
// more bytes and the head is parsed again from the start. Keeping no state
// means a reused Request can never carry validation results over from bytes
// it did not see; the cost is one linear pass per call, bounded by the
// caller's head size limit.

// ParseRequest parses the request head at the start of buf. It returns
// (HeadLen, nil) when the head is complete, (0, ErrIncomplete) when more
// bytes are needed, or (0, *Error) for a malformed or unsafe request. On
// error the content of r is unspecified.
func ParseRequest(buf []byte, r *Request) (int, error) {
	r.Method, r.URI = nil, nil
	r.ExpectContinue, r.HasUpgrade, r.WebSocketNoKey, r.HostPortDropped = false, false, false, false

	i, err := skipEmptyLines(buf, 400)
	if err != nil {
		return 0, err
	}

	// method SP
	start := i
	for i < len(buf) && class[buf[i]]&cTchar != 0 {
		i++
	}
	if i == len(buf) {
		return 0, ErrIncomplete
	}
	if i == start || buf[i] != ' ' {
		return 0, newError(400, i, "invalid method")
	}
	r.Method = buf[start:i]
	i++

	// request-target SP
	start = i
	for i < len(buf) && class[buf[i]]&cURI != 0 {
		i++
	}
	if i == len(buf) {
		return 0, ErrIncomplete
	}
	if i == start || buf[i] != ' ' {
		return 0, newError(400, i, "invalid request-target")
	}
	r.URI = buf[start:i]
	if !validTarget(r.Method, r.URI) {
		return 0, newError(400, start, "invalid request-target")
	}
	i++

	// HTTP-version CRLF
	if i, err = parseVersion(buf, i, &r.Message, 400); err != nil {
		return 0, err
	}
	if i, err = expectCRLF(buf, i, 400); err != nil {
		return 0, err
	}

	var f fieldInfo
	if i, err = parseFields(buf, i, &r.Message, &f, 400); err != nil {
		return 0, err
	}

	http11 := r.Minor == 1
	if f.te >= 0 {
		switch {
		case r.ContentLength >= 0:
			return 0, newError(400, f.te, "both Content-Length and Transfer-Encoding")
		case !http11:
			// RFC 9112 6.1: an HTTP/1.0 agent on the path could not frame it.
			return 0, newError(400, f.te, "Transfer-Encoding in an HTTP/1.0 request")
		case !r.Chunked:
			// RFC 9112 6.3: without chunked last the length is unknown.
			return 0, newError(400, f.te, "chunked is not the final transfer coding")
		case f.teOther:
			// Only chunked is known; the server could not decode the
			// rest. HAProxy answers 422 (RFC 9112 6.1 suggests 501).
			return 0, newError(422, f.te, "unsupported transfer coding")
		}
	}
	if f.hosts > 1 || (f.hosts == 0 && http11) {
		pos := f.host
		if f.hosts == 0 {
			pos = i
		}
		return 0, newError(400, pos, "missing or repeated Host")
	}
	if !authorityMatchesHost(r) {
		// RFC 9112 3.2.2: with an absolute URI the server uses its authority;
		// a different Host would route the request in two ways.
		return 0, newError(400, cap(buf)-cap(r.URI), "Host differs from the authority of the absolute URI")
	}
	r.WebSocketNoKey = r.ConnUpgrade && f.websocket && !f.wsKey
	if http11 {
		r.ExpectContinue = f.expect
		r.HasUpgrade = f.upgrade
	}
	r.HeadLen = i
	return i, nil
}

// validTarget reports whether uri has one of the request-target forms of
// RFC 9112 3.2 that method may use: authority-form (host:port) for CONNECT
// only; otherwise origin-form ("/..."), asterisk-form ("*") or
// absolute-form ("scheme://..."). A fragment ('#') is never part of a
// request-target; HAProxy refuses it too. Refusing the rest (e.g. "GET
// admin") keeps a server from reading a target that path rules did not
// see as a path.
func validTarget(method, uri []byte) bool {
	if bytes.IndexByte(uri, '#') >= 0 {
		return false
	}
	if string(method) == "CONNECT" {
		colon := bytes.LastIndexByte(uri, ':')
		if colon <= 0 || colon == len(uri)-1 || bytes.IndexByte(uri, '/') >= 0 {
			return false
		}
		for _, c := range uri[colon+1:] {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	switch {
	case uri[0] == '/':
		return true
	case len(uri) == 1 && uri[0] == '*':
		return true
	}
	i := 0
	for i < len(uri) && (lower[uri[i]] >= 'a' && lower[uri[i]] <= 'z' || i > 0 && (uri[i] >= '0' && uri[i] <= '9' || uri[i] == '+' || uri[i] == '-' || uri[i] == '.')) {
		i++
	}
	return i > 0 && i+3 <= len(uri) && string(uri[i:i+3]) == "://"
}

// TargetAccepted reports whether ParseRequest accepts uri as the target of
// a request with method whose Host field is host (hasHost false: none):
// for a producer of request heads (the HTTP/2 conversion) that fills a
// Request itself and must refuse what ParseRequest would.
func TargetAccepted(method, uri, host []byte, hasHost bool) bool {
	return validTarget(method, uri) && (!hasHost || authorityMatches(uri, host))
}

// authorityMatchesHost reports whether an absolute-form request target's
// authority (without user info) equals the Host header, ASCII case aside.
func authorityMatchesHost(r *Request) bool {
	for k := range r.Headers {
		if r.Headers[k].Kind == KindHost {
			return authorityMatches(r.URI, r.Headers[k].Value)
		}
	}
	return true // HTTP/1.0 without Host: the URI alone names the target
}

// authorityMatches is authorityMatchesHost for the Host value host.
func authorityMatches(u, host []byte) bool {
	i := 0
	for i < len(u) && (u[i] >= 'a' && u[i] <= 'z' || u[i] >= 'A' && u[i] <= 'Z' || i > 0 && (u[i] >= '0' && u[i] <= '9' || u[i] == '+' || u[i] == '-' || u[i] == '.')) {
		i++
	}
	if i == 0 || i+3 > len(u) || string(u[i:i+3]) != "://" {
		return true // origin-form, asterisk-form or authority-form
	}
	auth := u[i+3:]
	for j, c := range auth {
		if c == '/' || c == '?' || c == '#' {
			auth = auth[:j]
			break
		}
	}
	for j := len(auth) - 1; j >= 0; j-- {
		if auth[j] == '@' {
			auth = auth[j+1:]
			break
		}
	}
	return equalFoldBytes(host, auth)
}

// ConnectHost checks the Host of a CONNECT that ParseRequest accepted
// against its authority-form target ("host:port") as haproxy 2.6's HTTP/1
// layer does (not its HTTP/2 one): the same host, ASCII case aside, and the
// same port, which a Host may leave out only when it is a default one (80,
// 443). A default port is dropped from the Host, as haproxy holds and
// forwards it (HostPortDropped). A request without Host passes.
func ConnectHost(r *Request) bool {
	var h *Header
	for k := range r.Headers {
		if r.Headers[k].Kind == KindHost {
			h = &r.Headers[k]
			break
		}
	}
	if h == nil {
		return true
	}
	colon := bytes.LastIndexByte(r.URI, ':')
	uriHost, uriPort := r.URI[:colon], r.URI[colon+1:]
	defaultPort := string(uriPort) == "80" || string(uriPort) == "443"
	host := h.Value
	// the port: the digits after the last ':' (none in "[::1]"; an empty
	// one in "x:", which haproxy takes as none, forwarding the ':')
	i := len(host)
	for i > 0 && host[i-1] >= '0' && host[i-1] <= '9' {
		i--
	}
	if i < 2 || host[i-1] != ':' {
		return defaultPort && equalFoldBytes(host, uriHost)
	}
	if i == len(host) {
		return defaultPort && equalFoldBytes(host[:i-1], uriHost)
	}
	if !equalFoldBytes(host[:i-1], uriHost) || string(host[i:]) != string(uriPort) {
		return false
	}
	if defaultPort {
		h.Value = host[:i-1]
		r.HostPortDropped = true
	}
	return true
}

// ParseResponse parses the response head at the start of buf. Results are
// as for ParseRequest, with errors carrying status 502.
func ParseResponse(buf []byte, r *Response) (int, error) {
	r.Status, r.Reason, r.NoReasonSP = 0, nil, false

	i, err := skipEmptyLines(buf, 502)
	if err != nil {
		return 0, err
	}
	if i, err = parseVersion(buf, i, &r.Message, 502); err != nil {
		return 0, err
	}
	if i == len(buf) {
		return 0, ErrIncomplete
	}
	if buf[i] != ' ' {
		return 0, newError(502, i, "invalid status line")
	}
	i++

	// 3DIGIT in 100..599
	status := 0
	for k := 0; k < 3; k++ {
		if i == len(buf) {
			return 0, ErrIncomplete
		}
		c := buf[i]
		if c < '0' || c > '9' || (k == 0 && (c < '1' || c > '5')) {
			return 0, newError(502, i, "invalid status code")
		}
		status = status*10 + int(c-'0')
		i++
	}
	r.Status = status

	// [SP reason] CRLF; the reason may be empty and even its SP missing.
	if i == len(buf) {
		return 0, ErrIncomplete
	}
	if buf[i] == ' ' {
		i++
		start := i
		for i < len(buf) && class[buf[i]]&cValue != 0 {
			i++
		}
		r.Reason = buf[start:i]
	} else {
		r.NoReasonSP = true
	}
	if i, err = expectCRLF(buf, i, 502); err != nil {
		return 0, err
	}

	var f fieldInfo
	if i, err = parseFields(buf, i, &r.Message, &f, 502); err != nil {
		return 0, err
	}
	if f.te >= 0 {
		switch {
		case r.ContentLength >= 0:
			return 0, newError(502, f.te, "both Content-Length and Transfer-Encoding")
		case r.Minor == 0:
			// RFC 9112 6.1: framing of such a message is faulty.
			return 0, newError(502, f.te, "Transfer-Encoding in an HTTP/1.0 response")
		case !r.Chunked:
			// The body would run until close while a client behind an
			// HTTP/1.0 hop might frame it otherwise; HAProxy refuses it too.
			return 0, newError(502, f.te, "chunked is not the final transfer coding")
		}
	}
	r.HeadLen = i
	return i, nil
}

// skipEmptyLines skips the CRLFs that may precede a start line (RFC 9112
// 2.2) and returns where the start line begins.
func skipEmptyLines(buf []byte, status int) (int, error) {
	i := 0
	for i < len(buf) && buf[i] == '\r' {
		if i+1 == len(buf) {
			return 0, ErrIncomplete
		}
		if buf[i+1] != '\n' {
			return 0, newError(status, i, "bare CR")
		}
		i += 2
	}
	return i, nil
}

// parseVersion checks for exactly "HTTP/1.0" or "HTTP/1.1" at buf[i:],
// answering ErrIncomplete only while what is there is still a valid prefix.
func parseVersion(buf []byte, i int, m *Message, status int) (int, error) {
	const prefix = "HTTP/1."
	for k := 0; k < len(prefix); k++ {
		if i == len(buf) {
			return 0, ErrIncomplete
		}
		if buf[i] != prefix[k] {
			return 0, newError(status, i, "invalid HTTP version")
		}
		i++
	}
	if i == len(buf) {
		return 0, ErrIncomplete
	}
	if buf[i] < '0' || buf[i] > '9' {
		return 0, newError(status, i, "invalid HTTP version")
	}
	// RFC 9112 2.3: a higher minor version is handled as the highest
	// known one, 1.1; the proxy forwards it as HTTP/1.1.
	m.Major, m.Minor = 1, min(int(buf[i]-'0'), 1)
	m.HigherMinor = buf[i] > '1'
	return i + 1, nil
}

func expectCRLF(buf []byte, i, status int) (int, error) {
	if i == len(buf) {
		return 0, ErrIncomplete
	}
	if buf[i] != '\r' {
		return 0, newError(status, i, "invalid character in start line")
	}
	if i+1 == len(buf) {
		return 0, ErrIncomplete
	}
	if buf[i+1] != '\n' {
		return 0, newError(status, i, "bare CR")
	}
	return i + 2, nil
}

// fieldInfo carries what parseFields learnt beyond Message; positions are
// offsets in buf (for Error.Pos), indexes refer to Message.Headers, -1 when
// absent.
type fieldInfo struct {
	te      int  // first Transfer-Encoding header position
	teOther bool // a transfer coding other than chunked was seen
	hosts   int  // number of Host headers
	host    int  // position of the second Host header
	expect  bool // an Expect header is exactly 100-continue
	upgrade bool // an Upgrade header is present
	// websocket: an Upgrade header has the token "websocket"; wsKey: a
	// Sec-WebSocket-Key header is 24 bytes long, a base64 16-byte nonce.
	websocket, wsKey bool
}

// parseFields parses header lines from buf[i:] up to and including the
// empty line, filling m. status is the Error status for framing errors.
func parseFields(buf []byte, i int, m *Message, f *fieldInfo, status int) (int, error) {
	m.Headers = m.Headers[:0]
	m.ContentLength = -1
	m.Chunked, m.ConnClose, m.ConnKeepAlive, m.ConnUpgrade = false, false, false, false
	m.HeadLen = 0
	*f = fieldInfo{te: -1, host: -1}
	maxHeaders := m.MaxHeaders
	if maxHeaders <= 0 {
		maxHeaders = MaxHeaders
	}
	connOptions := 0 // Connection options that may name other headers
	chunked := false // a chunked coding was already seen

	for {
		if i == len(buf) {
			return 0, ErrIncomplete
		}
		lineStart := i
		c := buf[i]
		if c == '\r' {
			if i+1 == len(buf) {
				return 0, ErrIncomplete
			}
			if buf[i+1] != '\n' {
				return 0, newError(status, i, "bare CR")
			}
			i += 2
			break
		}
		if isOWS(c) {
			// obs-fold, or whitespace before the first field name
			return 0, newError(status, i, "line folding or leading whitespace")
		}

		// field-name ":"
		for i < len(buf) && class[buf[i]]&cTchar != 0 {
			i++
		}
		if i == len(buf) {
			return 0, ErrIncomplete
		}
		switch {
		case buf[i] != ':':
			return 0, newError(status, i, "invalid character in header name")
		case i == lineStart:
			return 0, newError(status, i, "empty header name")
		}
		name := buf[lineStart:i]
		i++

		// OWS field-value OWS CRLF
		for i < len(buf) && isOWS(buf[i]) {
			i++
		}
		vstart := i
		i = scanValue(buf, i)
		if i == len(buf) {
			return 0, ErrIncomplete
		}
		if buf[i] != '\r' {
			return 0, newError(status, i, "invalid character in header value")
		}
		if i+1 == len(buf) {
			return 0, ErrIncomplete
		}
		if buf[i+1] != '\n' {
			return 0, newError(status, i, "bare CR")
		}
		vend := i
		for vend > vstart && isOWS(buf[vend-1]) {
			vend--
		}
		value := buf[vstart:vend]
		i += 2

		if len(m.Headers) >= maxHeaders {
			return 0, newError(status, lineStart, "too many headers")
		}
		h := Header{Name: name, Value: value, Kind: classify(name)}

		switch h.Kind {
		case KindHost:
			f.hosts++
			if f.hosts == 2 {
				f.host = lineStart
			}
		case KindContentLength:
			n, ok := parseContentLength(value)
			if !ok || (m.ContentLength >= 0 && n != m.ContentLength) {
				return 0, newError(status, vstart, "invalid Content-Length")
			}
			m.ContentLength = n
		case KindTransferEncoding:
			if f.te < 0 {
				f.te = lineStart
			}
			// Codings of all Transfer-Encoding lines form one list, in order.
			if len(value) == 0 {
				return 0, newError(status, vstart, "empty Transfer-Encoding")
			}
			for k := 0; k <= len(value); {
				var e []byte
				e, k = nextElem(value, k)
				switch {
				case len(e) == 0:
					return 0, newError(status, vstart, "empty transfer coding")
				case chunked:
					// Nothing may follow chunked, not even chunked again.
					return 0, newError(status, vstart, "chunked is not the final transfer coding")
				case EqualFold(e, "chunked"):
					chunked = true
				default:
					f.teOther = true
				}
			}
			m.Chunked = chunked
		case KindConnection:
			h.Hop = true
			for k := 0; k <= len(value); {
				var e []byte
				e, k = nextElem(value, k)
				switch {
				case len(e) == 0:
				case EqualFold(e, "close"):
					m.ConnClose = true
				case EqualFold(e, "keep-alive"):
					m.ConnKeepAlive = true
				case EqualFold(e, "upgrade"):
					m.ConnUpgrade = true
				default:
					connOptions++
				}
			}
		case KindKeepAlive, KindProxyConnection:
			h.Hop = true
		case KindExpect:
			f.expect = f.expect || EqualFold(value, "100-continue")
		case KindUpgrade:
			f.upgrade = true
			for k := 0; k <= len(value) && !f.websocket; {
				var e []byte
				e, k = nextElem(value, k)
				f.websocket = EqualFold(e, "websocket")
			}
		default:
			if len(value) == 24 && EqualFold(name, "sec-websocket-key") {
				f.wsKey = true
			}
		}
		m.Headers = append(m.Headers, h)
	}

	if connOptions > maxConnOptions {
		return 0, newError(status, i, "too many Connection options")
	}
	if connOptions > 0 {
		markConnectionOptions(m.Headers)
	}
	m.HeadLen = i
	return i, nil
}

// HasCtlOrDel8 reports whether one of the eight bytes of w is a control
// (below 0x20, HTAB included) or DEL (0x7f); bytes of 0x80 and above never
// pass for one in these exact tests.
func HasCtlOrDel8(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	lt := (w - ones*0x20) &^ w & highs
	x := w ^ (ones * 0x7f)
	return lt|(x-ones)&^x&highs != 0
}

// scanValue returns the index of the first byte at or after i that cannot
// be part of a field value. Eight bytes are checked at once when possible:
// values are most of a head's bytes.
func scanValue(buf []byte, i int) int {
	for i+8 <= len(buf) && !HasCtlOrDel8(binary.LittleEndian.Uint64(buf[i:])) {
		i += 8
	}
	for i < len(buf) && class[buf[i]]&cValue != 0 {
		i++
	}
	return i
}

// markConnectionOptions sets Hop on the headers named by Connection options.
func markConnectionOptions(hs []Header) {
	for ci := range hs {
		if hs[ci].Kind != KindConnection {
			continue
		}
		v := hs[ci].Value
		for k := 0; k <= len(v); {
			var e []byte
			e, k = nextElem(v, k)
			if len(e) == 0 {
				continue
			}
			for j := range hs {
				switch hs[j].Kind {
				case KindHost, KindContentLength, KindTransferEncoding,
					KindUpgrade, KindTE, KindTrailer:
					continue
				}
				if equalFoldBytes(hs[j].Name, e) {
					hs[j].Hop = true
				}
			}
		}
	}
}

// parseContentLength parses a Content-Length value: one or more decimal
// numbers separated by commas, all equal (RFC 9110 8.6 lets a recipient
// accept "5, 5"). Anything else, including an empty element, is refused.
func parseContentLength(v []byte) (int64, bool) {
	n := int64(-1)
	i := 0
	for {
		for i < len(v) && isOWS(v[i]) {
			i++
		}
		start := i
		var x int64
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			d := int64(v[i] - '0')
			if x > (math.MaxInt64-d)/10 {
				return -1, false
			}
			x = x*10 + d
			i++
		}
		if i == start {
			return -1, false
		}
		if n >= 0 && x != n {
			return -1, false
		}
		n = x
		for i < len(v) && isOWS(v[i]) {
			i++
		}
		if i == len(v) {
			return n, true
		}
		if v[i] != ',' {
			return -1, false
		}
		i++
	}
}
