package h2

import (
	"encoding/binary"
	"errors"
	"slices"
	"sync"

	"dhproxy/internal/http1"

	"golang.org/x/net/http2/hpack"
)

// frameSink receives what a response becomes on the stream: header
// blocks (the response head, interim 1xx heads, trailers), HPACK-encoded
// by appendField (the sink adds a table size update where one is due),
// and body data.
type frameSink interface {
	sendHeaders(block []byte, end bool) error
	sendData(p []byte, end bool) error
}

// errBadResponse is an HTTP/1 response the converter cannot carry; the
// pipeline validated it already, so this only happens on a proxy bug.
var errBadResponse = errors.New("h2: response cannot be converted")

// maxResponseHead bounds the bytes kept while a response head is
// incomplete (the pipeline never writes a head larger than tune.bufsize).
const maxResponseHead = 1 << 20

// Response converter states.
const (
	rsHead    = iota // reading a head
	rsLength         // body of known length: remaining bytes due
	rsClose          // body until the pipeline closes the stream
	rsChunked        // chunked body, trailers kept
	rsDone           // the response is complete
)

// respConv turns the HTTP/1.1 response the pipeline writes into HTTP/2
// frames: :status and the fields but the connection-specific ones in one
// header block, the body's data (chunked coding removed), the trailers
// in a last header block. Bytes may arrive split anywhere.
type respConv struct {
	state     uint8
	head      bool // the request was HEAD: no body whatever the head says
	connect   bool // the request was CONNECT: a 2xx answer opens a tunnel
	upgrade   bool // an extended CONNECT: the server's 101 opens it, as a 200
	pending   []byte
	body      []byte // the body bytes that came with the head
	block     []byte // the header block being sent
	resp      http1.Response
	fields    []hpack.HeaderField // trailers
	remaining int64
	chunks    http1.ChunkScanner
}

// convPool recycles the converters of ended streams with their buffers.
var convPool = sync.Pool{New: func() any { return new(respConv) }}

// getConv returns a converter for a response to a request of the kind
// info tells.
func getConv(info reqInfo) *respConv {
	c := convPool.Get().(*respConv)
	c.state, c.head, c.connect, c.upgrade = rsHead, info.head, info.connect, info.upgrade
	c.pending, c.body, c.fields = c.pending[:0], c.body[:0], c.fields[:0]
	c.remaining = 0
	return c
}

// putConv recycles c unless its buffers grew past what a small response
// needs.
func putConv(c *respConv) {
	if cap(c.pending) > 16<<10 || cap(c.body) > 16<<10 || cap(c.block) > 16<<10 {
		return
	}
	c.fields = c.fields[:0] // the strings may go
	convPool.Put(c)
}

// write consumes p, passing complete frames to out.
func (c *respConv) write(p []byte, out frameSink) error {
	for len(p) > 0 {
		switch c.state {
		case rsHead:
			c.pending = append(c.pending, p...)
			p = nil
			n, err := http1.ParseResponse(c.pending, &c.resp)
			if err == http1.ErrIncomplete {
				if len(c.pending) > maxResponseHead {
					return errBadResponse
				}
				return nil
			}
			if err != nil || c.resp.Status == 101 && !c.upgrade {
				return errBadResponse // HTTP/2 has no 101 (RFC 9113 8.6)
			}
			rest := c.pending[n:]
			if err := c.startBody(&c.resp, out); err != nil {
				return err
			}
			// The body bytes are handled by the loop; pending is reused
			// for trailers, so they move first.
			c.body = append(c.body[:0], rest...)
			p = c.body
			c.pending = c.pending[:0]
		case rsLength:
			n := int64(len(p))
			if n > c.remaining {
				n = c.remaining
			}
			c.remaining -= n
			end := c.remaining == 0
			if end {
				c.state = rsDone
			}
			if err := out.sendData(p[:n], end); err != nil {
				return err
			}
			p = p[n:]
		case rsClose:
			if err := out.sendData(p, false); err != nil {
				return err
			}
			p = nil
		case rsChunked:
			n, data, done, err := c.chunks.Decode(p)
			if err != nil {
				return errBadResponse
			}
			p = p[n:]
			if len(data) > 0 {
				if err := out.sendData(data, false); err != nil {
					return err
				}
			}
			if done {
				return c.trailers(out) // bytes past the response are dropped
			}
		case rsDone:
			return nil // bytes past the response: a proxy bug, dropped
		}
	}
	return nil
}

// writeParsed sends the head r, parsed by the pipeline (the fields the
// connection layer drops are dropped here), then its first body bytes:
// the same frames as write given the head as HTTP/1.1 bytes, without
// writing those bytes nor parsing them again. r is not kept.
func (c *respConv) writeParsed(r *http1.Response, body []byte, out frameSink) error {
	if c.state != rsHead || len(c.pending) > 0 {
		return errBadResponse // a head after a head's beginning: a proxy bug
	}
	if r.Status == 101 && !c.upgrade {
		return errBadResponse // HTTP/2 has no 101 (RFC 9113 8.6)
	}
	if err := c.startBody(r, out); err != nil {
		return err
	}
	return c.write(body, out)
}

