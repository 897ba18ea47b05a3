package h2

import (
	"errors"
	"net"
	"strconv"

	"dhproxy/internal/http1"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

var errStreamReset = errors.New("h2: stream reset")

// Stream is one HTTP/2 stream seen as a connection carrying one HTTP/1.1
// exchange: Read returns the request (head, then body, chunked when no
// length was declared), Write takes the response, which goes out as
// HEADERS and DATA frames within the client's flow control windows.
// After the response, Read returns io.EOF.
type Stream struct {
	flow // outEnded: the response was sent whole
	cc   *Conn
	seq  int32 // streams the connection opened before this one (ids are 31 bits)
	// oweBatch: Close promised the connection's next batch (link.promise),
	// which the handler's goroutine sends once its handler returned; ended:
	// it has looked (a later Close flushes as usual). Both under cc.wmu.
	oweBatch, ended bool
	// endBlock (under cc.mu): the request ended as haproxy's HTX ends with
	// an EOT block (EndBlock). Here, where it takes no room of its own.
	endBlock bool
	// drain: the response comes from a server (DrainRequest); the
	// handler's goroutine only.
	drain bool

	// Under cc.mu.
	got  int64 // body bytes received
	info reqInfo

	conv *respConv // the handler's goroutine only; recycled at its end

	// headBuf holds the converted request head when it fits: one
	// allocation less per stream (a head from h2load takes ~200 bytes;
	// the Stream fills a 512-byte size class), and at its end the head's
	// parse (request_index.go).
	headBuf [208]byte
}

// init sets up a new stream whose request head is head.
func (st *Stream) init(cc *Conn, id uint32, head []byte, info reqInfo, ended bool) {
	st.cc, st.info = cc, info
	st.flow.init(&cc.link, int64(cc.cfg.InitialWindowSize))
	st.id, st.in, st.inEnded, st.sendWin = id, head, ended, int64(cc.peerWin)
	// A tunnel's client side lasts past the response's end.
	st.outEndsInput = !info.connect
	st.conv = getConv(info)
}

// recycle clears an ended stream for its next use (Conn.recycle),
// keeping its deadline timers, which are stopped: a new stream does not
// pay for them again. A timer that fired late only wakes the stream's
// waiters, who look at their condition again.
func (st *Stream) recycle() {
	rt, wt := st.rt.t, st.wt.t
	*st = Stream{}
	st.rt.t, st.wt.t = rt, wt
}

// TakeRequest returns the stream's request when it is all in and is a
// head alone (no body), and nothing of it was read: Read then returns
// io.EOF. The session reads such a request where the stream holds it
// rather than copying it into a buffer of its own. nil otherwise.
func (st *Stream) TakeRequest() []byte {
	cc := st.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !st.inEnded || st.err != nil || st.got != 0 || st.info.chunked || st.info.connect || len(st.in) == 0 {
		return nil
	}
	req := st.in
	st.in = nil
	return req
}

// ID is the stream's identifier.
func (st *Stream) ID() uint32 { return st.id }

// Seq is the number of streams the connection opened before this one.
func (st *Stream) Seq() int { return int(st.seq) }

// Added tells which fields of the request head the conversion added, the
// client having sent none: Transfer-Encoding for a body of unknown length,
// Sec-WebSocket-Key for a WebSocket. HAProxy's HTX request has neither
// (its HTTP/1 layer adds them as it writes the request out), nor its %U.
func (st *Stream) Added() (transferEncoding, webSocketKey bool) {
	return st.info.chunked, st.info.keyAdded
}

// EndBlock tells whether the request ended as haproxy's HTX request ends
// with an EOT block, which %U counts: with trailers, or with an empty DATA
// frame that found all of the request read (HAProxy adds the block only
// to an empty buffer); not with the DATA frame of its last bytes.
func (st *Stream) EndBlock() bool {
	st.cc.mu.Lock()
	defer st.cc.mu.Unlock()
	return st.endBlock
}

// NetConn is the client connection that carries the stream.
func (st *Stream) NetConn() net.Conn { return st.cc.c }

// received adds a DATA frame's payload (n bytes of flow control, padding
// included) to the request; called by the connection's reader.
func (st *Stream) received(data []byte, n uint32, end bool) error {
	cc := st.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if st.inEnded {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeStreamClosed}
	}
	if err := st.take(n); err != nil {
		return err
	}
	st.got += int64(len(data))
	if cl := st.info.contentLength; cl >= 0 && (st.got > cl || end && st.got != cl) {
		cc.st.StrmProtoErr.Add(1)
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	st.endBlock = end && len(data) == 0 && len(st.in) == 0
	if st.err == nil {
		if st.info.chunked && len(data) > 0 {
			st.in = strconv.AppendInt(st.in, int64(len(data)), 16)
			st.in = append(append(append(st.in, "\r\n"...), data...), "\r\n"...)
		} else {
			st.in = append(st.in, data...)
		}
		if end && st.info.chunked {
			st.in = append(st.in, "0\r\n\r\n"...)
		}
	}
	if end {
		st.inEnded = true
	}
	st.cond.Broadcast()
	return nil
}

// trailers ends the request with a trailer section.
func (st *Stream) trailers(fields []hpack.HeaderField, end, tooBig bool) error {
	cc := st.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if st.inEnded {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeStreamClosed}
	}
	if !end || tooBig {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	if cl := st.info.contentLength; cl >= 0 && st.got != cl {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	var err error
	if st.info.chunked {
		st.in, err = appendTrailers(st.in, fields)
	} else {
		// HTTP/1 has no place for them after a body of known length:
		// dropped, as HAProxy does, once checked.
		_, err = appendTrailers(nil, fields)
	}
	if err != nil {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	st.inEnded, st.endBlock = true, true
	st.cond.Broadcast()
	return nil
}

// Write takes response bytes.
func (st *Stream) Write(p []byte) (int, error) {
	if err := st.failed(); err != nil {
		return 0, err
	}
	if err := st.wrote(st.conv.write(p, st)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteParsed takes a response head the pipeline parsed (and its rules
// edited), as Write would take it written out as HTTP/1.1, and the first
// bytes of its body: the head is encoded from its fields, not written
// out and parsed again. The rest of the body follows by Write.
func (st *Stream) WriteParsed(resp *http1.Response, body []byte) error {
	if err := st.failed(); err != nil {
		return err
	}
	return st.wrote(st.conv.writeParsed(resp, body, st))
}

// wrote completes a write whose conversion returned err.
func (st *Stream) wrote(err error) error {
	// The frames of one write (often a head and its body) leave together.
	// The end of a response waits for the pipeline to be done with the
	// transaction (its next Read or its Close), so that the client's next
	// stream finds the server connection back in the pool and the log
	// line written.
	cc := st.cc
	if err == nil && st.conv.done() {
		return nil
	}
	cc.wmu.Lock()
	if ferr := cc.flush(); err == nil {
		err = ferr
	}
	cc.wmu.Unlock()
	if err == errBadResponse {
		cc.resetStream(st.id, http2.ErrCodeInternal)
	}
	return err
}

func (st *Stream) sendHeaders(block []byte, end bool) error {
	cc := st.cc
	if err := st.failed(); err != nil {
		return err
	}
	cc.wmu.Lock()
	err := cc.writeHeaderBlock(st.id, block, end) // flushed by Write
	cc.wmu.Unlock()
	if err != nil {
		return err
	}
	if end {
		st.finish()
	}
	return nil
}

// sendData writes p as DATA frames as the flow control windows allow,
// waiting for them up to the write deadline (timeout client).
func (st *Stream) sendData(p []byte, end bool) error {
	last, err := st.writeData(p, end)
	if last {
		st.finish()
	}
	return err
}

// DrainRequest tells that the response comes from a server. When it ends
// before the request does, the stream stays open and the rest of the
// body is read and dropped, as haproxy 2.6 goes on forwarding it to the
// server: no RST_STREAM, which curl 7.88 takes for a failed transfer
// (exit 92) whatever its code. A response of the proxy's own (http-request
// return, deny, an error) resets the stream with CANCEL instead, as
// haproxy's stream then leaves it.
func (st *Stream) DrainRequest() { st.drain = true }

// finish notes the response sent whole. A client still sending its
// request is told to stop (RFC 9113 8.1) unless the request drains.
func (st *Stream) finish() {
	cc := st.cc
	cc.mu.Lock()
	st.outEnded = true
	early := !st.inEnded
	st.cond.Broadcast()
	cc.mu.Unlock()
	if st.info.connect {
		return // the client may still send: the stream is over at its Close
	}
	cc.forget(st, true)
	if early && !st.drain {
		cc.writeRST(st.id, http2.ErrCodeCancel)
		cc.answeredReset(st.id)
	}
}

// abort ends the stream's I/O with err; false when it had ended already.
// A tunnel whose server side ended still reads the client's side: a
// reset fails it, the connection's close ends it as the client's
// END_STREAM would (haproxy 2.6 logs ---- then, CD-- on a reset).
func (st *Stream) abort(err error) bool {
	cc := st.cc
	cc.mu.Lock()
	if st.err != nil || st.outEnded && (!st.info.connect || st.inEnded) {
		cc.mu.Unlock()
		return false
	}
	if st.outEnded && errors.Is(err, net.ErrClosed) {
		st.inEnded = true // forgotten at its Close, as a complete one
		st.cond.Broadcast()
		cc.mu.Unlock()
		return true
	}
	st.err = err
	st.in = nil
	st.cond.Broadcast()
	cc.mu.Unlock()
	cc.forget(st, false)
	return true
}

// Close ends the exchange: a response whose body lasted until the close
// ends there; one cut short resets the stream.
func (st *Stream) Close() error {
	cc := st.cc
	cc.mu.Lock()
	if st.closed {
		cc.mu.Unlock()
		return nil
	}
	st.closed = true
	failed := st.err != nil
	clientOpen := !st.inEnded
	st.stopTimers()
	cc.mu.Unlock()
	if failed {
		return nil
	}
	complete := st.conv.closing(st)
	cc.wmu.Lock()
	if !complete && st.abort(errStreamReset) {
		cc.fr.WriteRSTStream(st.id, http2.ErrCodeInternal)
	}
	if complete && st.info.connect && clientOpen {
		// A tunnel ended by its server: the client's side is cut, as
		// haproxy 2.6 does after the END_STREAM.
		cc.fr.WriteRSTStream(st.id, http2.ErrCodeCancel)
	}
	if complete && !st.info.connect && !st.info.upgrade && !st.ended {
		// The handler's goroutine is ending (Conn.run).
		st.oweBatch = cc.promise()
	} else {
		cc.flush()
	}
	cc.wmu.Unlock()
	if complete && st.info.connect {
		cc.forget(st, true)
	}
	return nil
}

// CloseWrite ends a tunnel's server-to-client side (END_STREAM); the
// client's side goes on until it ends it.
func (st *Stream) CloseWrite() error {
	st.conv.closing(st)
	cc := st.cc
	cc.wmu.Lock()
	err := cc.flush()
	cc.wmu.Unlock()
	return err
}
