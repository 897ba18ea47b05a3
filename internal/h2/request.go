package h2

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"

	"dhproxy/internal/http1"

	"golang.org/x/net/http2/hpack"
)

// errMalformed is a request RFC 9113 8.1.1 calls malformed: the stream is
// reset with PROTOCOL_ERROR, nothing reaches the pipeline.
var errMalformed = errors.New("malformed request")

// reqInfo is what the stream needs to know of a converted request.
type reqInfo struct {
	contentLength int64 // the declared length; -1: none
	chunked       bool  // the body is sent to the pipeline chunked (no length declared)
	head          bool  // HEAD: the response has no body whatever it declares
	connect       bool  // CONNECT: a 2xx answer turns the stream into a tunnel
	// upgrade: an extended CONNECT (RFC 8441, :protocol), sent to the
	// server as an HTTP/1.1 Upgrade request whose 101 opens the tunnel.
	upgrade bool
	// keyAdded: the upgrade's Sec-WebSocket-Key is the conversion's own
	// (the client sent none).
	keyAdded bool
	// indexed: the end of the Stream's headBuf holds the head's parse
	// (request_index.go).
	indexed bool
}

// appendRequestHead checks a request's decoded header list (RFC 9113 8.2,
// 8.3) and appends its HTTP/1.1 form to dst, converted as HAProxy does:
// :authority becomes Host (a Host field is then dropped), cookie crumbs
// are joined into one field, a body of unknown length is sent chunked;
// the target is scheme://authority/path.
// endStream tells that the HEADERS frame ended the stream (no body).
// ix gets the HTTP/1 parse of the head written (see reqIndex).
func appendRequestHead(dst []byte, fields []hpack.HeaderField, endStream bool, ix *reqIndex) ([]byte, reqInfo, error) {
	info := reqInfo{contentLength: -1}
	ix.begin(len(dst))
	var method, scheme, path, authority, protocol string
	var seen uint8 // pseudo fields present: 1 method, 2 scheme, 4 path, 8 authority, 16 protocol
	regular := false
	cookies := 0
	for i := range fields {
		f := &fields[i] // not copied: the loops were a fifth of the conversion
		if len(f.Name) > 0 && f.Name[0] == ':' {
			if regular {
				return dst, info, errMalformed // a pseudo field after a regular one
			}
			var bit uint8
			switch f.Name {
			case ":method":
				bit, method = 1, f.Value
			case ":scheme":
				bit, scheme = 2, f.Value
			case ":path":
				bit, path = 4, f.Value
			case ":authority":
				bit, authority = 8, f.Value
			case ":protocol":
				bit, protocol = 16, f.Value
			default:
				return dst, info, errMalformed // :status or an unknown one
			}
			if seen&bit != 0 {
				return dst, info, errMalformed
			}
			// Not validValue: each value present passes a stricter check
			// below (validToken, visible) or has to be "CONNECT".
			seen |= bit
			continue
		}
		regular = true
		if !validName(f.Name) || !validValue(f.Value) {
			return dst, info, errMalformed
		}
		switch f.Name {
		case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
			return dst, info, errMalformed // connection-specific (8.2.2)
		case "te":
			if f.Value != "trailers" {
				return dst, info, errMalformed
			}
		case "content-length":
			n, ok := parseLength(f.Value)
			if !ok || info.contentLength >= 0 && info.contentLength != n {
				return dst, info, errMalformed
			}
			info.contentLength = n
		case "cookie":
			cookies++
		}
	}
	if seen&16 != 0 {
		return appendUpgrade(dst, fields, info, method, scheme, path, authority, protocol, seen, ix)
	}
	if method == "CONNECT" {
		// RFC 9113 8.5: :authority alone; the DATA frames are the
		// tunnel's bytes, passed as they come (as haproxy, the server
		// gets an HTTP/1.1 CONNECT).
		if seen != 1|8 || authority == "" || !visible(authority) || info.contentLength >= 0 {
			return dst, info, errMalformed
		}
		info.connect = true
		dst = append(append(append(dst, "CONNECT "...), authority...), " HTTP/1.1\r\n"...)
		dst = ix.appendLine(dst, "host", authority)
		for _, f := range fields {
			if f.Name[0] != ':' && f.Name != "host" {
				dst = ix.appendLine(dst, f.Name, f.Value)
			}
		}
		return ix.finish(append(dst, "\r\n"...), len(method), len(authority), false), info, nil
	}
	pathAll, pathAny := classes(path)
	authAll, authAny := classes(authority)
	schemeAll, _ := classes(scheme)
	if seen&7 != 7 || path == "" || !validToken(method) || scheme == "" || schemeAll&cToken == 0 ||
		pathAll&cVisible == 0 || authAll&cVisible == 0 {
		return dst, info, errMalformed
	}
	if path[0] != '/' && !(path == "*" && method == "OPTIONS") {
		return dst, info, errMalformed
	}
	if endStream && info.contentLength > 0 {
		return dst, info, errMalformed // a length the missing body contradicts
	}
	info.head = method == "HEAD"
	info.chunked = !endStream && info.contentLength < 0

	// The target is the absolute URI haproxy rebuilds (its logs and the
	// url fetch show it; servers get the origin form: stream's
	// requestHead).
	dst = append(append(dst, method...), ' ')
	targetLen := len(path)
	var plainTarget bool // see targetAccepted
	if authority != "" && path[0] == '/' {
		dst = append(append(append(dst, scheme...), "://"...), authority...)
		targetLen += len(scheme) + len("://") + len(authority)
		plainTarget = plainTargetOf(scheme[0], schemeAll, authAny, pathAny)
	} else {
		plainTarget = plainTargetOf('h', cScheme, 0, pathAny) // origin form or "*": no fragment
	}
	dst = append(append(dst, path...), " HTTP/1.1\r\n"...)
	if authority != "" {
		dst = ix.appendLine(dst, "host", authority)
	}
	for i := range fields {
		f := &fields[i]
		if f.Name[0] == ':' || f.Name == "cookie" || f.Name == "host" && authority != "" {
			continue
		}
		dst = ix.appendLine(dst, f.Name, f.Value)
	}
	if cookies > 0 {
		// RFC 9113 8.2.3: the crumbs become one field for HTTP/1.
		start := len(dst)
		dst = append(dst, "cookie: "...)
		first := true
		for _, f := range fields {
			if f.Name == "cookie" {
				if !first {
					dst = append(dst, "; "...)
				}
				dst = append(dst, f.Value...)
				first = false
			}
		}
		dst = append(dst, "\r\n"...)
		ix.add(dst, start, len("cookie"))
	}
	if info.chunked {
		dst = ix.appendLine(dst, "transfer-encoding", "chunked")
	}
	return ix.finish(append(dst, "\r\n"...), len(method), targetLen, plainTarget), info, nil
}