// startBody sends the head r and prepares for its body.
func (c *respConv) startBody(r *http1.Response, out frameSink) error {
	status := r.Status
	// RFC 8441 5: an extended CONNECT's 101 says the tunnel is open, a
	// 200 in HTTP/2 (haproxy passes the server's sec-websocket-accept on).
	upgraded := c.upgrade && r.Status == 101
	if upgraded {
		status = 200
	}
	interim := !upgraded && r.Status >= 100 && r.Status < 200
	// The tunnel's bytes follow a 2xx answer to CONNECT until the close
	// (RFC 9110 9.3.6: no length field there).
	tunnel := !interim && c.connect && !c.upgrade && r.Status < 300
	// The head is encoded from the parsed fields (names in lower case),
	// without making strings of them.
	c.block = appendStatus(c.block[:0], status)
	for i := range r.Headers {
		h := &r.Headers[i]
		if !forwardedField(h) || tunnel && h.Kind == http1.KindContentLength {
			continue
		}
		c.block = appendFieldLower(c.block, h.Name, h.Value)
	}
	switch {
	case upgraded, tunnel:
		c.state = rsClose
		return out.sendHeaders(c.block, false)
	case interim:
		return out.sendHeaders(c.block, false) // the final head follows
	}
	f := r.BodyFraming(c.head)
	switch f {
	case http1.FramingNone:
		c.state = rsDone
		return out.sendHeaders(c.block, true)
	case http1.FramingLength:
		if r.ContentLength == 0 {
			c.state = rsDone
			return out.sendHeaders(c.block, true)
		}
		c.state, c.remaining = rsLength, r.ContentLength
	case http1.FramingChunked:
		c.startChunked()
	default:
		c.state = rsClose
	}
	return out.sendHeaders(c.block, false)
}

// forwardedField tells whether a response head field goes to the h2
// client: the connection-specific ones do not (RFC 9113 8.2.2).
func forwardedField(h *http1.Header) bool {
	if h.Hop {
		return false
	}
	// The parser and the rules' edits classify every field by its name.
	switch h.Kind {
	case http1.KindConnection, http1.KindTransferEncoding, http1.KindUpgrade, http1.KindKeepAlive, http1.KindProxyConnection:
		return false
	}
	return true
}

// startChunked prepares for a chunked body.
func (c *respConv) startChunked() {
	c.state = rsChunked
	c.chunks.Reset()
	c.chunks.KeepTrailers = true
}

// trailers sends the trailer section at the end of a chunked body.
func (c *respConv) trailers(out frameSink) error {
	c.fields = c.fields[:0]
	// The scanner validated the lines: a name, its colon, CRLF.
	for b := c.chunks.Trailers(); len(b) > 0; {
		i := indexLF(b)
		line := b[:i-1]
		b = b[i+1:]
		colon := indexByte(line, ':')
		name := lower(line[:colon])
		switch name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "content-length":
			continue
		}
		c.fields = append(c.fields, hpack.HeaderField{Name: name, Value: string(trimOWS(line[colon+1:]))})
	}
	c.state = rsDone
	if len(c.fields) == 0 {
		return out.sendData(nil, true)
	}
	c.block = appendFields(c.block[:0], c.fields)
	return out.sendHeaders(c.block, true)
}

// done tells whether the response was sent whole.
func (c *respConv) done() bool { return c.state == rsDone }

// closing ends a response whose body lasts until the pipeline closes the
// stream; false when the response was cut short instead.
func (c *respConv) closing(out frameSink) bool {
	if c.state != rsClose {
		return c.state == rsDone
	}
	c.state = rsDone
	return out.sendData(nil, true) == nil
}

// lower returns b in lower case, as HTTP/2 field names must be.
func lower(b []byte) string { return string(appendLower(nil, b)) }

// appendLower appends b in lower case (ASCII) to dst, eight bytes at a
// time: a byte at a time was a third of encoding a response head.
func appendLower(dst, b []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, len(b))[:n+len(b)]
	out := dst[n:]
	if len(b) < 8 {
		for i, c := range b {
			out[i] = lowerByte[c]
		}
		return dst
	}
	for i := 0; i < len(b)-8; i += 8 {
		binary.LittleEndian.PutUint64(out[i:], lower8(binary.LittleEndian.Uint64(b[i:])))
	}
	// The last eight bytes, some of them again.
	binary.LittleEndian.PutUint64(out[len(b)-8:], lower8(binary.LittleEndian.Uint64(b[len(b)-8:])))
	return dst
}

// lower8 puts the ASCII capitals among the eight bytes of x in lower
// case: a byte of 'A' to 'Z' gains 0x20. Each byte's low seven bits plus
// 0x3f (0x80-'A') reach bit 7 when it is 'A' or above, plus 0x25
// (0x80-'Z'-1) when it is above 'Z'; no sum carries into the next byte.
func lower8(x uint64) uint64 {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	low := x &^ high
	atLeastA := low + (0x80-'A')*ones
	aboveZ := low + (0x80-'Z'-1)*ones
	capital := atLeastA &^ aboveZ &^ x & high
	return x | capital>>2
}

// lowerByte maps each byte to its ASCII lower case.
var lowerByte = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		t[i] = c
	}
	return t
}()

func indexLF(b []byte) int { return indexByte(b, '\n') }

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
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
