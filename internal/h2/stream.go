package h2

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

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
	cc   *Conn
	id   uint32
	seq  int       // streams the connection opened before this one
	cond sync.Cond // on cc.mu

	// Under cc.mu.
	in        []byte // request bytes not read yet
	inEnded   bool   // the client ended its side
	buffered  uint32 // flow-controlled bytes received since the last WINDOW_UPDATE
	recvWin   int64  // what the client may still send
	got       int64  // body bytes received
	info      reqInfo
	sendWin   int64
	err       error // the stream was reset or the connection closed
	responded bool  // the response was sent whole
	closed    bool
	rdl, wdl  time.Time
	rt, wt    deadlineTimer // wake a Read or a Write waiting past its deadline

	conv *respConv // the handler's goroutine only; recycled at its end
}

func newStream(cc *Conn, id uint32, head []byte, info reqInfo, ended bool) *Stream {
	st := &Stream{cc: cc, id: id, in: head, inEnded: ended, info: info,
		recvWin: int64(cc.cfg.InitialWindowSize), sendWin: int64(cc.peerWin)}
	st.cond.L = &cc.mu
	st.conv = getConv(info)
	return st
}

// ID is the stream's identifier.
func (st *Stream) ID() uint32 { return st.id }

// Seq is the number of streams the connection opened before this one.
func (st *Stream) Seq() int { return st.seq }

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
	if int64(n) > st.recvWin {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeFlowControl}
	}
	st.recvWin -= int64(n)
	st.buffered += n
	st.got += int64(len(data))
	if cl := st.info.contentLength; cl >= 0 && (st.got > cl || end && st.got != cl) {
		cc.st.StrmProtoErr.Add(1)
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
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
	st.inEnded = true
	st.cond.Broadcast()
	return nil
}

