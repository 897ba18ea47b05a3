package h2

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"dhproxy/internal/http1"

	"golang.org/x/net/http2/hpack"
)

// errRequest is an HTTP/1 request the converter cannot carry to an
// HTTP/2 server (the pipeline validated it, so only CONNECT, which needs
// a tunnel over the stream, gets there).
var errRequest = errors.New("h2: request cannot be sent over HTTP/2")

// reqConv turns the HTTP/1.1 request the pipeline writes towards a
// server into HTTP/2 frames: one header block with the pseudo fields
// made from the request line and Host, the body (chunked coding removed)
// as DATA, the chunked trailers as a last header block. The body states
// are those of respConv.
type reqConv struct {
	pending []byte
	req     http1.Request
	parsed  bool
	method  string
	body    respConv // body and trailer states only
	scheme  string
	// upgrade: an HTTP/1.1 Upgrade request (WebSocket), sent as an
	// extended CONNECT (RFC 8441) whose 200 becomes the client's 101;
	// wsKey is the client's Sec-WebSocket-Key, answered by the proxy.
	upgrade  bool
	protocol string
	wsKey    string
}

// write consumes p, passing complete frames to out.
func (c *reqConv) write(p []byte, out frameSink) error {
	if !c.parsed {
		c.pending = append(c.pending, p...)
		n, err := http1.ParseRequest(c.pending, &c.req)
		if err == http1.ErrIncomplete {
			if len(c.pending) > maxResponseHead {
				return errRequest
			}
			return nil
		}
		if err != nil {
			return errRequest
		}
		c.parsed = true
		c.upgrade = c.req.HasUpgrade && c.req.ConnUpgrade
		var fields []hpack.HeaderField
		if c.upgrade {
			fields, c.wsKey, err = upgradeFields(c.body.fields[:0], &c.req, c.scheme)
		} else {
			fields, err = requestFields(c.body.fields[:0], &c.req, c.scheme)
		}
		if err != nil {
			return err
		}
		if c.upgrade {
			c.protocol = fields[1].Value
		}
		c.body.fields = fields
		c.method = string(c.req.Method)
		end := false
		switch c.req.BodyFraming() {
		case http1.FramingLength:
			if c.req.ContentLength == 0 {
				end = true
			} else {
				c.body.state, c.body.remaining = rsLength, c.req.ContentLength
			}
		case http1.FramingChunked:
			c.body.startChunked()
		default:
			end = true
		}
		if c.upgrade {
			// The stream is the tunnel: what follows the head goes as
			// DATA until the pipeline closes its side.
			end = false
			c.body.state = rsClose
		}
		if end {
			c.body.state = rsDone
		}
		rest := append([]byte(nil), c.pending[n:]...)
		c.pending = c.pending[:0]
		c.body.block = appendFields(c.body.block[:0], fields)
		if err := out.sendHeaders(c.body.block, end); err != nil {
			return err
		}
		p = rest
	}
	return c.body.write(p, out)
}

// done tells whether the request was sent whole.
func (c *reqConv) done() bool { return c.parsed && c.body.done() }

// requestFields makes the header block of r: :method, :scheme, :authority
// (from an absolute target or Host), :path, then the fields but the
// connection-specific ones (RFC 9113 8.2.2), names in lower case.
func requestFields(dst []hpack.HeaderField, r *http1.Request, scheme string) ([]hpack.HeaderField, error) {
	method := string(r.Method)
	if method == "CONNECT" {
		return dst, errRequest
	}
	uri := r.URI
	authority := ""
	if len(uri) > 0 && uri[0] != '/' && uri[0] != '*' {
		// absolute-form: scheme://authority/path?query
		i := indexByte(uri, ':')
		if i < 0 || len(uri) < i+3 || uri[i+1] != '/' || uri[i+2] != '/' {
			return dst, errRequest
		}
		rest := uri[i+3:]
		j := 0
		for j < len(rest) && rest[j] != '/' && rest[j] != '?' {
			j++
		}
		authority = string(rest[:j])
		uri = rest[j:]
		if len(uri) == 0 || uri[0] == '?' {
			uri = append([]byte("/"), uri...)
		}
	}
	for i := range r.Headers {
		if h := &r.Headers[i]; h.Kind == http1.KindHost && authority == "" {
			authority = string(h.Value)
		}
	}
	dst = append(dst, hpack.HeaderField{Name: ":method", Value: method}, hpack.HeaderField{Name: ":scheme", Value: scheme})
	if authority != "" {
		dst = append(dst, hpack.HeaderField{Name: ":authority", Value: authority})
	}
	dst = append(dst, hpack.HeaderField{Name: ":path", Value: string(uri)})
	for i := range r.Headers {
		h := &r.Headers[i]
		if h.Hop {
			continue
		}
		switch h.Kind {
		case http1.KindHost, http1.KindConnection, http1.KindKeepAlive, http1.KindProxyConnection,
			http1.KindTransferEncoding, http1.KindUpgrade:
			continue
		case http1.KindTE:
			// Only "trailers" may cross (RFC 9113 8.2.2); gRPC sends it.
			if http1.HasToken(h.Value, "trailers") {
				dst = append(dst, hpack.HeaderField{Name: "te", Value: "trailers"})
			}
			continue
		}
		dst = append(dst, hpack.HeaderField{Name: lower(h.Name), Value: string(h.Value)})
	}
	return dst, nil
}

