package fcgi

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"

	"dhproxy/internal/http1"
)

// App is what a "fcgi-app" section sets for the requests of its servers.
type App struct {
	DocRoot, Index string
	PathInfo       Matcher // nil: no PATH_INFO
	KeepConn       bool    // FCGI_KEEP_CONN: the application keeps the connection for the next request
	GetValues      bool    // FCGI_GET_VALUES on connection establishment
	// Reason is the reason phrase of a status given without one.
	Reason func(status int) string
	// Now dates a response the application did not date.
	Now func() time.Time
}

// Matcher is the path-info regular expression: capture 1 is the script
// name, capture 2 the path info.
type Matcher interface {
	FindSubmatchIndex(b []byte) []int
}

// Param is a parameter set by a set-param rule: its name as sent (upper
// case, '_' for any other character than letters and digits).
type Param struct {
	Name  string
	Value []byte
}

// Request is what the parameters of the next request need beyond its
// head; the caller fills it before the request's first Write.
type Request struct {
	Remote netip.AddrPort // the client
	Local  netip.AddrPort // the address the client connected to
	HTTPS  bool
	// Proto is SERVER_PROTOCOL when the client's differs from the request
	// line the pipeline writes ("HTTP/2.0" for an HTTP/2 client).
	Proto  string
	Params []Param  // set-param rules that applied, in order; a later one of a name wins
	Hidden []string // lower-case names of the headers not passed
	Stderr func(line []byte)
}

// ErrProtocol is a response that is not a FastCGI one, or a request that
// cannot be carried (a path that does not URL-decode, or with a newline or
// NUL that path-info could not match).
var ErrProtocol = errors.New("fcgi: protocol error")

// ErrRejected is an FCGI_END_REQUEST without a response: the application
// cannot multiplex, is overloaded or does not play the Responder role.
var ErrRejected = errors.New("fcgi: request rejected by the application")

// respLimit is the response body buffered to give it a Content-Length, as
// haproxy does for a response that fits its buffer; a longer one is
// chunked.
const respLimit = 15 * 1024

// requestID is the id of every request: a connection carries one at a time.
const requestID = 1

// Conn carries HTTP/1.1 exchanges to a FastCGI application over c: Write
// takes the request the pipeline would send to an HTTP/1 server (head and
// body) and sends it as FCGI_BEGIN_REQUEST, FCGI_PARAMS and FCGI_STDIN;
// Read returns the application's FCGI_STDOUT as an HTTP/1.1 response.
// FCGI_STDERR goes to Request.Stderr. With App.KeepConn, the connection
// carries the next request once FCGI_END_REQUEST came.
type Conn struct {
	c   net.Conn
	rw  io.ReadWriter // c's reads and writes (raw descriptor I/O, say)
	app *App
	Req Request

	// writer side
	wstate  uint8
	pending []byte // the request head (hreq points into it)
	held    []byte // a chunked body, gathered
	hreq    http1.Request
	left    int64              // Content-Length body bytes still due
	chunk   http1.ChunkScanner // decodes a chunked body (trailers dropped)
	out     []byte
	headReq bool
	minor   int
	sentGet bool
	// scratch for the parameters (params.go)
	pairs, tmp, dec, sn, docroot []byte

	// reader side
	in       []byte
	ip       int // start of the records not handled yet in in
	rstate   uint8
	stdout   []byte // CGI output not yet converted (head, then buffered body)
	resp     []byte // HTTP/1.1 bytes ready for Read
	rpos     int
	body     uint8
	noBody   bool
	close    bool
	rerr     error
	gotBytes bool
}

const (
	wHead   = iota
	wGather // a chunked body is gathered (its length goes in the parameters)
	wBody
	wDone
)

const (
	rHead = iota
	rBody
	rDone
)

// body framings of the converted response
const (
	bodyPass    = iota // the application gave a Content-Length, or none can be given (HTTP/1.0)
	bodyBuffer         // buffered to be given a Content-Length at the end
	bodyChunked        // too long to be buffered: chunked
)

// NewConn returns a connection that speaks FastCGI to app over c; rw, when
// not nil, does c's reads and writes.
func NewConn(c net.Conn, rw io.ReadWriter, app *App) *Conn {
	if rw == nil {
		rw = c
	}
	return &Conn{c: c, rw: rw, app: app, docroot: []byte(app.DocRoot), tmp: make([]byte, 0, 256)}
}

