package h2

import (
	"errors"
	"log"
	"net"
	"runtime/debug"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// ClientConfig holds the limits of a connection to a server.
type ClientConfig struct {
	Scheme            string // :scheme of the requests: "http" (h2c) or "https"
	HeaderTableSize   uint32 // tune.h2.header-table-size: the HPACK table the server may use
	InitialWindowSize uint32 // tune.h2.initial-window-size: per stream, for response bodies
	MaxFrameSize      uint32 // tune.h2.max-frame-size: the largest frame accepted
	MaxHeaderListSize uint32 // decoded response head limit (tune.bufsize)
	// MaxStreams is how many streams the connection carries in all
	// (max-reuse + 1); 0: no limit.
	MaxStreams int
	// WriteTimeout bounds each write to the server (timeout server).
	WriteTimeout time.Duration
	// IdleTimeout ends a connection without streams for that long
	// (pool-purge-delay); 0: never.
	IdleTimeout time.Duration
	// Stats receives the h2 module's counts (the backend's); nil: none.
	Stats *Counters
	// OnIdle is called when the connection's last stream ends and it may
	// carry more; the pool decides whether to keep it.
	OnIdle func(*ClientConn)
}

func (c *ClientConfig) setDefaults() {
	if c.Scheme == "" {
		c.Scheme = "http"
	}
	setLimitDefaults(&c.HeaderTableSize, &c.InitialWindowSize, &c.MaxFrameSize, &c.MaxHeaderListSize)
}

// The errors a server connection gives its streams' readers.
var (
	// ErrRefused: the server did not process the stream (GOAWAY with a
	// lower last stream id, or RST_STREAM REFUSED_STREAM): it can be sent
	// again on another connection.
	ErrRefused = errors.New("h2: stream refused by the server")
	// ErrServerReset: the server reset the stream.
	ErrServerReset  = errors.New("h2: stream reset by the server")
	errServerGoAway = errors.New("h2: GOAWAY with an error from the server")
	// ErrConnClosed: the connection ended before the stream did.
	ErrConnClosed = errors.New("h2: server connection closed")
)

// connWindow is the connection receive window we open at once: each
// stream's own window bounds what it buffers.
const connWindow = 1 << 30

// ClientConn is an HTTP/2 connection to a server, shared by the streams
// of many client requests.
type ClientConn struct {
	link
	cfg ClientConfig

	nextID uint32 // written under wmu and mu both: ids go out in order

	// Under mu.
	streams    map[uint32]*ClientStream
	active     int    // streams reserved and not closed yet
	used       int    // streams reserved so far
	maxStreams uint32 // SETTINGS_MAX_CONCURRENT_STREAMS of the server
	goneAway   bool
	lastGood   uint32 // after GOAWAY: the last stream the server processes
	idleSince  time.Time
}

// NewClientConn starts HTTP/2 on c (a fresh connection to a server, TLS
// with "h2" negotiated or cleartext with prior knowledge): it sends the
// preface and our SETTINGS, and reads the server's frames in a goroutine
// of its own until the connection ends.
func NewClientConn(c net.Conn, cfg ClientConfig) (*ClientConn, error) {
	cfg.setDefaults()
	cc := &ClientConn{cfg: cfg, nextID: 1, streams: map[uint32]*ClientStream{}, maxStreams: 100, idleSince: time.Now()}
	cc.init(c, cfg.Stats, cfg.HeaderTableSize, cfg.MaxFrameSize, cfg.MaxHeaderListSize, cfg.WriteTimeout, cc.eachFlow)
	cc.wmu.Lock()
	cc.out.b = append(cc.out.b, Preface...)
	cc.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingHeaderTableSize, Val: cfg.HeaderTableSize},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: cfg.InitialWindowSize},
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: cfg.MaxFrameSize},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: cfg.MaxHeaderListSize},
	)
	cc.fr.WriteWindowUpdate(0, connWindow-65535)
	err := cc.flush()
	cc.wmu.Unlock()
	if err != nil {
		c.Close()
		return nil, err
	}
	cc.st.TotalConns.Add(1)
	cc.st.OpenConns.Add(1)
	go cc.readLoop()
	return cc, nil
}

