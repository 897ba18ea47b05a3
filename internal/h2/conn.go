// Package h2 is dhproxy's HTTP/2 connection layer (the client side): it
// demultiplexes one connection into streams and hands each stream to the
// proxy as a connection that carries one HTTP/1.1 exchange, so that every
// stream runs through the same transaction pipeline as an HTTP/1 request
// (rules, logs, counters, balancing). Frames are read and written with
// golang.org/x/net/http2's Framer and HPACK coder; net/http is not used.
package h2

import (
	"errors"
	"io"
	"log"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"dhproxy/internal/conn"
)

// Preface is what an HTTP/2 client sends first (RFC 9113 3.4).
const Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Config holds a connection's limits (tune.h2.*, tune.bufsize) and
// timeouts.
type Config struct {
	HeaderTableSize      uint32 // tune.h2.header-table-size: the HPACK table the client may use
	InitialWindowSize    uint32 // tune.h2.initial-window-size: per stream, for request bodies
	MaxConcurrentStreams uint32 // tune.h2.max-concurrent-streams
	MaxFrameSize         uint32 // tune.h2.max-frame-size: the largest frame accepted
	MaxHeaderListSize    uint32 // decoded request head limit (tune.bufsize)
	// WriteTimeout bounds each write to the client (timeout client).
	WriteTimeout time.Duration
	// IdleTimeout ends a connection without streams (timeout
	// http-keep-alive, else http-request, else client); RequestTimeout
	// bounds the preface and first SETTINGS.
	IdleTimeout, RequestTimeout time.Duration
	// Stop is closed when the process stops softly: GOAWAY is sent and
	// the connection ends once its streams are over.
	Stop <-chan struct{}
	// Stats receives the h2 module's counts (the frontend's); nil: none.
	Stats *Counters
	// NoExtendedConnect leaves SETTINGS_ENABLE_CONNECT_PROTOCOL out
	// (h2-workaround-bogus-websocket-clients): clients then open their
	// WebSockets over HTTP/1.1.
	NoExtendedConnect bool
}

// Defaults of HAProxy 2.6.
func (c *Config) setDefaults() {
	if c.MaxConcurrentStreams == 0 {
		c.MaxConcurrentStreams = 100
	}
	setLimitDefaults(&c.HeaderTableSize, &c.InitialWindowSize, &c.MaxFrameSize, &c.MaxHeaderListSize)
}

// setLimitDefaults fills the limits that both sides of the proxy (Config
// and ClientConfig) share with HAProxy 2.6's defaults where they are 0.
func setLimitDefaults(headerTableSize, initialWindowSize, maxFrameSize, maxHeaderListSize *uint32) {
	for _, l := range [...]struct {
		v   *uint32
		def uint32
	}{
		{headerTableSize, 4096},
		{initialWindowSize, 65535},
		{maxFrameSize, 16384},
		{maxHeaderListSize, 16384},
	} {
		if *l.v == 0 {
			*l.v = l.def
		}
	}
}

// Abuse limits. A client beyond them is cut off with ENHANCE_YOUR_CALM.
const (
	// maxControlPerSecond bounds SETTINGS and PING frames (and empty
	// DATA/HEADERS-less frames) a client may make us answer per second.
	maxControlPerSecond = 1000
	// maxContinuations bounds the CONTINUATION frames of one header
	// block: a legitimate head needs one or two.
	maxContinuations = 64
)

// Handler runs one stream's exchange, in a goroutine of its own; the
// stream is closed when it returns.
type Handler func(st *Stream)

