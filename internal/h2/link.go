package h2

import (
	"bufio"
	"errors"
	"io"
	"iter"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"dhproxy/internal/conn"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// link is what both ends of an HTTP/2 connection have in common, the
// client side (Conn) and the server side (ClientConn): the socket and its
// framer, the writer's lock and HPACK encoder, the reader's header block
// collector, the connection's flow control and the peer's SETTINGS.
type link struct {
	c net.Conn
	// sock does c's reads and writes with raw system calls when c has a
	// descriptor (see conn.FD: a call through net.Conn lets the runtime's
	// monitor take the P from a long loopback write, then wake every 20 µs).
	sock conn.FD
	fr   *http2.Framer
	br   *bufio.Reader
	st   *Counters
	// writeTimeout bounds each write (timeout client or server).
	writeTimeout time.Duration
	// maxHeaderList is the decoded head limit (tune.bufsize).
	maxHeaderList uint32
	// flows lists the streams' flow states, for the changes that concern
	// them all (the peer's initial window, the connection window).
	flows iter.Seq[*flow]

	wmu  sync.Mutex // frame writes (into out) and the HPACK encoder
	henc fieldEncoder
	hbuf []byte // a header block with a table size update before it
	out  outBuf // frames not sent yet (out.go)
	// promised: what out holds will be sent (the flusher was kicked, or a
	// worker sends it: promise).
	promised bool

	kick   chan struct{}         // wakes the flusher (nil: none, flush writes)
	sockMu sync.Mutex            // writes to c, spare and wdl
	spare  []byte                // the buffer of the batch sent last, for the next one
	wdl    conn.Deadlines        // c's write deadline, moved only when it drifted (conn/deadline.go)
	werr   atomic.Pointer[error] // the write that failed

	// The header block being read (reader only): the fields decoded so
	// far and their size (RFC 9113 6.5.2), whether they went past the
	// limit, its stream (0: none), whether its HEADERS frame ended the
	// stream, its CONTINUATION frames and compressed bytes.
	hdec      *hpack.Decoder
	fields    []hpack.HeaderField
	listSz    uint32
	tooBig    bool
	hdrStream uint32
	hdrEnd    bool
	hdrFrames int
	hdrBytes  int

	mu          sync.Mutex // the fields below, the owner's and its streams' state
	sendWin     int64      // connection window towards the peer
	peerWin     int32      // SETTINGS_INITIAL_WINDOW_SIZE of the peer
	peerFrame   uint32     // SETTINGS_MAX_FRAME_SIZE of the peer
	recvUnacked uint32     // DATA bytes received since the last connection WINDOW_UPDATE
	closed      bool
}

// init sets up the framer and coders on c; tableSize and maxFrame are what
// our SETTINGS announce.
func (l *link) init(c net.Conn, stats *Counters, tableSize, maxFrame, maxHeaderList uint32, writeTimeout time.Duration, flows iter.Seq[*flow]) {
	l.c, l.st, l.writeTimeout, l.maxHeaderList, l.flows = c, stats, writeTimeout, maxHeaderList, flows
	conn.StartClock() // for wdl
	if l.st == nil {
		l.st = &discard
	}
	l.sendWin, l.peerWin, l.peerFrame = 65535, 65535, 16384
	// Buffered reads: the framer reads a frame's header and payload
	// separately, two system calls per frame otherwise.
	if !l.sock.Attach(c, nil) {
		l.sock = *conn.NewFDOver(c)
	}
	l.br = bufio.NewReaderSize(&l.sock, 16<<10)
	l.fr = http2.NewFramer(&l.out, l.br)
	l.fr.SetMaxReadFrameSize(maxFrame)
	l.henc.tableSize = 4096
	l.hdec = hpack.NewDecoder(tableSize, l.emit)
	l.hdec.SetMaxStringLength(int(maxHeaderList))
}

// emit collects a decoded field, up to the header list size limit (an
// HPACK bomb decodes to much more than it weighs).
func (l *link) emit(f hpack.HeaderField) {
	l.listSz += f.Size()
	if l.listSz > l.maxHeaderList {
		l.tooBig = true
		l.hdec.SetEmitEnabled(false)
		return
	}
	l.fields = append(l.fields, f)
}

// beginBlock starts reading the header block of a HEADERS frame.
func (l *link) beginBlock(f *http2.HeadersFrame) {
	l.hdrStream, l.hdrEnd = f.StreamID, f.StreamEnded()
	l.hdrFrames, l.hdrBytes = 0, 0
	l.fields, l.listSz, l.tooBig = l.fields[:0], 0, false
	l.hdec.SetEmitEnabled(true)
}

// continued checks a CONTINUATION frame against the header block being
// read.
func (l *link) continued(f *http2.ContinuationFrame) error {
	if f.StreamID != l.hdrStream {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	l.hdrFrames++
	if l.hdrFrames > maxContinuations {
		return errCalm // CONTINUATION flood
	}
	return nil
}

// decode feeds a header block fragment to the HPACK decoder.
func (l *link) decode(frag []byte, end bool) error {
	l.hdrBytes += len(frag)
	if l.hdrBytes > 2*int(l.maxHeaderList)+4096 {
		return errCalm // far more compressed bytes than any acceptable head
	}
	if _, err := l.hdec.Write(frag); err != nil {
		return http2.ConnectionError(http2.ErrCodeCompression)
	}
	if end {
		if err := l.hdec.Close(); err != nil {
			return http2.ConnectionError(http2.ErrCodeCompression)
		}
	}
	return nil
}

// settings applies the peer's SETTINGS and acknowledges them; other gets
// those only one side cares about, under mu. The writer is held
// throughout: a stream that a larger window wakes writes its DATA after
// the ACK, never before (h2spec 6.9.2/1 waits for the ACK, then for the
// DATA; haproxy sends them in that order too).
func (l *link) settings(f *http2.SettingsFrame, other func(http2.Setting)) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		if s.ID == http2.SettingHeaderTableSize {
			l.henc.setMaxTableSize(s.Val)
			return nil
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - int64(l.peerWin)
			l.peerWin = int32(s.Val)
			for fl := range l.flows {
				fl.sendWin += delta
				if fl.sendWin > 1<<31-1 {
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
				fl.cond.Broadcast()
			}
		case http2.SettingMaxFrameSize:
			l.peerFrame = s.Val
		default:
			if other != nil {
				other(s)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	l.fr.WriteSettingsAck()
	return l.flush()
}

// pong answers a PING.
func (l *link) pong(data [8]byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.fr.WritePing(true, data)
	return l.flush()
}

// connWindowUpdate adds to the connection window; the caller holds mu.
func (l *link) connWindowUpdate(inc uint32) error {
	l.sendWin += int64(inc)
	if l.sendWin > 1<<31-1 {
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	for fl := range l.flows {
		fl.cond.Broadcast()
	}
	return nil
}

// received counts n bytes of DATA against the connection window and
// tells how much to give back now (orphan: its stream is gone, so no
// stream window will); the caller holds mu.
func (l *link) received(n uint32, orphan bool) uint32 {
	l.recvUnacked += n
	if l.recvUnacked >= 16384 || l.recvUnacked > 0 && orphan {
		credit := l.recvUnacked
		l.recvUnacked = 0
		return credit
	}
	return 0
}

// windowUpdate gives the peer n more bytes on stream id (0: the
// connection).
func (l *link) windowUpdate(id, n uint32) {
	l.wmu.Lock()
	l.fr.WriteWindowUpdate(id, n)
	l.flush()
	l.wmu.Unlock()
}

// writeRST resets stream id.
func (l *link) writeRST(id uint32, code http2.ErrCode) {
	l.wmu.Lock()
	l.fr.WriteRSTStream(id, code)
	l.flush()
	l.wmu.Unlock()
}

// writeHeaderBlock writes an encoded header block (appendField) as
// HEADERS and CONTINUATION frames, after the table size update that is
// due, if any; the caller holds wmu.
func (l *link) writeHeaderBlock(id uint32, block []byte, end bool) error {
	if l.henc.sizeUpdate {
		l.hbuf = append(l.henc.begin(l.hbuf[:0]), block...)
		block = l.hbuf
	}
	l.mu.Lock()
	limit := int(l.peerFrame)
	l.mu.Unlock()
	return l.out.writeBlock(id, block, limit, end)
}

// writeBlock appends an encoded header block as a HEADERS frame and as
// many CONTINUATION frames as the peer's maximum frame size needs.
func (o *outBuf) writeBlock(id uint32, block []byte, limit int, end bool) error {
	typ, flags := http2.FrameHeaders, http2.Flags(0)
	if end {
		flags = http2.FlagHeadersEndStream
	}
	for {
		n := min(len(block), limit)
		if n == len(block) {
			flags |= http2.FlagHeadersEndHeaders
		}
		if err := o.frame(typ, flags, id, block[:n]); err != nil {
			return err
		}
		block = block[n:]
		if len(block) == 0 {
			return nil
		}
		typ, flags = http2.FrameContinuation, 0
	}
}

var errFrameStreamID = errors.New("h2: frame on an invalid stream ID")

// frame appends a frame (RFC 9113 4.1) whose payload is no larger than
// the peer's maximum frame size, as x/net's framer writes it but without
// its copy of the payload into a buffer of its own; the caller holds
// wmu.
func (o *outBuf) frame(typ http2.FrameType, flags http2.Flags, id uint32, payload []byte) error {
	if id == 0 || id >= 1<<31 {
		return errFrameStreamID
	}
	n := len(payload)
	o.b = append(o.b, byte(n>>16), byte(n>>8), byte(n), byte(typ), byte(flags), byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	o.b = append(o.b, payload...)
	return nil
}

// flow is what the streams of both sides have in common: the bytes
// received and not read yet, both flow control windows, the end of each
// direction, and the deadlines of the net.Conn the stream stands for.
type flow struct {
	l    *link
	cond sync.Cond // on l.mu

	// Under l.mu.
	id       uint32 // the client side's is 0 until its HEADERS are sent
	in       []byte // bytes received and not read yet
	inEnded  bool   // the peer ended its side
	outEnded bool   // our side was sent whole
	// outEndsInput: Read ends once our side has (a response ends the
	// exchange, except a tunnel's).
	outEndsInput bool
	buffered     uint32 // DATA bytes received since the last stream WINDOW_UPDATE
	recvWin      int64  // what the peer may still send
	sendWin      int64
	err          error // the stream was reset or the connection closed
	closed       bool
	rdl, wdl     time.Time
	rt, wt       deadlineTimer // wake a Read or a Write waiting past its deadline
}

func (f *flow) init(l *link, recvWin int64) {
	f.l, f.recvWin = l, recvWin
	f.cond.L = &l.mu
}

// Read returns received bytes; io.EOF after the peer's end (or ours, see
// outEndsInput).
func (f *flow) Read(p []byte) (int, error) {
	l := f.l
	l.mu.Lock()
	for len(f.in) == 0 {
		if f.err != nil {
			err := f.err
			l.mu.Unlock()
			return 0, err
		}
		if f.inEnded || f.outEnded && f.outEndsInput || f.closed {
			outEnded := f.outEnded
			l.mu.Unlock()
			if outEnded {
				l.wmu.Lock()
				l.flush()
				l.wmu.Unlock()
			}
			return 0, io.EOF
		}
		if !f.rdl.IsZero() && !time.Now().Before(f.rdl) {
			l.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		f.wait(&f.rt, f.rdl)
	}
	n := copy(p, f.in)
	f.in = f.in[n:]
	var credit uint32
	if len(f.in) == 0 {
		f.in = f.in[:0:0]
		if !f.inEnded && f.buffered > 0 {
			credit = f.buffered
			f.recvWin += int64(credit)
			f.buffered = 0
		}
	}
	id := f.id
	l.mu.Unlock()
	if credit > 0 {
		l.windowUpdate(id, credit)
	}
	return n, nil
}

// take counts n bytes of a DATA frame (padding included) against the
// stream's receive window; the caller holds l.mu.
func (f *flow) take(n uint32) error {
	if int64(n) > f.recvWin {
		return http2.StreamError{StreamID: f.id, Code: http2.ErrCodeFlowControl}
	}
	f.recvWin -= int64(n)
	f.buffered += n
	return nil
}

// windowUpdate adds to the stream's send window; the caller holds l.mu.
func (f *flow) windowUpdate(inc uint32) error {
	f.sendWin += int64(inc)
	if f.sendWin > 1<<31-1 {
		return http2.StreamError{StreamID: f.id, Code: http2.ErrCodeFlowControl}
	}
	f.cond.Broadcast()
	return nil
}

// writeData writes p as DATA frames as the flow control windows allow,
// waiting for them up to the write deadline: a peer that never opens its
// window holds the pipeline's buffer (tune.bufsize) that long, and
// nothing more. last tells that END_STREAM went out. The frames are
// flushed by the caller.
func (f *flow) writeData(p []byte, end bool) (last bool, err error) {
	l := f.l
	for {
		l.mu.Lock()
		if len(p) > 0 && (f.sendWin <= 0 || l.sendWin <= 0) && f.err == nil {
			// What was buffered must reach the peer before it can open
			// its window.
			l.mu.Unlock()
			l.wmu.Lock()
			l.flush()
			l.wmu.Unlock()
			l.mu.Lock()
		}
		for len(p) > 0 && (f.sendWin <= 0 || l.sendWin <= 0) && f.err == nil {
			if !f.wdl.IsZero() && !time.Now().Before(f.wdl) {
				l.mu.Unlock()
				return false, os.ErrDeadlineExceeded
			}
			f.wait(&f.wt, f.wdl)
		}
		if f.err != nil {
			err := f.err
			l.mu.Unlock()
			return false, err
		}
		n := min(int64(len(p)), f.sendWin, l.sendWin, int64(l.peerFrame))
		f.sendWin -= n
		l.sendWin -= n
		last := end && int(n) == len(p)
		if last {
			f.outEnded = true
		}
		id := f.id
		l.mu.Unlock()
		var flags http2.Flags
		if last {
			flags = http2.FlagDataEndStream
		}
		l.wmu.Lock()
		err := l.out.frame(http2.FrameData, flags, id, p[:n])
		l.wmu.Unlock()
		if err != nil {
			return false, err
		}
		p = p[n:]
		if len(p) == 0 {
			return last, nil
		}
	}
}

// failed is the error any I/O on the stream gets now, if any.
func (f *flow) failed() error {
	f.l.mu.Lock()
	defer f.l.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if f.closed {
		return net.ErrClosed
	}
	return nil
}

// stopTimers stops the deadline timers of a closed stream; the caller
// holds l.mu.
func (f *flow) stopTimers() {
	f.rt.stop()
	f.wt.stop()
}

func (f *flow) LocalAddr() net.Addr  { return f.l.c.LocalAddr() }
func (f *flow) RemoteAddr() net.Addr { return f.l.c.RemoteAddr() }

func (f *flow) SetDeadline(t time.Time) error {
	f.SetReadDeadline(t)
	return f.SetWriteDeadline(t)
}

// The deadlines are only noted: most streams never wait (their data is
// there when the pipeline reads it, the window open when it writes),
// and those need no timer. A waiter is woken to look at a new deadline.

func (f *flow) SetReadDeadline(t time.Time) error {
	f.l.mu.Lock()
	f.rdl = t
	f.cond.Broadcast()
	f.l.mu.Unlock()
	return nil
}

func (f *flow) SetWriteDeadline(t time.Time) error {
	f.l.mu.Lock()
	f.wdl = t
	f.cond.Broadcast()
	f.l.mu.Unlock()
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
// to pass, armed on dt; the caller holds l.mu.
func (f *flow) wait(dt *deadlineTimer, deadline time.Time) {
	if !deadline.IsZero() && !deadline.Equal(dt.at) {
		dt.at = deadline
		if dt.t == nil {
			// The timer outlives this use of the stream (Stream.recycle):
			// it reads no field of the stream outside l.mu.
			l := f.l
			dt.t = time.AfterFunc(time.Until(deadline), func() {
				l.mu.Lock()
				f.cond.Broadcast()
				l.mu.Unlock()
			})
		} else {
			dt.t.Reset(time.Until(deadline))
		}
	}
	f.cond.Wait()
}