// Reserve takes a stream slot for a request, false when the connection
// cannot carry one more (closed, going away, its max-reuse reached, or
// as many streams open as the server allows). busyOnly refuses an idle
// connection (http-reuse safe for a session's first request: a server
// may close an idle connection while the request is on its way).
func (cc *ClientConn) Reserve(busyOnly bool) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.closed || cc.goneAway || busyOnly && cc.active == 0 ||
		cc.cfg.MaxStreams > 0 && cc.used >= cc.cfg.MaxStreams || uint32(cc.active) >= cc.maxStreams {
		return false
	}
	cc.active++
	cc.used++
	return true
}

// NewStream returns a stream for a slot taken by Reserve.
func (cc *ClientConn) NewStream() *ClientStream {
	cs := &ClientStream{cc: cc}
	cs.flow.init(&cc.link, int64(cc.cfg.InitialWindowSize))
	cs.req.scheme = cc.cfg.Scheme
	return cs
}

func (cc *ClientConn) eachFlow(yield func(*flow) bool) {
	for _, cs := range cc.streams {
		if !yield(&cs.flow) {
			return
		}
	}
}

// Usable tells whether the connection may carry more streams.
func (cc *ClientConn) Usable() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return !cc.closed && !cc.goneAway && (cc.cfg.MaxStreams == 0 || cc.used < cc.cfg.MaxStreams)
}

// IdleSince tells whether the connection carries no stream, and since
// when.
func (cc *ClientConn) IdleSince() (time.Time, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.idleSince, cc.active == 0 && !cc.closed
}

// Close ends the connection with a GOAWAY; its streams fail.
func (cc *ClientConn) Close() error {
	cc.end(nil)
	return nil
}

// Closed tells whether the connection has ended.
func (cc *ClientConn) Closed() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.closed
}

// release gives back a stream's slot; the connection ends when it can
// carry nothing more.
func (cc *ClientConn) release(cs *ClientStream) {
	cc.mu.Lock()
	if cs.id != 0 {
		cc.st.OpenStreams.Add(-1)
	}
	if cs.id != 0 && cc.streams[cs.id] == cs {
		delete(cc.streams, cs.id)
	}
	cc.active--
	idle := cc.active == 0 && !cc.closed
	spent := cc.goneAway || cc.cfg.MaxStreams > 0 && cc.used >= cc.cfg.MaxStreams
	if idle {
		cc.idleSince = time.Now()
		if t := cc.cfg.IdleTimeout; t > 0 {
			since := cc.idleSince
			time.AfterFunc(t, func() { cc.expire(since) })
		}
	}
	cc.mu.Unlock()
	switch {
	case idle && spent:
		cc.end(nil)
	case idle && cc.cfg.OnIdle != nil:
		cc.cfg.OnIdle(cc)
	}
}

// expire ends a connection still idle since the time its timer was set.
func (cc *ClientConn) expire(since time.Time) {
	cc.mu.Lock()
	still := cc.active == 0 && cc.idleSince.Equal(since)
	cc.mu.Unlock()
	if still {
		cc.end(nil)
	}
}

// readLoop reads the server's frames until the connection ends.
func (cc *ClientConn) readLoop() {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("[ALERT] h2 server connection: panic: %v\n%s", r, debug.Stack())
			cc.end(ErrConnClosed)
		}
	}()
	first := true
	for {
		f, err := cc.fr.ReadFrame()
		if err == nil {
			countFrame(cc.st, f, first)
			first = false
			err = cc.frame(f)
		}
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				cc.resetStream(se.StreamID, se.Code, ErrServerReset)
				continue
			}
			cc.end(err)
			return
		}
	}
}