// Conn is one client HTTP/2 connection.
type Conn struct {
	link
	cfg Config
	h   Handler
	// protoErr: the connection ends on a protocol error we detected in
	// what it carried (not in a frame's framing), as haproxy counts them.
	protoErr bool

	// Under mu.
	streams streamTable
	// answered: streams whose response ended before their request did.
	// What the client still sends on them is discarded but checked: the
	// request stays malformed whether it went past its content-length
	// before the response ended or after.
	answered     map[uint32]answer
	maxSeen      uint32    // highest stream id the client opened
	lastAllowed  uint32    // after GOAWAY: streams above are refused
	running      int       // handlers still running (reset streams included)
	free         []*Stream // ended streams kept for the next ones (recycle)
	opened       int       // streams opened so far
	readDeadline bool      // a read deadline is set (the reader clears it once streams run)
	draining     bool      // a soft stop sent the first GOAWAY (shutdown)
	peerGoneAway bool      // the client sent GOAWAY: streams above lastAllowed are refused
	goneAway     bool      // no stream above lastAllowed is served
	handlers     sync.WaitGroup

	// Abuse accounting: resets and completed under mu, the control
	// frame count by the reader alone.
	ctlCount  int
	ctlWindow time.Time
	resets    int // streams the client reset before their response ended
	completed int // responses sent whole
}

// Serve runs an HTTP/2 connection on c until it ends; h serves each
// stream. A cleartext client has not been read from yet; for a TLS one
// the handshake chose "h2".
func Serve(c net.Conn, cfg Config, h Handler) {
	cfg.setDefaults()
	cc := &Conn{cfg: cfg, h: h, answered: map[uint32]answer{}}
	cc.init(c, cfg.Stats, cfg.HeaderTableSize, cfg.MaxFrameSize, cfg.MaxHeaderListSize, cfg.WriteTimeout, cc.eachFlow)
	cc.st.TotalConns.Add(1)
	cc.st.OpenConns.Add(1)
	defer cc.st.OpenConns.Add(-1)
	cc.kick = make(chan struct{}, 1) // writes are batched (out.go)
	done := make(chan struct{})
	defer close(done)
	go cc.flusher(done)
	err := cc.serve()
	cc.end(err)
	cc.handlers.Wait()
}

func (cc *Conn) eachFlow(yield func(*flow) bool) {
	for st := range cc.streams.all {
		if !yield(&st.flow) {
			return
		}
	}
}

// serve reads frames until the connection ends; the error says how.
func (cc *Conn) serve() error {
	if cc.cfg.RequestTimeout > 0 {
		cc.mu.Lock()
		cc.setReadDeadline(time.Now().Add(cc.cfg.RequestTimeout))
		cc.mu.Unlock()
	}
	var pre [len(Preface)]byte
	if _, err := io.ReadFull(cc.br, pre[:]); err != nil || string(pre[:]) != Preface {
		return errNoPreface
	}
	settings := [...]http2.Setting{
		{ID: http2.SettingHeaderTableSize, Val: cc.cfg.HeaderTableSize},
		{ID: http2.SettingMaxConcurrentStreams, Val: cc.cfg.MaxConcurrentStreams},
		{ID: http2.SettingInitialWindowSize, Val: cc.cfg.InitialWindowSize},
		{ID: http2.SettingMaxFrameSize, Val: cc.cfg.MaxFrameSize},
		{ID: http2.SettingMaxHeaderListSize, Val: cc.cfg.MaxHeaderListSize},
		// Extended CONNECT (RFC 8441): WebSocket over HTTP/2, as haproxy 2.6.
		{ID: http2.SettingEnableConnectProtocol, Val: 1},
	}
	n := len(settings)
	if cc.cfg.NoExtendedConnect {
		n--
	}
	cc.wmu.Lock()
	cc.fr.WriteSettings(settings[:n]...)
	err := cc.flush()
	cc.wmu.Unlock()
	if err != nil {
		return err
	}
	first := true
	for {
		// The deadline is set under mu so that wake cannot be undone.
		cc.mu.Lock()
		idle := cc.streams.len() == 0 && cc.running == 0
		stop := cc.goneAway && idle
		// The next read waits for the client when the last one took all
		// there was, rather than finding nothing first (one system call in
		// five per stream of h2load -m10), but only while a stream is
		// under way: a FIN that came with the last bytes read is announced
		// by nothing later, and a client may close without a GOAWAY (curl
		// does) once its last response came. While a stream runs, such a
		// close is seen when the stream writes (the peer's reset wakes the
		// reader); an idle connection, or one whose client said GOAWAY,
		// tries its read first.
		cc.sock.WaitFirst(!idle && !cc.peerGoneAway)
		switch {
		case stop, first:
		case idle && cc.cfg.IdleTimeout > 0:
			cc.setReadDeadline(time.Now().Add(cc.cfg.IdleTimeout))
		case cc.readDeadline:
			// Streams have their own timeouts; the connection waits.
			cc.c.SetReadDeadline(time.Time{})
			cc.readDeadline = false
		}
		cc.mu.Unlock()
		if stop {
			return nil
		}
		f, err := cc.fr.ReadFrame()
		if err != nil {
			return cc.readError(err)
		}
		countFrame(cc.st, f, first)
		if first {
			if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
				return http2.ConnectionError(http2.ErrCodeProtocol)
			}
			first = false
		}
		if err := cc.frame(f); err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				cc.resetStream(se.StreamID, se.Code)
				continue
			}
			var ce http2.ConnectionError
			cc.protoErr = errors.As(err, &ce) && http2.ErrCode(ce) == http2.ErrCodeProtocol
			return err
		}
	}
}