// Write takes request bytes.
func (fc *Conn) Write(p []byte) (int, error) {
	n := len(p)
	if fc.wstate == wDone && fc.rstate == rDone {
		fc.reset()
	}
	switch fc.wstate {
	case wHead:
		fc.pending = append(fc.pending, p...)
		hn, err := http1.ParseRequest(fc.pending, &fc.hreq)
		if err == http1.ErrIncomplete {
			return n, nil
		}
		if err != nil {
			return 0, ErrProtocol
		}
		fc.headReq = string(fc.hreq.Method) == "HEAD"
		fc.minor = fc.hreq.Minor
		rest := fc.pending[hn:]
		switch fc.hreq.BodyFraming() {
		case http1.FramingLength:
			fc.left = fc.hreq.ContentLength
			take := min(int64(len(rest)), fc.left)
			fc.left -= take
			return n, fc.begin(rest[:take], fc.left == 0)
		case http1.FramingChunked:
			// CONTENT_LENGTH must be known before the parameters go:
			// the body is gathered first (haproxy answers 400 to a
			// chunked body that did not come whole with the head).
			fc.chunk.Reset()
			fc.wstate = wGather
			return n, fc.gather(rest)
		}
		return n, fc.begin(nil, true)
	case wGather:
		return n, fc.gather(p)
	case wBody:
		take := min(int64(len(p)), fc.left)
		fc.left -= take
		out := fc.out[:0]
		if take > 0 {
			out = AppendRecords(out, TypeStdin, requestID, p[:take])
		}
		if fc.left == 0 {
			out = AppendHeader(out, TypeStdin, requestID, 0)
			fc.wstate = wDone
		}
		fc.out = out
		return n, fc.flush()
	}
	return n, nil // nothing more belongs to the request
}

// maxGathered bounds a chunked request body held to be counted.
const maxGathered = 1 << 20

// gather decodes chunked body bytes; at the end of the body the request
// goes.
func (fc *Conn) gather(p []byte) error {
	body, _, done, err := fc.chunk.AppendDecoded(fc.held, p)
	fc.held = body
	if err != nil || len(body) > maxGathered {
		return ErrProtocol
	}
	if !done {
		return nil
	}
	return fc.begin(fc.held, true)
}

// begin sends the request's records up to body, the body at hand; done
// when it is all of it.
func (fc *Conn) begin(body []byte, done bool) error {
	out := fc.out[:0]
	if fc.app.GetValues && !fc.sentGet {
		fc.sentGet = true
		// answered by FCGI_GET_VALUES_RESULT, which record() skips: a
		// connection carries one request at a time whatever the
		// application's limits
		pairs := AppendPair(AppendPair(nil, "FCGI_MAX_REQS", ""), "FCGI_MPXS_CONNS", "")
		out = AppendHeader(out, TypeGetValues, 0, len(pairs))
		out = append(out, pairs...)
	}
	out = AppendBeginRequest(out, requestID, fc.app.KeepConn)
	out, err := fc.appendParams(out, len(body))
	if err != nil {
		return err
	}
	if len(body) > 0 {
		out = AppendRecords(out, TypeStdin, requestID, body)
	}
	if done {
		out = AppendHeader(out, TypeStdin, requestID, 0)
		fc.wstate = wDone
	} else {
		fc.wstate = wBody
	}
	fc.pending, fc.held = fc.pending[:0], fc.held[:0]
	fc.out = out
	return fc.flush()
}

func (fc *Conn) flush() error {
	if len(fc.out) == 0 {
		return nil
	}
	_, err := fc.rw.Write(fc.out)
	fc.out = fc.out[:0]
	return err
}

// reset prepares a kept connection for its next request.
func (fc *Conn) reset() {
	fc.wstate, fc.rstate = wHead, rHead
	fc.stdout, fc.resp, fc.rpos = fc.stdout[:0], fc.resp[:0], 0
	fc.noBody, fc.close, fc.gotBytes = false, false, false
}

// Read returns the response in HTTP/1.1 form.
func (fc *Conn) Read(p []byte) (int, error) {
	for {
		if fc.rpos < len(fc.resp) {
			n := copy(p, fc.resp[fc.rpos:])
			fc.rpos += n
			if fc.rpos == len(fc.resp) {
				fc.resp, fc.rpos = fc.resp[:0], 0
			}
			return n, nil
		}
		if fc.rerr != nil {
			return 0, fc.rerr
		}
		if fc.rstate == rDone {
			return 0, io.EOF
		}
		if err := fc.fill(); err != nil {
			fc.rerr = err
		}
	}
}

