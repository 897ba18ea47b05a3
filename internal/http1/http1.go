// Package http1 parses HTTP/1.x message heads and chunked bodies in place,
// without allocating, and refuses anything whose framing could be read in
// two different ways by two different agents (request smuggling).
//
// All byte slices handed back point into the caller's buffer: they are only
// valid until the caller reuses that buffer.
package http1

import (
	"errors"
	"strconv"
)

// Kind classifies well-known header names so the proxy never compares strings again.
type Kind uint8

const (
	KindOther Kind = iota
	KindHost
	KindContentLength
	KindTransferEncoding
	KindConnection
	KindKeepAlive
	KindProxyConnection
	KindUpgrade
	KindExpect
	KindTE
	KindTrailer
	KindXForwardedFor
	KindCookie
	KindSetCookie
)

// Header is one header field of a parsed head.
type Header struct {
	Name, Value []byte // slices of the parsed buffer; Value has surrounding OWS trimmed
	Kind        Kind
	// Hop marks hop-by-hop fields: Connection, Keep-Alive, Proxy-Connection
	// and any field named by a Connection option (RFC 9110 7.6.1). It is never
	// set for Transfer-Encoding, Upgrade, TE, Trailer (handled by the proxy),
	// nor for Host and Content-Length: dropping those because a peer listed
	// them in Connection would let it change routing or body framing.
	Hop bool
}

// Message holds the fields common to requests and responses.
type Message struct {
	Major, Minor  int      // HTTP version, 1.0 or 1.1 only
	Headers       []Header // reused between calls: the parser does Headers = Headers[:0] then appends
	ContentLength int64    // -1 when absent
	Chunked       bool     // Transfer-Encoding whose final coding is chunked
	ConnClose     bool     // a Connection header has the token "close"
	ConnKeepAlive bool     // a Connection header has the token "keep-alive"
	ConnUpgrade   bool     // a Connection header has the token "upgrade"
	HeadLen       int      // bytes of the head including the final CRLF CRLF
	HigherMinor   bool     // the message said HTTP/1.x with x > 1 (handled as 1.1)
	// MaxHeaders is the caller's limit on header fields (tune.http.maxhdr
	// minus the start line); 0 means the constant MaxHeaders. The parser
	// never changes it.
	MaxHeaders int
}

// Request is a parsed request head.
type Request struct {
	Message
	Method, URI    []byte
	ExpectContinue bool // Expect: 100-continue (case-insensitive), HTTP/1.1 only (RFC 9110 10.1.1)
	HasUpgrade     bool // an Upgrade header is present in an HTTP/1.1 request (RFC 9110 7.8 ignores it in 1.0)
	// WebSocketNoKey: a WebSocket upgrade (Connection upgrade, an Upgrade
	// "websocket" token; HTTP/1.0 too) has no 24-byte Sec-WebSocket-Key,
	// the base64 16-byte nonce of RFC 6455 4.1. HAProxy 2.6 refuses such a
	// request from an HTTP/1 client, checking only that length; a request
	// converted from HTTP/2 (extended CONNECT) is not checked.
	WebSocketNoKey bool
	// HostPortDropped: a CONNECT's Host lost its default port (":80",
	// ":443"; Value is without it), so its head must be rebuilt.
	HostPortDropped bool
}

// Response is a parsed response head.
type Response struct {
	Message
	Status int
	Reason []byte
	// NoReasonSP: the status line ends right after the code, without the
	// SP that the grammar requires before an empty reason.
	NoReasonSP bool
}

// MaxHeaders bounds the number of header fields in one head unless
// Message.MaxHeaders says otherwise (HAProxy's tune.http.maxhdr defaults
// to 101, start line included). Beyond it the message is refused, which
// also bounds the work done matching Connection options against header
// names.
const MaxHeaders = 100

// maxConnOptions bounds the Connection options (other than close,
// keep-alive, upgrade) that are matched against header names, so that the
// matching stays cheap whatever the peer sends.
const maxConnOptions = 32

// ErrIncomplete means the head is not complete yet: read more and call again.
var ErrIncomplete = errors.New("http1: incomplete head")

// Error describes why a message was refused. Status is what the proxy
// answers (400 for requests, 502 for responses, 422 for a request with an
// unsupported Transfer-Encoding). Pos is the byte offset where the problem
// was found (for logs): from the start of the buffer for heads, from the
// start of the body for ChunkScanner.
type Error struct {
	Status int
	Pos    int
	Reason string
}