// upgradeFields makes the extended CONNECT (RFC 8441 4) of an HTTP/1.1
// Upgrade request, as haproxy 2.6 sends a WebSocket to an HTTP/2 server:
// :method CONNECT and :protocol the upgrade's (first) protocol, the other
// pseudo fields as for any request. Sec-WebSocket-Key is passed on, as
// haproxy does, and returned: the proxy answers it (RFC 8441 5 has the
// server send no accept token).
func upgradeFields(dst []hpack.HeaderField, r *http1.Request, scheme string) ([]hpack.HeaderField, string, error) {
	var protocol, key string
	for i := range r.Headers {
		h := &r.Headers[i]
		switch {
		case h.Kind == http1.KindUpgrade && protocol == "":
			p, _, _ := strings.Cut(string(h.Value), ",")
			protocol = strings.ToLower(strings.TrimSpace(p))
		case http1.EqualFold(h.Name, "sec-websocket-key"):
			key = string(h.Value)
		}
	}
	start := len(dst)
	dst, err := requestFields(dst, r, scheme)
	if err != nil || protocol == "" {
		return dst, "", errRequest
	}
	fs := dst[start:]
	if fs[0].Value != "GET" || len(fs) < 4 || fs[2].Name != ":authority" {
		return dst, "", errRequest // RFC 8441 4: a GET with an authority only
	}
	fs[0].Value = "CONNECT"
	dst = append(dst[:start+1], append([]hpack.HeaderField{{Name: ":protocol", Value: protocol}}, fs[1:]...)...)
	return dst, key, nil
}

// respInfo is what the HTTP/1 form of a server's response head says of
// its body.
type respInfo struct {
	status  int
	chunked bool // DATA goes to the pipeline chunked (no length declared)
	final   bool // not an interim (1xx) head
}

// appendResponseHead checks a response header block from a server and
// appends its HTTP/1.1 form to dst. A body of unknown length, or one
// whose head announces trailers (a Trailer field), is passed on chunked
// so that the trailers (gRPC's grpc-status) can follow it; a head that
// ends the stream without a length declares an empty body.
func appendResponseHead(dst []byte, fields []hpack.HeaderField, endStream, headReq bool) ([]byte, respInfo, error) {
	var info respInfo
	if len(fields) == 0 || fields[0].Name != ":status" {
		return dst, info, errMalformed
	}
	st := fields[0].Value
	if len(st) != 3 || st[0] < '1' || st[0] > '5' || st[1] < '0' || st[1] > '9' || st[2] < '0' || st[2] > '9' {
		return dst, info, errMalformed
	}
	info.status = int(st[0]-'0')*100 + int(st[1]-'0')*10 + int(st[2]-'0')
	info.final = info.status >= 200
	if !info.final && endStream {
		return dst, info, errMalformed // an interim head cannot end the stream
	}
	// No reason phrase: HTTP/2 has none, and haproxy sends none either.
	dst = http1.AppendStatusLine(dst, 1, 1, info.status, "")
	length, trailers := false, false
	for _, f := range fields[1:] {
		if len(f.Name) > 0 && f.Name[0] == ':' || !validName(f.Name) || !validValue(f.Value) {
			return dst, info, errMalformed
		}
		switch f.Name {
		case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
			return dst, info, errMalformed // connection-specific (8.2.2)
		case "content-length":
			if _, ok := parseLength(f.Value); !ok {
				return dst, info, errMalformed
			}
			length = true
		case "trailer":
			trailers = true
		}
	}
	// Trailers announced: the body goes chunked to carry them, its length
	// dropped (HTTP/1 has no trailers after a body of known length).
	bodyless := !info.final || headReq || info.status == 204 || info.status == 304
	length = length && (!trailers || bodyless || endStream)
	seenLength := false
	for _, f := range fields[1:] {
		if f.Name == "content-length" {
			if !length || seenLength {
				continue
			}
			seenLength = true
		}
		dst = append(append(append(append(dst, f.Name...), ": "...), f.Value...), "\r\n"...)
	}
	switch {
	case bodyless || length:
	case endStream:
		dst = append(dst, "content-length: 0\r\n"...)
	default:
		info.chunked = true
		dst = append(dst, "transfer-encoding: chunked\r\n"...)
	}
	return append(dst, "\r\n"...), info, nil
}

// appendUpgraded appends the HTTP/1.1 101 that a server's 200 to an
// extended CONNECT becomes for the client that asked to upgrade to
// protocol, with the Sec-WebSocket-Accept of its key (RFC 6455 4.2.2).
func appendUpgraded(dst []byte, fields []hpack.HeaderField, protocol, wsKey string) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: "...)
	dst = append(append(dst, protocol...), "\r\n"...)
	if wsKey != "" {
		sum := sha1.Sum([]byte(wsKey + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		dst = append(append(dst, "sec-websocket-accept: "...), base64.StdEncoding.EncodeToString(sum[:])...)
		dst = append(dst, "\r\n"...)
	}
	for _, f := range fields[1:] {
		switch f.Name {
		case "content-length", "sec-websocket-accept":
			continue
		}
		dst = append(append(append(append(dst, f.Name...), ": "...), f.Value...), "\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// appendChunk appends data as one chunk of a chunked body.
func appendChunk(dst, data []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(data)), 16)
	return append(append(append(dst, "\r\n"...), data...), "\r\n"...)
}