// fill reads records until some response bytes are ready or the request
// ended.
func (fc *Conn) fill() error {
	for {
		h, content, n, err := ParseRecord(fc.in[fc.ip:])
		if err != nil {
			return ErrProtocol
		}
		if n == 0 {
			// Keep the partial record, then read behind it.
			rest := copy(fc.in, fc.in[fc.ip:])
			fc.in, fc.ip = fc.in[:rest], 0
			if len(fc.in) == cap(fc.in) {
				grown := make([]byte, len(fc.in), max(2*cap(fc.in), 16*1024))
				copy(grown, fc.in)
				fc.in = grown
			}
			m, err := fc.rw.Read(fc.in[len(fc.in):cap(fc.in)])
			fc.in = fc.in[:len(fc.in)+m]
			if m > 0 {
				fc.gotBytes = true
			}
			if err != nil && m == 0 {
				if err == io.EOF && fc.gotBytes {
					return io.ErrUnexpectedEOF
				}
				return err
			}
			continue
		}
		fc.ip += n
		ready, err := fc.record(h, content)
		if err != nil {
			return err
		}
		if ready {
			return nil
		}
	}
}

// record handles one record; ready reports response bytes for Read, or
// the end of the response.
func (fc *Conn) record(h Header, content []byte) (ready bool, err error) {
	if h.ID != requestID {
		return false, nil // management records (FCGI_GET_VALUES_RESULT, FCGI_UNKNOWN_TYPE)
	}
	switch h.Type {
	case TypeStdout:
		if fc.rstate == rDone {
			return false, nil
		}
		if len(content) == 0 {
			return false, nil // the end of the stream; FCGI_END_REQUEST ends the response
		}
		return fc.stdoutData(content)
	case TypeStderr:
		if len(content) > 0 && fc.Req.Stderr != nil {
			fc.Req.Stderr(content)
		}
		return false, nil
	case TypeEndRequest:
		_, proto, ok := EndRequest(content)
		if !ok {
			return false, ErrProtocol
		}
		if fc.rstate == rHead {
			if proto != RequestComplete || len(fc.stdout) == 0 {
				return false, ErrRejected
			}
			// headers that never ended: haproxy's parser fails too
			return false, ErrProtocol
		}
		fc.endBody()
		return true, nil
	}
	return false, nil
}

// stdoutData takes CGI output.
func (fc *Conn) stdoutData(p []byte) (bool, error) {
	if fc.rstate == rHead {
		// Scanned from a little before the new bytes: an end of line
		// split between records is found, and a head that arrives byte
		// by byte is not scanned again and again.
		from := max(len(fc.stdout)-3, 0)
		fc.stdout = append(fc.stdout, p...)
		end, next := headEnd(fc.stdout, from)
		if end < 0 {
			if len(fc.stdout) > 64*1024 {
				return false, ErrProtocol
			}
			return false, nil
		}
		if err := fc.convertHead(fc.stdout[:end]); err != nil {
			return false, err
		}
		rest := fc.stdout[next:]
		fc.rstate = rBody
		if fc.noBody {
			fc.stdout = fc.stdout[:0]
			return fc.body != bodyBuffer, nil
		}
		// The body's first bytes move to the front of stdout; buffered,
		// they are appended onto themselves below.
		p = fc.stdout[:copy(fc.stdout, rest)]
		fc.stdout = fc.stdout[:0]
		if len(p) == 0 {
			return fc.body != bodyBuffer, nil
		}
	}
	if fc.noBody {
		return false, nil
	}
	switch fc.body {
	case bodyPass:
		fc.resp = append(fc.resp, p...)
		return true, nil
	case bodyBuffer:
		fc.stdout = append(fc.stdout, p...)
		if len(fc.stdout) <= respLimit {
			return false, nil
		}
		// Too long to buffer: the head says chunked instead.
		fc.resp = append(fc.resp, "Transfer-Encoding: chunked\r\n\r\n"...)
		fc.resp = appendChunk(fc.resp, fc.stdout)
		fc.body = bodyChunked
		fc.stdout = fc.stdout[:0]
		return true, nil
	default:
		fc.resp = appendChunk(fc.resp, p)
		return true, nil
	}
}

// endBody ends the response at FCGI_END_REQUEST.
func (fc *Conn) endBody() {
	switch {
	case fc.body == bodyBuffer:
		if !fc.noBody {
			fc.resp = append(fc.resp, "Content-Length: "...)
			fc.resp = strconv.AppendInt(fc.resp, int64(len(fc.stdout)), 10)
			fc.resp = append(fc.resp, "\r\n"...)
		}
		fc.resp = append(fc.resp, "\r\n"...)
		fc.resp = append(fc.resp, fc.stdout...)
		fc.stdout = fc.stdout[:0]
	case fc.body == bodyChunked:
		fc.resp = append(fc.resp, "0\r\n\r\n"...)
	}
	fc.rstate = rDone
}

func appendChunk(dst, p []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(p)), 16)
	dst = append(dst, "\r\n"...)
	dst = append(dst, p...)
	return append(dst, "\r\n"...)
}