// countFrame counts a received frame in the h2 module's columns; first
// is the connection's first frame (its SETTINGS, which haproxy counts
// twice).
func countFrame(st *Counters, f http2.Frame, first bool) {
	switch f.(type) {
	case *http2.HeadersFrame:
		st.HeadersRcvd.Add(1)
	case *http2.DataFrame:
		st.DataRcvd.Add(1)
	case *http2.SettingsFrame:
		st.SettingsRcvd.Add(1)
		if first {
			st.SettingsRcvd.Add(1)
		}
	case *http2.RSTStreamFrame:
		st.RstStreamRcvd.Add(1)
	case *http2.GoAwayFrame:
		st.GoawayRcvd.Add(1)
	}
}

var (
	errNoPreface = errors.New("h2: no connection preface")
	errCalm      = http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
)

// readError turns a frame read failure into the connection's end, or
// resets the one stream it concerns.
func (cc *Conn) readError(err error) error {
	var se http2.StreamError
	if errors.As(err, &se) {
		cc.resetStream(se.StreamID, se.Code)
		return nil
	}
	if errors.Is(err, http2.ErrFrameTooLarge) {
		return http2.ConnectionError(http2.ErrCodeFrameSize)
	}
	return err
}

// frame handles one frame read from the client.
func (cc *Conn) frame(f http2.Frame) error {
	if cc.hdrStream != 0 {
		if cf, ok := f.(*http2.ContinuationFrame); ok {
			return cc.continuation(cf)
		}
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		return cc.settings(f)
	case *http2.PingFrame:
		if f.IsAck() {
			if f.Data == shutdownPing {
				cc.finalGoAway()
			}
			return nil
		}
		if err := cc.control(); err != nil {
			return err
		}
		return cc.pong(f.Data)
	case *http2.HeadersFrame:
		return cc.headers(f)
	case *http2.ContinuationFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	case *http2.DataFrame:
		return cc.data(f)
	case *http2.WindowUpdateFrame:
		return cc.windowUpdate(f)
	case *http2.RSTStreamFrame:
		return cc.rstStream(f)
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
		}
		return nil
	case *http2.GoAwayFrame:
		// The client opens no more streams; what it still sends (a
		// SETTINGS ACK, the end of its streams) is read until it closes,
		// as haproxy does.
		cc.mu.Lock()
		cc.lastAllowed = cc.maxSeen
		cc.peerGoneAway = true
		cc.mu.Unlock()
		// Its close may have come with the GOAWAY, announced by nothing
		// later: each read tries first from now on (serve).
		return nil
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	return nil // unknown frame types are ignored (RFC 9113 5.5)
}

// control counts a frame that only makes us answer, and cuts a client
// that sends too many of them (SETTINGS and PING floods).
func (cc *Conn) control() error {
	now := time.Now()
	if now.Sub(cc.ctlWindow) > time.Second {
		cc.ctlWindow, cc.ctlCount = now, 0
	}
	cc.ctlCount++
	if cc.ctlCount > maxControlPerSecond {
		return errCalm
	}
	return nil
}