// requestHeadSize is about the size of the HTTP/1.1 head that
// appendRequestHead makes of fields, so that it is made in one
// allocation.
func requestHeadSize(fields []hpack.HeaderField) int {
	n := len(" HTTP/1.1\r\nhost: \r\ntransfer-encoding: chunked\r\n\r\n") + len("://")
	for _, f := range fields {
		n += len(f.Name) + len(f.Value) + len(": \r\n")
		if f.Name == ":authority" {
			n += len(f.Value) // in the target and in host
		}
	}
	return n
}

// appendUpgrade converts an extended CONNECT (RFC 8441 4: :protocol with
// all of :scheme, :path and :authority) as haproxy 2.6 does: an HTTP/1.1
// GET with "connection: upgrade" and "upgrade: <protocol>", and for a
// WebSocket a Sec-WebSocket-Key of its own, which HTTP/2 clients do not
// send (RFC 8441 5) and HTTP/1.1 servers require. The DATA frames are the
// tunnel's bytes once the server switched protocols.
func appendUpgrade(dst []byte, fields []hpack.HeaderField, info reqInfo, method, scheme, path, authority, protocol string, seen uint8, ix *reqIndex) ([]byte, reqInfo, error) {
	if method != "CONNECT" || seen != 31 || !validToken(protocol) || !validToken(scheme) || path == "" || path[0] != '/' ||
		!visible(path) || authority == "" || !visible(authority) || info.contentLength >= 0 {
		return dst, info, errMalformed
	}
	info.connect, info.upgrade = true, true
	dst = append(append(append(append(append(dst, "GET "...), scheme...), "://"...), authority...), path...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	dst = ix.appendLine(dst, "host", authority)
	hasKey := false
	for _, f := range fields {
		if f.Name[0] == ':' || f.Name == "host" {
			continue
		}
		hasKey = hasKey || f.Name == "sec-websocket-key"
		dst = ix.appendLine(dst, f.Name, f.Value)
	}
	if http1.EqualFold([]byte(protocol), "websocket") && !hasKey {
		var key [16]byte
		rand.Read(key[:])
		dst = ix.appendLine(dst, "sec-websocket-key", base64.StdEncoding.EncodeToString(key[:]))
		info.keyAdded = true
	}
	dst = ix.appendLine(dst, "connection", "upgrade")
	dst = ix.appendLine(dst, "upgrade", protocol)
	targetLen := len(scheme) + len("://") + len(authority) + len(path)
	return ix.finish(append(dst, "\r\n"...), len("GET"), targetLen, targetAccepted(scheme, authority, path)), info, nil
}

// appendTrailers checks a trailer section (no pseudo fields) and appends
// the end of a chunked body carrying it to dst.
func appendTrailers(dst []byte, fields []hpack.HeaderField) ([]byte, error) {
	dst = append(dst, "0\r\n"...)
	for _, f := range fields {
		if len(f.Name) > 0 && f.Name[0] == ':' || !validName(f.Name) || !validValue(f.Value) {
			return dst, errMalformed
		}
		switch f.Name {
		case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade", "te",
			"content-length", "host":
			continue // framing and routing fields have no place in a trailer section
		}
		dst = append(append(append(append(dst, f.Name...), ": "...), f.Value...), "\r\n"...)
	}
	return append(dst, "\r\n"...), nil
}

// validName accepts a lower-case token (RFC 9110 5.1, RFC 9113 8.2.1).
func validName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !tokenLower[n[i]] {
			return false
		}
	}
	return true
}

// validValue refuses what would let a field spill into the HTTP/1 head:
// NUL, CR, LF, and whitespace around the value (RFC 9113 8.2.1); other
// controls but HTAB and DEL too. Eight bytes are checked at once while
// none is a control.
func validValue(v string) bool {
	n := len(v)
	if n > 0 && (v[0] == ' ' || v[0] == '\t' || v[n-1] == ' ' || v[n-1] == '\t') {
		return false
	}
	i := 0
	for ; i+8 <= n; i += 8 {
		b := v[i : i+8]
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		if http1.HasCtlOrDel8(w) {
			break // the bytes from i are looked at one by one
		}
	}
	for ; i < n; i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validToken accepts a method or scheme: a token, any case.
func validToken(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if !tokenLower[c] {
			return false
		}
	}
	return true
}

// visible accepts a request target or authority: visible ASCII only, so
// it stays one word of the HTTP/1 request line.
func visible(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

var tokenLower = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// parseLength reads a content-length value: digits only.
func parseLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}