// headEnd finds the empty line ending a CGI head (lines may end with LF
// alone): the head's length and where the body starts; -1 when absent.
func headEnd(b []byte, from int) (end, next int) {
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		j := i + 1
		if j < len(b) && b[j] == '\r' {
			j++
		}
		if j < len(b) && b[j] == '\n' {
			return i + 1, j + 1
		}
		if i == 0 || (i == 1 && b[0] == '\r') {
			return 0, i + 1
		}
	}
	return -1, 0
}

// convertHead writes the HTTP/1.1 head of the CGI head h: as haproxy,
// the status is the last "Status" field's or 302 when a "Location" field
// comes after it, 200 without either; "Status" is removed, "Date" added
// when missing.
func (fc *Conn) convertHead(h []byte) error {
	status, reason := 0, []byte(nil)
	hasDate, hasLen, chunked, lenVal := false, false, false, int64(-1)
	for line := range bytes.Lines(h) {
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return ErrProtocol
		}
		name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
		switch {
		case http1.EqualFold(name, "status"):
			st, r, ok := parseStatus(value)
			if !ok {
				return ErrProtocol
			}
			status, reason = st, r
		case http1.EqualFold(name, "location"):
			status, reason = 302, []byte("Moved Temporarily") // haproxy 2.6's words
		case http1.EqualFold(name, "date"):
			hasDate = true
		case http1.EqualFold(name, "content-length"):
			v, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || v < 0 {
				return ErrProtocol
			}
			hasLen, lenVal = true, v
		case http1.EqualFold(name, "transfer-encoding"):
			chunked = true
		}
	}
	if status == 0 {
		status, reason = 200, []byte("OK")
	}
	if len(reason) == 0 && fc.app.Reason != nil {
		reason = []byte(fc.app.Reason(status))
	}
	r := fc.resp[:0]
	r = append(r, "HTTP/1."...)
	r = strconv.AppendInt(r, int64(fc.minor), 10)
	r = append(r, ' ')
	r = strconv.AppendInt(r, int64(status), 10)
	r = append(r, ' ')
	r = append(r, reason...)
	r = append(r, "\r\n"...)
	for line := range bytes.Lines(h) {
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if http1.EqualFold(line[:colon], "status") {
			continue
		}
		r = append(r, line[:colon]...)
		r = append(r, ": "...)
		r = append(r, bytes.TrimLeft(line[colon+1:], " \t")...)
		r = append(r, "\r\n"...)
	}
	if !hasDate && fc.app.Now != nil {
		r = append(r, "Date: "...)
		r = fc.app.Now().UTC().AppendFormat(r, "Mon, 02 Jan 2006 15:04:05 GMT")
		r = append(r, "\r\n"...)
	}
	fc.noBody = fc.headReq || status == 204 || status == 304
	switch {
	case fc.noBody || hasLen || chunked:
		fc.body = bodyPass
		if hasLen && lenVal == 0 {
			fc.noBody = true
		}
	case fc.minor == 0:
		// As haproxy answers an HTTP/1.0 request: the body ends with the
		// connection.
		fc.body = bodyPass
		r = append(r, "Connection: close\r\n"...)
		fc.close = true
	default:
		fc.body = bodyBuffer
	}
	if !fc.app.KeepConn && !fc.close {
		r = append(r, "Connection: close\r\n"...)
		fc.close = true
	}
	if fc.body != bodyBuffer {
		r = append(r, "\r\n"...)
	}
	fc.resp = r
	return nil
}

// parseStatus reads a Status field: a three-digit code, then a reason.
func parseStatus(v []byte) (int, []byte, bool) {
	if len(v) < 3 {
		return 0, nil, false
	}
	st := 0
	for _, c := range v[:3] {
		if c < '0' || c > '9' {
			return 0, nil, false
		}
		st = st*10 + int(c-'0')
	}
	if st < 200 {
		// no interim response nor protocol switch over FastCGI
		return 0, nil, false
	}
	rest := v[3:]
	if len(rest) > 0 && rest[0] != ' ' && rest[0] != '\t' {
		return 0, nil, false
	}
	return st, bytes.TrimLeft(rest, " \t"), true
}

// Close closes the connection.
func (fc *Conn) Close() error { return fc.c.Close() }

// CloseWrite does nothing: the request's own framing (the empty
// FCGI_STDIN) ends it.
func (fc *Conn) CloseWrite() error { return nil }

// LocalAddr, RemoteAddr and the deadlines are the connection's.
func (fc *Conn) LocalAddr() net.Addr                { return fc.c.LocalAddr() }
func (fc *Conn) RemoteAddr() net.Addr               { return fc.c.RemoteAddr() }
func (fc *Conn) SetDeadline(t time.Time) error      { return fc.c.SetDeadline(t) }
func (fc *Conn) SetReadDeadline(t time.Time) error  { return fc.c.SetReadDeadline(t) }
func (fc *Conn) SetWriteDeadline(t time.Time) error { return fc.c.SetWriteDeadline(t) }