func (cc *ClientConn) frame(f http2.Frame) error {
	if cc.hdrStream != 0 {
		cf, ok := f.(*http2.ContinuationFrame)
		if !ok {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if err := cc.continued(cf); err != nil {
			return err
		}
		return cc.fragment(cf.HeaderBlockFragment(), cf.HeadersEnded())
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		return cc.settings(f, cc.setting)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		return cc.pong(f.Data)
	case *http2.HeadersFrame:
		if f.StreamID%2 == 0 {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		cc.beginBlock(f)
		return cc.fragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.ContinuationFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	case *http2.DataFrame:
		return cc.data(f)
	case *http2.WindowUpdateFrame:
		return cc.windowUpdate(f)
	case *http2.RSTStreamFrame:
		err := ErrServerReset
		if f.ErrCode == http2.ErrCodeRefusedStream {
			err = ErrRefused
		}
		cc.mu.Lock()
		cs := cc.streams[f.StreamID]
		cc.mu.Unlock()
		if cs != nil {
			cs.fail(err, f.ErrCode)
		}
		return nil
	case *http2.GoAwayFrame:
		cc.goAway(f.LastStreamID)
		if f.ErrCode != http2.ErrCodeNo {
			return errServerGoAway // the server's error: ours to close, not to report
		}
		return nil
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol) // push is disabled in our SETTINGS
	}
	return nil
}

// goAway stops new streams; those above last were not processed and may
// go to another connection.
func (cc *ClientConn) goAway(last uint32) {
	cc.mu.Lock()
	cc.goneAway, cc.lastGood = true, last
	var refused []*ClientStream
	for id, cs := range cc.streams {
		if id > last {
			refused = append(refused, cs)
		}
	}
	idle := cc.active == 0
	cc.mu.Unlock()
	for _, cs := range refused {
		cs.fail(ErrRefused, 0)
	}
	if idle {
		cc.end(nil)
	}
}

// setting applies a server's setting that only the client side uses;
// the caller holds mu.
func (cc *ClientConn) setting(s http2.Setting) {
	if s.ID == http2.SettingMaxConcurrentStreams {
		cc.maxStreams = s.Val
	}
}

// fragment decodes part of a response header block; the whole block goes
// to its stream.
func (cc *ClientConn) fragment(frag []byte, end bool) error {
	if err := cc.decode(frag, end); err != nil || !end {
		return err
	}
	id := cc.hdrStream
	cc.hdrStream = 0
	cc.mu.Lock()
	cs := cc.streams[id]
	known := id < cc.nextID
	cc.mu.Unlock()
	if !known {
		return http2.ConnectionError(http2.ErrCodeProtocol) // a stream we never opened
	}
	if cs == nil {
		return nil // a stream we closed meanwhile
	}
	if cc.tooBig {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	return cs.headers(cc.fields, cc.hdrEnd)
}

func (cc *ClientConn) data(f *http2.DataFrame) error {
	n := f.Length
	cc.mu.Lock()
	cs := cc.streams[f.StreamID]
	known := f.StreamID < cc.nextID
	credit := cc.received(n, cs == nil)
	cc.mu.Unlock()
	if !known {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if credit > 0 {
		cc.link.windowUpdate(0, credit)
	}
	if cs == nil {
		return nil // a stream we reset: its late frames are ignored
	}
	return cs.data(f.Data(), n, f.StreamEnded())
}

func (cc *ClientConn) windowUpdate(f *http2.WindowUpdateFrame) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if f.StreamID == 0 {
		return cc.connWindowUpdate(f.Increment)
	}
	cs := cc.streams[f.StreamID]
	if cs == nil {
		return nil
	}
	return cs.flow.windowUpdate(f.Increment)
}

// resetStream sends RST_STREAM and fails the stream with err.
func (cc *ClientConn) resetStream(id uint32, code http2.ErrCode, err error) {
	cc.mu.Lock()
	cs := cc.streams[id]
	cc.mu.Unlock()
	if cs != nil {
		cs.fail(err, 0)
	}
	cc.st.RstStreamResp.Add(1)
	cc.writeRST(id, code)
}

// end closes the connection (err nil: a normal end, with GOAWAY) and
// fails its streams: those the server never saw as refused.
func (cc *ClientConn) end(err error) {
	cc.mu.Lock()
	if cc.closed {
		cc.mu.Unlock()
		return
	}
	cc.closed = true
	cc.st.OpenConns.Add(-1)
	list := make([]*ClientStream, 0, len(cc.streams))
	for _, cs := range cc.streams {
		list = append(list, cs)
	}
	cc.mu.Unlock()
	for _, cs := range list {
		cs.fail(ErrConnClosed, 0)
	}
	code := http2.ErrCodeNo
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		code = http2.ErrCode(ce)
	}
	if code == http2.ErrCodeProtocol {
		cc.st.ConnProtoErr.Add(1)
		cc.st.GoawayResp.Add(1)
	}
	if err == nil || code != http2.ErrCodeNo {
		cc.wmu.Lock()
		cc.fr.WriteGoAway(0, code, nil)
		cc.flushNow(time.Second)
		cc.wmu.Unlock()
	}
	cc.c.Close()
}

// ClientStream is one request to a server over a shared connection, seen
// by the pipeline as a server connection carrying one HTTP/1.1 exchange:
// Write takes the request (sent as HEADERS and DATA frames within the
// server's windows), Read returns the response in HTTP/1.1 form.
type ClientStream struct {
	flow // outEnded: the request was sent whole
	cc   *ClientConn
	req  reqConv // the writer's goroutine only

	// Under cc.mu.
	headReq bool
	// upgrade: the request is an extended CONNECT for an HTTP/1.1
	// Upgrade to protocol: a 2xx answer is the client's 101, with the
	// accept token of wsKey; the stream is then a tunnel.
	upgrade         bool
	protocol, wsKey string
	resp            respInfo
	gotFinal        bool          // the final response head arrived
	errCode         http2.ErrCode // RST_STREAM code of a server reset
}

// headers takes a response header block (reader goroutine).
func (cs *ClientStream) headers(fields []hpack.HeaderField, end bool) error {
	cc := cs.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cs.inEnded {
		return http2.StreamError{StreamID: cs.id, Code: http2.ErrCodeStreamClosed}
	}
	if cs.gotFinal {
		// Trailers: they end the stream.
		if !end {
			return http2.StreamError{StreamID: cs.id, Code: http2.ErrCodeProtocol}
		}
		if cs.resp.chunked {
			var err error
			if cs.in, err = appendTrailers(cs.in, fields); err != nil {
				return http2.StreamError{StreamID: cs.id, Code: http2.ErrCodeProtocol}
			}
		}
		cs.inEnded = true
		cs.cond.Broadcast()
		return nil
	}
	var info respInfo
	var err error
	if cs.upgrade && !end {
		// Checked as any head, then the tunnel is the client's 101.
		if _, info, err = appendResponseHead(nil, fields, end, false); err != nil {
			return http2.StreamError{StreamID: cs.id, Code: http2.ErrCodeProtocol}
		}
		if info.status/100 == 2 {
			cs.in = appendUpgraded(cs.in, fields, cs.protocol, cs.wsKey)
			cs.resp, cs.gotFinal = respInfo{status: 101, final: true}, true
			cs.cond.Broadcast()
			return nil
		}
	}
	cs.in, info, err = appendResponseHead(cs.in, fields, end, cs.headReq)
	if err != nil {
		return http2.StreamError{StreamID: cs.id, Code: http2.ErrCodeProtocol}
	}
	if info.final {
		cs.resp, cs.gotFinal = info, true
	}
	if end {
		cs.inEnded = true
	}
	cs.cond.Broadcast()
	return nil
}

// data takes a DATA frame's payload (reader goroutine).
func (cs *ClientStream) data(p []byte, n uint32, end bool) error {
	cc := cs.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cs.inEnded || !cs.gotFinal {
		return http2.StreamError{StreamID: cs.id, Code: http2.ErrCodeProtocol}
	}
	if err := cs.take(n); err != nil {
		return err
	}
	if cs.err == nil && len(p) > 0 {
		if cs.resp.chunked {
			cs.in = appendChunk(cs.in, p)
		} else {
			cs.in = append(cs.in, p...)
		}
	}
	if end {
		cs.inEnded = true
		if cs.resp.chunked {
			cs.in = append(cs.in, "0\r\n\r\n"...)
		}
	}
	cs.cond.Broadcast()
	return nil
}

// fail ends the stream's I/O with err.
func (cs *ClientStream) fail(err error, code http2.ErrCode) {
	cc := cs.cc
	cc.mu.Lock()
	if cs.err == nil && !(cs.inEnded && cs.outEnded) {
		cs.err, cs.errCode = err, code
		cs.cond.Broadcast()
	}
	cc.mu.Unlock()
}

// Write takes request bytes.
func (cs *ClientStream) Write(p []byte) (int, error) {
	if err := cs.failed(); err != nil {
		return 0, err
	}
	err := cs.req.write(p, cs)
	cc := cs.cc
	cc.wmu.Lock()
	if ferr := cc.flush(); err == nil {
		err = ferr
	}
	cc.wmu.Unlock()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// sendHeaders opens the stream with the request's head, or ends it with
// trailers.
func (cs *ClientStream) sendHeaders(block []byte, end bool) error {
	cc := cs.cc
	if err := cs.failed(); err != nil {
		return err
	}
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	cc.mu.Lock()
	if cs.id == 0 {
		// Ids go out in increasing order: taken and written under wmu.
		if cc.closed || cc.goneAway {
			cc.mu.Unlock()
			cs.fail(ErrRefused, 0)
			return ErrRefused
		}
		cs.id = cc.nextID
		cc.nextID += 2
		cc.st.TotalStreams.Add(1)
		cc.st.OpenStreams.Add(1)
		cs.sendWin = int64(cc.peerWin)
		cs.headReq = cs.req.method == "HEAD"
		cs.upgrade, cs.protocol, cs.wsKey = cs.req.upgrade, cs.req.protocol, cs.req.wsKey
		cc.streams[cs.id] = cs
	}
	if end {
		cs.outEnded = true
	}
	id := cs.id
	cc.mu.Unlock()
	return cc.writeHeaderBlock(id, block, end)
}

// sendData writes p as DATA frames as the windows allow, waiting for them
// up to the write deadline (timeout server).
func (cs *ClientStream) sendData(p []byte, end bool) error {
	_, err := cs.writeData(p, end)
	return err
}

// Close ends the exchange; a stream whose request or response is not
// over is reset (CANCEL), and its slot goes back to the connection.
func (cs *ClientStream) Close() error {
	cc := cs.cc
	cc.mu.Lock()
	if cs.closed {
		cc.mu.Unlock()
		return nil
	}
	cs.closed = true
	cs.stopTimers()
	cut := cs.id != 0 && !(cs.inEnded && cs.outEnded) && cs.err == nil && !cc.closed
	id := cs.id
	cs.cond.Broadcast()
	cc.mu.Unlock()
	if cut {
		cc.writeRST(id, http2.ErrCodeCancel)
	}
	cc.release(cs)
	return nil
}

// CloseWrite ends a tunnel's client-to-server side (END_STREAM); a
// request's own framing ends it otherwise.
func (cs *ClientStream) CloseWrite() error {
	cs.cc.mu.Lock()
	tunnel := cs.upgrade
	cs.cc.mu.Unlock()
	if !tunnel {
		return nil
	}
	cs.req.body.closing(cs)
	cs.cc.wmu.Lock()
	defer cs.cc.wmu.Unlock()
	return cs.cc.flush()
}