func (e *Error) Error() string {
	return "http1: " + e.Reason + " at offset " + strconv.Itoa(e.Pos) +
		" (status " + strconv.Itoa(e.Status) + ")"
}

func newError(status, pos int, reason string) *Error {
	return &Error{Status: status, Pos: pos, Reason: reason}
}

// KeepAlive reports whether the connection may carry another message after
// this one: HTTP/1.1 unless "close"; HTTP/1.0 only with "keep-alive" and
// without "close".
func (m *Message) KeepAlive() bool {
	if m.ConnClose {
		return false
	}
	if m.Major == 1 && m.Minor >= 1 {
		return true
	}
	return m.ConnKeepAlive
}

// Framing tells how a message body ends.
type Framing uint8

const (
	FramingNone       Framing = iota // no body
	FramingLength                    // ContentLength bytes
	FramingChunked                   // chunked: use ChunkScanner
	FramingUntilClose                // response only: read until the server closes (so never keep-alive, whatever KeepAlive says)
)

// BodyFraming returns the request body framing: chunked > Content-Length >
// none (RFC 9112 6.3: a request never reads until close).
func (r *Request) BodyFraming() Framing {
	switch {
	case r.Chunked:
		return FramingChunked
	case r.ContentLength >= 0:
		return FramingLength
	}
	return FramingNone
}

// BodyFraming returns the response body framing per RFC 9112 6.3: 1xx, 204,
// 304 and responses to HEAD have no body; then chunked; then Content-Length;
// else until close. It cannot know about CONNECT: use BodyFramingFor when the
// request method is at hand.
func (r *Response) BodyFraming(reqMethodHEAD bool) Framing {
	if reqMethodHEAD || r.Status < 200 || r.Status == 204 || r.Status == 304 {
		return FramingNone
	}
	switch {
	case r.Chunked:
		return FramingChunked
	case r.ContentLength >= 0:
		return FramingLength
	}
	return FramingUntilClose
}

// BodyFramingFor is BodyFraming for the response to a request with the given
// method; it also knows that a 2xx answer to CONNECT has no body (the
// connection becomes a tunnel).
func (r *Response) BodyFramingFor(reqMethod []byte) Framing {
	if r.Status >= 200 && r.Status < 300 && string(reqMethod) == "CONNECT" {
		return FramingNone
	}
	return r.BodyFraming(string(reqMethod) == "HEAD")
}

// Character classes, one bit each, looked up by byte value.
const (
	cTchar  = 1 << iota // RFC 9110 tchar
	cURI                // visible ASCII: 0x21..0x7e
	cValue              // field-vchar, SP, HTAB: what a field value or reason may hold
	cHex                // hex digit
	cQdtext             // quoted-string content (without backslash and DQUOTE)
)

var class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		var v uint8
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			v |= cTchar
		}
		switch c {
		case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
			v |= cTchar
		}
		if c >= 0x21 && c <= 0x7e {
			v |= cURI
		}
		if c == '\t' || (c >= 0x20 && c <= 0x7e) || c >= 0x80 {
			v |= cValue
			if c != '"' && c != '\\' {
				v |= cQdtext
			}
		}
		if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') {
			v |= cHex
		}
		t[c] = v
	}
	return t
}()

var lower = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		t[c] = byte(c)
		if c >= 'A' && c <= 'Z' {
			t[c] = byte(c) + 'a' - 'A'
		}
	}
	return t
}()

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// EqualFold reports whether a equals s, ignoring ASCII case only.
func EqualFold(a []byte, s string) bool {
	if len(a) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower[a[i]] != lower[s[i]] {
			return false
		}
	}
	return true
}

func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower[a[i]] != lower[b[i]] {
			return false
		}
	}
	return true
}

// nextElem returns the next element of the comma-separated list v starting
// at i, OWS-trimmed (possibly empty), and the index to continue from (past
// the comma, or len(v)+1 once the list is exhausted).
func nextElem(v []byte, i int) (elem []byte, next int) {
	start := i
	for i < len(v) && v[i] != ',' {
		i++
	}
	end := i
	for start < end && isOWS(v[start]) {
		start++
	}
	for end > start && isOWS(v[end-1]) {
		end--
	}
	return v[start:end], i + 1
}

// HasToken reports whether the comma-separated list v holds tok (ASCII
// case-insensitive, elements OWS-trimmed).
func HasToken(v []byte, tok string) bool {
	for i := 0; i <= len(v); {
		var e []byte
		e, i = nextElem(v, i)
		if EqualFold(e, tok) {
			return true
		}
	}
	return false
}