// settings applies the client's SETTINGS and acknowledges them.
func (cc *Conn) settings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	if err := cc.control(); err != nil {
		return err
	}
	return cc.link.settings(f, nil)
}

func (cc *Conn) headers(f *http2.HeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if f.HasPriority() && f.Priority.StreamDep == id {
		// Decoded anyway, to keep the HPACK state in step.
		cc.beginBlock(f)
		cc.hdrStream = 0
		if err := cc.decode(f.HeaderBlockFragment(), f.HeadersEnded()); err != nil {
			return err
		}
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	cc.beginBlock(f)
	return cc.fragment(f.HeaderBlockFragment(), f.HeadersEnded())
}

func (cc *Conn) continuation(f *http2.ContinuationFrame) error {
	if err := cc.continued(f); err != nil {
		return err
	}
	return cc.fragment(f.HeaderBlockFragment(), f.HeadersEnded())
}

// fragment decodes part of a header block; the whole block opens a
// stream or ends one with trailers.
func (cc *Conn) fragment(frag []byte, end bool) error {
	if err := cc.decode(frag, end); err != nil {
		return err
	}
	if !end {
		return nil
	}
	id := cc.hdrStream
	cc.hdrStream = 0
	cc.mu.Lock()
	st := cc.streams.get(id)
	cc.mu.Unlock()
	if st != nil {
		return st.trailers(cc.fields, cc.hdrEnd, cc.tooBig)
	}
	cc.mu.Lock()
	if _, ok := cc.answered[id]; ok {
		cc.mu.Unlock()
		// Trailers end the request; only the body's length counts.
		if !cc.hdrEnd {
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
		}
		return cc.lateData(id, 0, 0, true)
	}
	if id <= cc.maxSeen {
		cc.mu.Unlock()
		// A stream that is over (or was skipped): RFC 9113 5.1.
		return http2.ConnectionError(http2.ErrCodeStreamClosed)
	}
	cc.maxSeen = id
	refuse := (cc.goneAway || cc.peerGoneAway) && id > cc.lastAllowed || cc.closed
	limit := uint32(cc.streams.len()) >= cc.cfg.MaxConcurrentStreams || cc.running >= int(cc.cfg.MaxConcurrentStreams)
	cc.mu.Unlock()
	if refuse {
		return nil // after GOAWAY: ignored, the client retries elsewhere
	}
	if limit {
		cc.noteReset()
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	}
	if cc.tooBig {
		// The client ignored SETTINGS_MAX_HEADER_LIST_SIZE: HAProxy
		// refuses such a head as HTTP/1 does, without the pipeline.
		return cc.localReply(id, "431")
	}
	st = cc.newStream()
	head, info, err := st.convertRequest(cc.fields, cc.hdrEnd)
	if err != nil {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	st.init(cc, id, head, info, cc.hdrEnd)
	cc.st.TotalStreams.Add(1)
	cc.st.OpenStreams.Add(1)
	cc.mu.Lock()
	st.seq = int32(cc.opened)
	cc.opened++
	cc.streams.add(st)
	cc.running++
	cc.mu.Unlock()
	cc.handlers.Add(1)
	select {
	case idleWorkers <- st:
	default:
		go streamWorker(st)
	}
	return nil
}

// answer is a stream answered before its request ended (Conn.answered).
type answer struct {
	left  int64 // request bytes still allowed (-1: no declared length)
	drain bool  // the stream stays open for the rest of the body (Stream.DrainRequest)
	reset bool  // the stream was reset (CANCEL) after the response
}

// lateData checks n bytes of DATA (flow bytes of flow control; end: the
// last) on a stream without handler: one answered early is checked
// against its content-length, and given its window back when drained;
// another one is closed. One reset after its response is closed too, as
// haproxy 2.6 answers each DATA frame that comes after its reset with
// RST_STREAM(STREAM_CLOSED) (RFC 9113 5.1 lets it), unless the body
// overran its content-length (malformed: h2spec 8.1.2.6); frames read
// before the reset went out are ignored. Either way the connection's
// window was given back (Conn.data).
func (cc *Conn) lateData(id uint32, n int, flow uint32, end bool) error {
	cc.mu.Lock()
	a, ok := cc.answered[id]
	if !ok {
		cc.mu.Unlock()
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	}
	if a.left >= 0 {
		a.left -= int64(n)
		if a.left < 0 || end && a.left != 0 && !a.reset {
			delete(cc.answered, id)
			cc.st.StrmProtoErr.Add(1)
			cc.mu.Unlock()
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
		}
		cc.answered[id] = a
	}
	if end {
		delete(cc.answered, id)
	}
	cc.mu.Unlock()
	if a.reset {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	}
	if a.drain && !end && flow > 0 {
		cc.link.windowUpdate(id, flow)
	}
	return nil
}

// Streams run on worker goroutines that wait for another stream (of any
// connection) once theirs is over: a new stream then costs a wake-up,
// not a new goroutine whose stack grows again to what the pipeline
// needs. At most maxIdleWorkers wait; the runtime shrinks their stacks
// if they wait long.
var (
	idleWorkers   = make(chan *Stream)
	idleWorkerCnt atomic.Int32
)

const maxIdleWorkers = 128

func streamWorker(st *Stream) {
	for {
		st.cc.run(st)
		if idleWorkerCnt.Add(1) > maxIdleWorkers {
			idleWorkerCnt.Add(-1)
			return
		}
		st = <-idleWorkers
		idleWorkerCnt.Add(-1)
	}
}

// run serves a stream on a worker goroutine.
func (cc *Conn) run(st *Stream) {
	defer cc.handlers.Done()
	defer func() {
		if r := recover(); r != nil {
			log.Printf("[ALERT] h2 stream %d: panic: %v\n%s", st.id, r, debug.Stack())
		}
		st.Close()
		cc.wmu.Lock()
		owe := st.oweBatch
		st.ended = true
		cc.wmu.Unlock()
		putConv(st.conv)
		cc.st.OpenStreams.Add(-1)
		cc.mu.Lock()
		cc.running--
		cc.recycle(st)
		cc.mu.Unlock()
		cc.wake()
		if owe {
			cc.sendPromised()
		}
	}()
	cc.h(st)
}

// maxFreeStreams bounds the ended streams a connection keeps for its
// next ones (8 KiB): a client's streams often end together and the next
// ones come together, while the connection is idle for a moment (with
// 8, one stream in five of h2load -m10 still got a new object).
const maxFreeStreams = 16

// newStream returns a stream object for the reader to open: one that
// ended, or a new one.
func (cc *Conn) newStream() *Stream {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if n := len(cc.free); n > 0 {
		st := cc.free[n-1]
		cc.free[n-1] = nil
		cc.free = cc.free[:n-1]
		return st
	}
	return new(Stream)
}

// recycle keeps st, whose handler has returned, for a later stream; the
// caller holds mu. A stream still listed (its id could still find it) or
// a tunnel is left to the collector. Only the reader takes streams from
// the list (newStream), so none of its own references to st outlives
// st's first life: the frames it handles find streams by id.
func (cc *Conn) recycle(st *Stream) {
	if len(cc.free) >= maxFreeStreams || cc.streams.get(st.id) == st || st.info.connect || st.info.upgrade {
		return
	}
	st.recycle()
	cc.free = append(cc.free, st)
}

// wake makes the reader notice that the connection has become idle
// (its last stream is over): a stopping connection ends at once, another
// one waits for its idle timeout from now on.
func (cc *Conn) wake() {
	cc.mu.Lock()
	if cc.streams.len() == 0 && cc.running == 0 {
		switch {
		case cc.goneAway:
			cc.setReadDeadline(time.Unix(1, 0))
		case cc.cfg.IdleTimeout > 0:
			cc.setReadDeadline(time.Now().Add(cc.cfg.IdleTimeout))
		}
	}
	cc.mu.Unlock()
}

// setReadDeadline sets the connection's read deadline; the caller holds
// mu.
func (cc *Conn) setReadDeadline(t time.Time) {
	cc.c.SetReadDeadline(t)
	cc.readDeadline = true
}

// localReply answers a stream from this layer (a head that could not
// become a request), without body.
func (cc *Conn) localReply(id uint32, status string) error {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	block := appendFields(nil, []hpack.HeaderField{{Name: ":status", Value: status}, {Name: "content-length", Value: "0"}})
	cc.writeHeaderBlock(id, block, true)
	return cc.flush()
}

func (cc *Conn) data(f *http2.DataFrame) error {
	id := f.StreamID
	n := f.Length // padding included, as flow control counts it
	cc.mu.Lock()
	st := cc.streams.get(id)
	idle := id > cc.maxSeen
	credit := cc.received(n, st == nil)
	cc.mu.Unlock()
	if idle {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	// The connection window is given back at once: each stream's own
	// window bounds what it buffers.
	if credit > 0 {
		cc.link.windowUpdate(0, credit)
	}
	if st == nil {
		return cc.lateData(id, len(f.Data()), n, f.StreamEnded())
	}
	if len(f.Data()) == 0 && !f.StreamEnded() {
		if err := cc.control(); err != nil {
			return err // a flood of empty frames
		}
	}
	return st.received(f.Data(), n, f.StreamEnded())
}

func (cc *Conn) windowUpdate(f *http2.WindowUpdateFrame) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if f.StreamID == 0 {
		return cc.connWindowUpdate(f.Increment)
	}
	if f.StreamID > cc.maxSeen {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	st := cc.streams.get(f.StreamID)
	if st == nil {
		return nil // a stream that ended meanwhile
	}
	return st.flow.windowUpdate(f.Increment)
}

func (cc *Conn) rstStream(f *http2.RSTStreamFrame) error {
	cc.mu.Lock()
	if f.StreamID > cc.maxSeen {
		cc.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	st := cc.streams.get(f.StreamID)
	delete(cc.answered, f.StreamID)
	cc.mu.Unlock()
	if st == nil {
		return nil
	}
	if !st.abort(errStreamReset) {
		return nil
	}
	return cc.noteReset()
}

// noteReset counts a stream that ended before its response did, reset
// by the client or refused for being one too many: a client doing that
// faster than streams complete (Rapid Reset, CVE-2023-44487) is cut off.
func (cc *Conn) noteReset() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.resets++
	if cc.resets > 2*int(cc.cfg.MaxConcurrentStreams) && cc.resets > 2*cc.completed {
		return errCalm
	}
	return nil
}

// resetStream sends RST_STREAM and ends the stream's exchange.
func (cc *Conn) resetStream(id uint32, code http2.ErrCode) {
	cc.mu.Lock()
	st := cc.streams.get(id)
	cc.mu.Unlock()
	if st != nil {
		st.abort(errStreamReset)
	}
	cc.st.RstStreamResp.Add(1)
	cc.writeRST(id, code)
}

// forget removes an ended stream; complete tells that its response was
// sent whole.
func (cc *Conn) forget(st *Stream, complete bool) {
	cc.mu.Lock()
	cc.streams.remove(st)
	if complete {
		cc.completed++
		if !st.inEnded && !st.info.connect {
			cc.rememberAnswered(st)
		}
	}
	cc.mu.Unlock()
}

// answeredReset notes that stream id, answered early, was reset.
func (cc *Conn) answeredReset(id uint32) {
	cc.mu.Lock()
	if a, ok := cc.answered[id]; ok {
		a.reset = true
		cc.answered[id] = a
	}
	cc.mu.Unlock()
}

// rememberAnswered keeps what a stream answered before its request ended
// may still receive, for lateData; the caller holds mu. The entries of
// a client that never ends its requests are bounded by the stream limit.
func (cc *Conn) rememberAnswered(st *Stream) {
	if len(cc.answered) >= int(cc.cfg.MaxConcurrentStreams) {
		for id := range cc.answered {
			delete(cc.answered, id)
			break
		}
	}
	a := answer{left: -1, drain: st.drain}
	if cl := st.info.contentLength; cl >= 0 {
		a.left = cl - st.got
	}
	cc.answered[st.id] = a
}

// shutdown starts a graceful end for a soft stop, in two steps as RFC
// 9113 6.8 advises (and haproxy does): a first GOAWAY with the highest
// stream id warns the client without refusing what it is sending; a PING
// round trip later, the final GOAWAY names the last stream served. The
// connection ends once those streams are over.
func (cc *Conn) shutdown() {
	cc.mu.Lock()
	if cc.goneAway || cc.closed || cc.draining {
		cc.mu.Unlock()
		return
	}
	cc.draining = true
	cc.mu.Unlock()
	cc.wmu.Lock()
	cc.fr.WriteGoAway(1<<31-1, http2.ErrCodeNo, nil)
	cc.fr.WritePing(false, shutdownPing)
	cc.flush()
	cc.wmu.Unlock()
	// A client that does not answer the PING gets the final GOAWAY anyway.
	time.AfterFunc(time.Second, cc.finalGoAway)
}

var shutdownPing = [8]byte{'s', 'h', 'u', 't', 'd', 'o', 'w', 'n'}

// finalGoAway sends the GOAWAY that refuses streams above the last one
// opened so far.
func (cc *Conn) finalGoAway() {
	cc.mu.Lock()
	if cc.goneAway || cc.closed {
		cc.mu.Unlock()
		return
	}
	cc.goneAway, cc.lastAllowed = true, cc.maxSeen
	last := cc.maxSeen
	cc.mu.Unlock()
	cc.wmu.Lock()
	cc.fr.WriteGoAway(last, http2.ErrCodeNo, nil)
	cc.flush()
	cc.wmu.Unlock()
	cc.wake()
}

// end closes the connection after a GOAWAY saying why (err: nil for a
// normal end), and makes every stream's I/O fail.
func (cc *Conn) end(err error) {
	code := http2.ErrCodeNo
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &ce):
		code = http2.ErrCode(ce)
	case err == errNoPreface:
		code = http2.ErrCodeProtocol
	}
	cc.mu.Lock()
	last := cc.maxSeen
	cc.closed = true
	cc.mu.Unlock()
	cc.abortAll()
	switch {
	case err == errNoPreface:
		cc.st.ConnProtoErr.Add(1)
	case cc.protoErr:
		cc.st.ConnProtoErr.Add(1)
		cc.st.GoawayResp.Add(1)
	}
	if err == nil || code != http2.ErrCodeNo || conn.IsTimeout(err) {
		cc.wmu.Lock()
		cc.fr.WriteGoAway(last, code, goAwayDebug(err))
		cc.flushNow(time.Second)
		cc.wmu.Unlock()
	}
	// Closing with unread bytes in our receive buffer would reset the
	// connection, and the client could lose the GOAWAY: the write side
	// is shut first and what the client still sends is read briefly.
	if cw, ok := cc.c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		cc.c.SetReadDeadline(time.Now().Add(lingerTime))
		io.Copy(io.Discard, io.LimitReader(cc.c, 1<<20))
	}
	cc.c.Close()
}

// lingerTime bounds how long a closing connection reads what the client
// still sends.
const lingerTime = 500 * time.Millisecond

func (cc *Conn) abortAll() {
	cc.mu.Lock()
	list := make([]*Stream, 0, cc.streams.len())
	for st := range cc.streams.all {
		list = append(list, st)
	}
	cc.mu.Unlock()
	for _, st := range list {
		st.abort(net.ErrClosed)
	}
}

// goAwayDebug is the GOAWAY's debug data: why the connection ends.
func goAwayDebug(err error) []byte {
	switch {
	case err == nil, conn.IsTimeout(err):
		return nil
	case err == errCalm:
		return []byte("too many frames of no use")
	}
	return []byte(err.Error())
}