// Read returns request bytes; io.EOF once the request and the response
// are over.
func (st *Stream) Read(p []byte) (int, error) {
	cc := st.cc
	cc.mu.Lock()
	for len(st.in) == 0 {
		if st.err != nil {
			cc.mu.Unlock()
			return 0, st.err
		}
		// A tunnel's client side lasts past the response's end.
		if st.inEnded || st.responded && !st.info.connect || st.closed {
			responded := st.responded
			cc.mu.Unlock()
			if responded {
				cc.wmu.Lock()
				cc.flush()
				cc.wmu.Unlock()
			}
			return 0, io.EOF
		}
		if !st.rdl.IsZero() && !time.Now().Before(st.rdl) {
			cc.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		st.wait(&st.rt, st.rdl)
	}
	n := copy(p, st.in)
	st.in = st.in[n:]
	var credit uint32
	if len(st.in) == 0 {
		st.in = st.in[:0:0]
		if !st.inEnded && st.buffered > 0 {
			credit = st.buffered
			st.recvWin += int64(credit)
			st.buffered = 0
		}
	}
	cc.mu.Unlock()
	if credit > 0 {
		cc.wmu.Lock()
		cc.fr.WriteWindowUpdate(st.id, credit)
		cc.flush()
		cc.wmu.Unlock()
	}
	return n, nil
}

// Write takes response bytes.
func (st *Stream) Write(p []byte) (int, error) {
	if err := st.failed(); err != nil {
		return 0, err
	}
	err := st.conv.write(p, st)
	// The frames of one write (often a head and its body) leave together.
	// The end of a response waits for the pipeline to be done with the
	// transaction (its next Read or its Close), so that the client's next
	// stream finds the server connection back in the pool and the log
	// line written.
	cc := st.cc
	if err == nil && st.conv.done() {
		return len(p), nil
	}
	cc.wmu.Lock()
	if ferr := cc.flush(); err == nil {
		err = ferr
	}
	cc.wmu.Unlock()
	if err != nil {
		if err == errBadResponse {
			cc.resetStream(st.id, http2.ErrCodeInternal)
		}
		return 0, err
	}
	return len(p), nil
}

func (st *Stream) failed() error {
	st.cc.mu.Lock()
	defer st.cc.mu.Unlock()
	if st.err != nil {
		return st.err
	}
	if st.closed {
		return net.ErrClosed
	}
	return nil
}

func (st *Stream) sendHeaders(fields []hpack.HeaderField, end bool) error {
	cc := st.cc
	if err := st.failed(); err != nil {
		return err
	}
	cc.wmu.Lock()
	err := cc.writeHeaderBlock(st.id, fields, end) // flushed by Write
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
// waiting for them up to the write deadline (timeout client): a client
// that never opens its window holds the pipeline's buffer (tune.bufsize)
// that long, and nothing more.
func (st *Stream) sendData(p []byte, end bool) error {
	cc := st.cc
	for {
		cc.mu.Lock()
		if len(p) > 0 && (st.sendWin <= 0 || cc.sendWin <= 0) && st.err == nil {
			// What was buffered must reach the client before it can
			// open its window.
			cc.mu.Unlock()
			cc.wmu.Lock()
			cc.flush()
			cc.wmu.Unlock()
			cc.mu.Lock()
		}
		for len(p) > 0 && (st.sendWin <= 0 || cc.sendWin <= 0) && st.err == nil {
			if !st.wdl.IsZero() && !time.Now().Before(st.wdl) {
				cc.mu.Unlock()
				return os.ErrDeadlineExceeded
			}
			st.wait(&st.wt, st.wdl)
		}
		if st.err != nil {
			cc.mu.Unlock()
			return st.err
		}
		n := int64(len(p))
		n = min(n, st.sendWin, cc.sendWin, int64(cc.peerFrame))
		st.sendWin -= n
		cc.sendWin -= n
		cc.mu.Unlock()
		last := end && int(n) == len(p)
		cc.wmu.Lock()
		err := cc.fr.WriteData(st.id, last, p[:n]) // flushed by Write
		cc.wmu.Unlock()
		if err != nil {
			return err
		}
		p = p[n:]
		if last {
			st.finish()
			return nil
		}
		if len(p) == 0 {
			return nil
		}
	}
}

// finish notes the response sent whole. A client still sending its
// request is told to stop (RFC 9113 8.1).
func (st *Stream) finish() {
	cc := st.cc
	cc.mu.Lock()
	st.responded = true
	early := !st.inEnded
	st.cond.Broadcast()
	cc.mu.Unlock()
	if st.info.connect {
		return // the client may still send: the stream is over at its Close
	}
	cc.forget(st, true)
	if early {
		cc.wmu.Lock()
		cc.fr.WriteRSTStream(st.id, http2.ErrCodeNo)
		cc.flush()
		cc.wmu.Unlock()
	}
}

// abort ends the stream's I/O with err; false when it had ended already.
func (st *Stream) abort(err error) bool {
	cc := st.cc
	cc.mu.Lock()
	if st.err != nil || st.responded {
		cc.mu.Unlock()
		return false
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
	st.rt.stop()
	st.wt.stop()
	cc.mu.Unlock()
	if failed {
		return nil
	}
	complete := st.conv.closing(st)
	cc.wmu.Lock()
	if !complete && st.abort(errStreamReset) {
		cc.fr.WriteRSTStream(st.id, http2.ErrCodeInternal)
	}
	cc.flush()
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

func (st *Stream) LocalAddr() net.Addr  { return st.cc.c.LocalAddr() }
func (st *Stream) RemoteAddr() net.Addr { return st.cc.c.RemoteAddr() }

func (st *Stream) SetDeadline(t time.Time) error {
	st.SetReadDeadline(t)
	return st.SetWriteDeadline(t)
}

// The deadlines are only noted: most streams never wait (their request
// is there when the pipeline reads it, the window open when it writes),
// and those need no timer. A waiter is woken to look at a new deadline.

func (st *Stream) SetReadDeadline(t time.Time) error {
	st.cc.mu.Lock()
	st.rdl = t
	st.cond.Broadcast()
	st.cc.mu.Unlock()
	return nil
}

func (st *Stream) SetWriteDeadline(t time.Time) error {
	st.cc.mu.Lock()
	st.wdl = t
	st.cond.Broadcast()
	st.cc.mu.Unlock()
	return nil
}

// deadlineTimer wakes a stream's waiter when a deadline passes.
type deadlineTimer struct {
	t  *time.Timer
	at time.Time // what t is set for
}

func (d *deadlineTimer) stop() {
	if d.t != nil {
		d.t.Stop()
	}
}

// wait waits for the stream's condition, or for deadline (zero: none)
// to pass, armed on dt; the caller holds cc.mu.
func (st *Stream) wait(dt *deadlineTimer, deadline time.Time) {
	if !deadline.IsZero() && !deadline.Equal(dt.at) {
		dt.at = deadline
		if dt.t == nil {
			dt.t = time.AfterFunc(time.Until(deadline), st.wakeAll)
		} else {
			dt.t.Reset(time.Until(deadline))
		}
	}
	st.cond.Wait()
}

func (st *Stream) wakeAll() {
	st.cc.mu.Lock()
	st.cond.Broadcast()
	st.cc.mu.Unlock()
}