// UpgradeGranted reports whether a 101 response's Upgrade list switches
// only to protocols the request's Upgrade list asked for (RFC 9110 7.8):
// granted must name at least one protocol, and each of its protocols must
// appear in asked, names compared case-insensitively and versions, when both
// give one, exactly.
func UpgradeGranted(asked, granted []byte) bool {
	named := false
	for i := 0; i <= len(granted); {
		var g []byte
		g, i = nextElem(granted, i)
		if len(g) == 0 {
			continue
		}
		named = true
		if !protocolAsked(asked, g) {
			return false
		}
	}
	return named
}

// protocolAsked reports whether the list asked holds protocol p.
func protocolAsked(asked, p []byte) bool {
	pName, pVer := splitProtocol(p)
	for i := 0; i <= len(asked); {
		var a []byte
		a, i = nextElem(asked, i)
		aName, aVer := splitProtocol(a)
		if len(aName) > 0 && equalFoldBytes(aName, pName) && (aVer == nil || pVer == nil || string(aVer) == string(pVer)) {
			return true
		}
	}
	return false
}

// splitProtocol splits "name/version"; version is nil when there is none.
func splitProtocol(p []byte) (name, version []byte) {
	for i, c := range p {
		if c == '/' {
			return p[:i], p[i+1:]
		}
	}
	return p, nil
}

// AppendStatusLine appends "HTTP/major.minor status reason\r\n" to dst. The
// SP after the status is always written, as the status-line grammar
// requires it even with an empty reason.
func AppendStatusLine(dst []byte, major, minor, status int, reason string) []byte {
	dst = append(dst, "HTTP/"...)
	dst = strconv.AppendInt(dst, int64(major), 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, int64(minor), 10)
	dst = append(dst, ' ')
	if status >= 0 && status < 100 {
		// keep the mandatory 3 digits
		dst = append(dst, '0')
		if status < 10 {
			dst = append(dst, '0')
		}
	}
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	return append(dst, '\r', '\n')
}

// classify maps a header name to its Kind; the switch on length keeps it to
// at most one or two comparisons.
func classify(name []byte) Kind {
	switch len(name) {
	case 2:
		if EqualFold(name, "te") {
			return KindTE
		}
	case 4:
		if EqualFold(name, "host") {
			return KindHost
		}
	case 6:
		switch lower[name[0]] {
		case 'e':
			if EqualFold(name, "expect") {
				return KindExpect
			}
		case 'c':
			if EqualFold(name, "cookie") {
				return KindCookie
			}
		}
	case 7:
		switch lower[name[0]] {
		case 'u':
			if EqualFold(name, "upgrade") {
				return KindUpgrade
			}
		case 't':
			if EqualFold(name, "trailer") {
				return KindTrailer
			}
		}
	case 10:
		switch lower[name[0]] {
		case 'c':
			if EqualFold(name, "connection") {
				return KindConnection
			}
		case 'k':
			if EqualFold(name, "keep-alive") {
				return KindKeepAlive
			}
		case 's':
			if EqualFold(name, "set-cookie") {
				return KindSetCookie
			}
		}
	case 14:
		if EqualFold(name, "content-length") {
			return KindContentLength
		}
	case 15:
		if EqualFold(name, "x-forwarded-for") {
			return KindXForwardedFor
		}
	case 16:
		if EqualFold(name, "proxy-connection") {
			return KindProxyConnection
		}
	case 17:
		if EqualFold(name, "transfer-encoding") {
			return KindTransferEncoding
		}
	}
	return KindOther
}

// Classify returns the Kind of a header name, for headers a proxy adds.
func Classify(name []byte) Kind { return classify(name) }

// PathQuery is the path and query of a request target: an absolute-form
// URI loses "scheme://authority"; "*" and authority-form targets have none.
func PathQuery(uri []byte) []byte {
	if len(uri) == 0 || uri[0] == '/' {
		return uri
	}
	for i := 0; i+2 < len(uri); i++ {
		c := uri[i]
		if c == ':' {
			if uri[i+1] == '/' && uri[i+2] == '/' {
				rest := uri[i+3:]
				for j, d := range rest {
					if d == '/' || d == '?' {
						return rest[j:]
					}
				}
				return rest[:0]
			}
			break
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			break
		}
	}
	return uri[:0]
}
