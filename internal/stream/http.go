package stream

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"math"
	"net"
	"net/netip"
	"runtime"
	"time"

	"dhproxy/internal/cache"
	"dhproxy/internal/compression"
	"dhproxy/internal/conn"
	"dhproxy/internal/h2"
	"dhproxy/internal/http1"
	"dhproxy/internal/lb"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
	"dhproxy/internal/sample"
)

// httpSession is one client connection in mode http: requests are read,
// forwarded and answered one after the other (pipelined requests wait in buf).
type httpSession struct {
	fe       *Frontend
	c        net.Conn
	clientIP netip.Addr
	dstPort  int         // the port the client reached; 0 until asked (localPort)
	live     sessLink    // registration on the server, for shutdown-sessions (observe.go)
	listed   liveSession // registration for "show sess" (livesess.go)
	ln       *Listener   // the socket's statistics ("option socket-stats"), nil without
	bind     *bindRef    // the socket that accepted the connection (so_id)
	buf      []byte      // client-side bytes: buf[r:w] not consumed yet
	r, w     int
	bufBox   *[]byte
	sbuf     []byte // server-side bytes of the current response
	sbufBox  *[]byte
	sr, sw   int
	out      []byte // rewritten heads
	req      http1.Request
	resp     http1.Response
	chunks   http1.ChunkScanner // request body
	rchunks  http1.ChunkScanner // response body
	priv     *serverConn        // server connection this session keeps between requests
	cfd      *conn.FD           // raw I/O on the client socket (fdStore); nil without a descriptor
	// fdStore: the descriptor's I/O state, made on first use and kept by
	// reset (its callbacks stay bound); apart, so that reset neither
	// clears nor copies it.
	fdStore  *conn.FD
	cio      io.ReadWriter // cfd, or the net.Conn itself
	cdl      conn.Deadlines
	tlsInfo  *sample.TLSInfo // the client's TLS connection, nil when plain
	pp       *sample.PPInfo  // the client's PROXY header, nil when none
	nreq     int
	sentBody int64        // request body bytes already sent to the server
	ck       cookieState  // persistence decided from the request's cookie
	stick    stickState   // what the stick rules found for the request
	bodyCh   chan bool    // outcome of the background request body copy, nil when none runs
	upgrades []byte       // the protocols an upgrade request asked for (its Upgrade values)
	tx       *txnState    // rule engine state of the current request (txn.go); kept by reset, as fdStore
	sessVars sample.Vars  // sess-scope variables, for the connection's lifetime
	sc       trackers     // stick counters of the current request (track.go)
	connSC   trackers     // stick counters of the connection (tcp-request connection track-sc*)
	trackKey []byte       // a track-sc rule's key
	reqID    int64        // the request's number (%rt)
	caps     captureState // capture slots of the current request (capture.go)
	h2       bool         // c is an HTTP/2 stream (h2.go): connSC belongs to its connection

	// comp: the algorithm the request accepts (compress.go); compOn: the
	// response is compressed with it.
	comp   compression.Algo
	compOn bool

	// h2Sess: an HTTP/2 stream's sess variables, its connection's (h2.go).
	h2Sess *sample.SharedVars

	// Parking of idle keep-alive connections (park.go).
	idle        *conn.Idle // shared with the sweeper; kept by reset
	parkNow     bool       // readRequest stopped because the sweeper cut an idle wait
	upgradeH2   bool       // readRequest stopped at the client's HTTP/2 preface
	parkExpired bool       // resumed only to be closed, not because the client spoke
	resumed     bool       // taken up from the parker, not a new connection
	starting    bool       // counted in rt.starting (a new connection before its first idle wait)
	epollAdded  bool       // the descriptor is in the parker's epoll set
	bodyBad     bool       // the background body copy met a bad chunk (set before its bodyCh send)

	// Logging (only filled when the frontend logs).
	lg reqLog
	// entry: the scratch of the log line and of log-format values, filled
	// whole at each use; apart, so that reset has 650 bytes less to clear.
	entry      *logging.Entry
	accept     time.Time
	clientPort int

	seenIn, seenOut int64 // client bytes already counted in the stats
}

// takeBuf and dropBuf manage a session buffer and its pool box together.
func (s *httpSession) takeBuf(box **[]byte) []byte {
	*box = s.fe.rt.bufs.Get()
	return **box
}

func (s *httpSession) dropBuf(box **[]byte) {
	if *box != nil {
		s.fe.rt.bufs.Put(*box)
		*box = nil
	}
}

// serveHTTP serves one client connection. *reuse carries a session object
// from one connection to the next on the same worker goroutine, so that its
// header tables and buffers keep their capacity.
// bind is the socket that accepted it: its clientCheck checks client
// certificates of an mTLS bind (ssl_c_verify), its ln counts for the
// socket's statistics row (option socket-stats), nil without.
func serveHTTP(fe *Frontend, c net.Conn, reuse **httpSession, sc *trackers, bind *bindRef) (parked bool) {
	s := workerSession(fe.rt, reuse)
	s.reset(fe, c)
	s.starting = true
	fe.rt.live.add(&s.listed, fe, c)
	s.ln, s.bind = bind.ln, bind
	s.ln.opened()
	s.connSC = *sc
	if v := startedSessVars(c); v != nil {
		s.sessVars = *v
	}
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		s.clientIP = ta.AddrPort().Addr().Unmap()
		s.clientPort = ta.Port
	}
	s.accept = time.Now()
	if fe.logFmt != logNone && !fe.logConnect(c) {
		s.lg.on = true
	}
	s.tlsInfo = clientTLSInfo(c, bind.clientCheck)
	s.pp = receivedPP(c)
	s.attachIO()
	parked = s.serve()
	s.started()
	if s.upgradeH2 {
		c, pre := s.handOver()
		serveH2(fe, &prefacedConn{Conn: c, pre: pre}, sc, bind)
	}
	return parked
}

// started ends the connection's count in rt.starting (acceptLoop), once.
func (s *httpSession) started() {
	if s.starting {
		s.starting = false
		s.fe.rt.starting.Add(-1)
	}
}

// handOver ends the HTTP/1 session of a connection that sent the HTTP/2
// preface without closing it: the connection and the bytes read so far go
// to HTTP/2, and with them its connection trackers.
func (s *httpSession) handOver() (net.Conn, []byte) {
	s.upgradeH2 = false
	c, pre := s.c, append([]byte(nil), s.buf[s.r:s.w]...)
	s.sc.stop()
	s.dropBuf(&s.bufBox)
	s.buf = nil
	s.fe.rt.live.remove(&s.listed)
	s.ln.closed(0, 0)
	s.ln = nil
	s.forget()
	return c, pre
}

// prefacedConn is a connection whose first bytes were read already: they
// come first. It has no SyscallConn, so that nothing reads the socket
// around them.
type prefacedConn struct {
	net.Conn
	pre []byte
}

func (c *prefacedConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// workerSession returns the worker's session object, making it on first use.
func workerSession(rt *Runtime, reuse **httpSession) *httpSession {
	s := *reuse
	if s == nil {
		s = &httpSession{}
		s.idle = conn.NewIdle(&s.c)
		*reuse = s
		if p := rt.parker; p != nil {
			p.Hold(s.idle)
		}
	}
	return s
}

// attachIO sets the session's client I/O: raw calls on the descriptor where
// there is one, else the net.Conn.
func (s *httpSession) attachIO() {
	s.cio = s.c
	if s.fdStore == nil {
		s.fdStore = new(conn.FD)
	}
	if s.fdStore.Attach(s.c, &s.fe.rt.bufs) {
		s.cfd = s.fdStore
		s.cio = s.cfd
	}
}

// fdCounts are the bytes read and written through the client descriptor
// (none without one: an HTTP/2 stream's are counted by the stream).
func (s *httpSession) fdCounts() (nread, nwritten int64) {
	if s.fdStore == nil {
		return 0, 0
	}
	return s.fdStore.Counts()
}

// serve runs the request loop of a new or resumed connection until the
// connection ends (false) or parks (true: the connection then belongs to the
// parker, and s is free for another one).
func (s *httpSession) serve() (parked bool) {
	if !s.parkExpired {
		for s.readRequest() {
			s.listed.idle.Store(false)
			fs := &s.fe.Stats
			fs.H1Streams.Add(1)
			fs.H1OpenStreams.Add(1)
			ok := s.handle()
			s.account()
			fs.H1OpenStreams.Add(-1)
			s.emitHTTP()
			s.listed.idle.Store(true)
			if !ok || s.h2 {
				// An HTTP/2 stream carries one request: waiting for
				// another would only read its end (a deadline, a
				// request number and a stream read per stream).
				break
			}
			s.nreq++
			if s.r == s.w && s.buf != nil {
				// Between requests an idle session gives its buffer back.
				s.dropBuf(&s.bufBox)
				s.buf = nil
				s.r, s.w = 0, 0
				s.forgetHeads()
			}
		}
		if s.parkNow && s.park() {
			return true
		}
		if s.upgradeH2 {
			return false // handed over to HTTP/2, not closed
		}
	}
	s.close()
	return false
}

// parkedConn is all that a parked keep-alive connection keeps: the state of
// the connection itself. The session object, with its per-request tables
// (about 3 KiB), stays with its worker and serves other connections
// meanwhile; the connection's next request restores this into whichever
// session object the waking worker has.
type parkedConn struct {
	fe   *Frontend
	more *parkedMore // state few connections have, nil without
	// The client's address: clientIP as 16 bytes, an IPv4 one when ipKind
	// is 4 (an address without a zone when 6; in more otherwise).
	ip                  [16]byte
	accept              int64 // Unix nanoseconds
	nreq                int32
	fd                  int32  // the socket, detached from its connection (conn.DetachLazy), unless more.c
	bind                uint32 // the index of its socket in fe.binds
	clientPort, dstPort uint16
	ipKind              uint8
	expired, epollAdded bool // see httpSession's parkExpired and epollAdded
}

// parkedMore is the part of a parked connection's state that most
// connections lack, kept apart so that they do not pay for it.
type parkedMore struct {
	c        net.Conn // the connection when its socket could not be detached (TLS)
	priv     *serverConn
	sessVars sample.Vars
	connSC   trackers
	ln       *Listener // the socket's statistics row
	tlsInfo  *sample.TLSInfo
	clientIP netip.Addr     // when ipKind cannot say it
	remote   netip.AddrPort // a detached socket's peer when it is not the client's address (set-src)
	// Client bytes the stats have not counted yet (the parked record is
	// one size class smaller without them: they are almost always 0).
	unread, unwritten int64
}

// park hands the idle connection to the parker; false if it cannot be parked.
func (s *httpSession) park() bool {
	s.parkNow = false
	p := s.fe.rt.parker
	pc := &parkedConn{
		fe: s.fe, clientPort: uint16(s.clientPort), dstPort: uint16(s.dstPort),
		accept: s.accept.UnixNano(), nreq: int32(min(s.nreq, math.MaxInt32)), epollAdded: s.epollAdded,
	}
	fd := p.Unpoll(s.c, s.parkIO(), &pc.epollAdded)
	if fd < 0 {
		return false
	}
	if s.bind != nil {
		pc.bind = s.bind.idx
	}
	nread, nwritten := s.fdCounts()
	unread, unwritten := nread-s.seenIn, nwritten-s.seenOut
	clientIP := s.clientIP
	if s.tx.srcSet {
		clientIP, pc.clientPort = s.tx.realIP, uint16(s.tx.realPort) // set-src lasted one request
	}
	switch {
	case clientIP.Is4():
		pc.ip, pc.ipKind = clientIP.As16(), 4
	case clientIP.Is6() && clientIP.Zone() == "":
		pc.ip, pc.ipKind = clientIP.As16(), 6
	}
	var remote netip.AddrPort
	keep := s.c // the connection, unless its socket is detached
	if lfd, peer, ok := conn.DetachLazy(s.c); ok {
		keep, pc.fd, remote = nil, int32(lfd), peer
		s.c = nil // closed without its socket
		if peer == netip.AddrPortFrom(clientIP, pc.clientPort) {
			remote = netip.AddrPort{}
		}
	}
	if keep != nil || s.priv != nil || !s.sessVars.Empty() || s.connSC != (trackers{}) || s.ln != nil || s.tlsInfo != nil || unread != 0 || unwritten != 0 ||
		pc.ipKind == 0 || remote.IsValid() {
		pc.more = &parkedMore{c: keep, priv: s.priv, sessVars: s.sessVars, connSC: s.connSC, ln: s.ln, tlsInfo: s.tlsInfo,
			unread: unread, unwritten: unwritten, remote: remote}
		if pc.ipKind == 0 {
			pc.more.clientIP = clientIP
		}
	}
	var expiry int64
	t := &s.fe.P.Timeouts
	if ka := firstSet(t.HTTPKeepAlive, t.HTTPRequest, t.Client); ka > 0 {
		expiry = s.idle.Since() + int64(ka)
	}
	if !p.Park(pc, fd, expiry, &pc.epollAdded) {
		s.c = pc.conn() // for the caller to close
		return false
	}
	// From here on another worker may run the connection: s forgets it.
	s.fe.rt.live.remove(&s.listed) // listed again by the session that takes it up
	s.dropBuf(&s.bufBox)           // a TLS session's wait read into one
	s.buf = nil
	if pc.more != nil {
		s.sessVars = sample.Vars{} // the parked connection has them now
	}
	s.forget()
	return true
}

// conn returns the parked connection, making one of a detached socket:
// called once, by the parked connection's new owner.
func (pc *parkedConn) conn() net.Conn {
	m := pc.more
	if m != nil && m.c != nil {
		return m.c
	}
	remote := netip.AddrPortFrom(pc.clientIP(), pc.clientPort)
	if m != nil && m.remote.IsValid() {
		remote = m.remote
	}
	return conn.AttachLazy(int(pc.fd), remote)
}

// clientIP is the parked client's address.
func (pc *parkedConn) clientIP() netip.Addr {
	switch pc.ipKind {
	case 4:
		return netip.AddrFrom16(pc.ip).Unmap()
	case 6:
		return netip.AddrFrom16(pc.ip)
	}
	return pc.more.clientIP
}

// restore takes up a parked connection, c (pc.conn()).
func (s *httpSession) restore(pc *parkedConn, c net.Conn) {
	s.reset(pc.fe, c)
	s.clientIP, s.clientPort, s.dstPort, s.accept = pc.clientIP(), int(pc.clientPort), int(pc.dstPort), time.Unix(0, pc.accept)
	s.nreq, s.epollAdded, s.parkExpired, s.resumed = int(pc.nreq), pc.epollAdded, pc.expired, true
	if int(pc.bind) < len(pc.fe.binds) {
		s.bind = pc.fe.binds[pc.bind]
	}
	if m := pc.more; m != nil {
		s.priv, s.sessVars, s.connSC, s.ln, s.tlsInfo = m.priv, m.sessVars, m.connSC, m.ln, m.tlsInfo
	}
	s.lg.on = pc.fe.logFmt != logNone && pc.fe.logFmt != logDefault
	pc.fe.rt.live.add(&s.listed, pc.fe, c)
	s.pp = receivedPP(c)
	s.attachIO()
	if m := pc.more; m != nil {
		s.fdStore.SetCounts(m.unread, m.unwritten)
	}
}

// reset prepares a session object for a new connection, keeping only the
// capacity of its slices and the FD's bound callbacks.
func (s *httpSession) reset(fe *Frontend, c net.Conn) {
	reqH, respH, out, line := s.req.Headers[:0], s.resp.Headers[:0], s.out[:0], s.lg.line[:0]
	sessVars, key := s.sessVars, s.trackKey[:0]
	tx, fd, idle, entry := s.tx, s.fdStore, s.idle, s.entry
	idle.NewConn()
	if fd != nil {
		fd.Clear()
	}
	if tx == nil {
		tx = new(txnState)
	} else {
		tx.begin()
	}
	// Zeroing in place, then setting fields: a composite literal would build
	// a second session on the stack, and that frame stays on every idle
	// connection's goroutine stack.
	*s = httpSession{}
	s.fe, s.c, s.out, s.lg.line = fe, c, out, line
	s.req.Headers, s.resp.Headers = reqH, respH
	s.req.MaxHeaders, s.resp.MaxHeaders = fe.rt.maxHdrs, fe.rt.maxHdrs
	s.tx, s.sessVars, s.trackKey = tx, sessVars, key // emptied by tx.begin and below
	s.sessVars.Reset()
	s.fdStore, s.idle, s.entry = fd, idle, entry
}

// logEntry is the session's log entry scratch, made on first use.
func (s *httpSession) logEntry() *logging.Entry {
	if s.entry == nil {
		s.entry = new(logging.Entry)
	}
	return s.entry
}

// forgetHeads drops the parsed heads' slices, which point into buffers that
// went back to the pool: an idle session must not keep them reachable.
func (s *httpSession) forgetHeads() {
	clear(s.req.Headers[:cap(s.req.Headers)])
	clear(s.resp.Headers[:cap(s.resp.Headers)])
	s.req.Method, s.req.URI, s.resp.Reason = nil, nil, nil
}

func (s *httpSession) close() {
	s.sc.stop()
	if !s.h2 {
		s.connSC.stop()
	}
	if s.priv != nil {
		s.releaseServer(s.priv, true)
		s.priv = nil
	}
	s.dropBuf(&s.bufBox)
	s.dropSbuf()
	s.buf = nil
	s.forgetHeads()
	s.fe.rt.live.remove(&s.listed)
	s.ln.closed(0, 0) // its bytes were counted per request
	s.ln = nil
	s.c.Close()
	s.forget()
}

// forget drops the references to a connection that has ended or parked, so
// that the worker's idle session object does not keep them reachable.
func (s *httpSession) forget() {
	s.c, s.cio, s.cfd, s.tlsInfo = nil, nil, nil, nil
	if s.fdStore != nil {
		s.fdStore.Clear()
	}
	s.priv, s.connSC, s.sc = nil, trackers{}, trackers{}
}

// headStart returns the offset in buf where a parsed slice starts.
func (s *httpSession) offsetOf(b []byte) int { return cap(s.buf) - cap(b) }

// readRequest reads until a complete request head is in buf[r:]. It answers
// 400/408 itself and returns false when the connection must end.
func (s *httpSession) readRequest() bool {
	t := &s.fe.P.Timeouts
	started := s.w > s.r
	answered := s.lg.answered() // before begin forgets it
	s.lg.begin(started)
	s.reqID = requestIDs.Add(1) - 1
	s.tx.UID = s.tx.UID[:0]
	if p := s.fe.P; len(p.ReqCaptures)+len(p.ResCaptures) > 0 || p.CaptureCookie != "" {
		s.caps.begin(p)
	}
	reqTimeout := firstSet(t.HTTPRequest, t.Client)
	if started {
		s.cdl.Read(s.c, reqTimeout)
	} else if s.nreq > 0 {
		if ka := firstSet(t.HTTPKeepAlive, t.HTTPRequest, t.Client); ka > 0 && ka < parkAfter {
			// The deadline only moves later (conn.Deadlines) and the
			// parker dates expiries from parkAfter on: a keep-alive
			// shorter than that is this wait's deadline, or it ends up
			// to a sweep after parkAfter (haproxy: at the timeout).
			s.cdl.ReadAt(s.c, time.Now().Add(ka))
		} else {
			s.cdl.Read(s.c, ka)
		}
	} else {
		s.cdl.Read(s.c, reqTimeout)
	}
	fresh := started // start is the date of the bytes in buf, no read since
	for {
		prefaceStart := false // the HTTP/2 preface's start: wait for the rest
		if s.nreq == 0 && s.r == 0 && s.bind != nil && s.bind.h2Upgrade && !s.h2 {
			if n := min(s.w, len(h2.Preface)); string(s.buf[:n]) == h2.Preface[:n] {
				if n == len(h2.Preface) {
					s.upgradeH2 = true // serveHTTP hands the connection over
					return false
				}
				prefaceStart = true
			}
		}
		if s.w > s.r && !prefaceStart {
			n, err := s.parseRequest()
			if err == nil && n > s.fe.rt.headMax {
				// Complete, but larger than HAProxy would have read
				// (tune.bufsize - tune.maxrewrite).
				s.captureError(false, nil, nil, s.buf[s.r:s.w], s.fe.rt.headMax)
				s.badRequest(400, 'P')
				return false
			}
			if err == nil {
				h2st, _ := s.c.(*h2.Stream)
				s.lg.parsed(&s.req, fresh, h2st)
				// The request rate counts a request when it arrives, as
				// HAProxy's (fe_req_rate in its own rules sees it).
				s.fe.Stats.reqRate.add(conn.CoarseNow() / int64(time.Millisecond))
				if s.h2 {
					s.lg.proto = "HTTP/2.0" // as HAProxy logs an HTTP/2 request
				}
				return true
			}
			if err != http1.ErrIncomplete {
				status := 400
				var he *http1.Error
				if errors.As(err, &he) {
					status = he.Status
				}
				s.captureError(false, nil, nil, s.buf[s.r:s.w], errorPos(err, s.buf[s.r:s.w]))
				s.badRequest(status, 'P')
				return false
			}
			if s.w-s.r >= s.fe.rt.headMax {
				s.captureError(false, nil, nil, s.buf[s.r:s.w], s.w-s.r)
				s.badRequest(400, 'P') // the head cannot fit
				return false
			}
		}
		if s.w == len(s.buf) && s.r > 0 {
			s.w = copy(s.buf, s.buf[s.r:s.w])
			s.r = 0
		}
		if s.w > s.r {
			s.expectMore() // the rest of a head
		}
		if s.starting && s.nreq > 0 {
			s.started()
		}
		// Waiting for the next request on an idle connection: the sweeper
		// may cut the wait short to park the connection.
		idleWait := !started && s.nreq > 0 && s.fe.rt.parker != nil && s.parkIO() != nil
		atOnce := false
		if !started && s.nreq > 0 && s.buf == nil && !s.h2 {
			// The other ready sessions run first: the client has more
			// time to send its next request, which the read then finds
			// rather than failing with EAGAIN before its wait. (An
			// HTTP/2 stream starts with its head already received.)
			runtime.Gosched()
		}
		if idleWait {
			s.idle.BeginWait(answered)
			// In a crowd of new keep-alive clients, one that has made its
			// first request parks at once (clients that keep talking wait
			// as usual): the read fails before it reaches the socket (a
			// TLS one returns what it holds).
			// Not a connection that just woke: its client spoke, and
			// parking it again unread would wake it again at once.
			if atOnce = s.nreq == 1 && !s.resumed && s.fe.rt.parker.AtOnce(s.idle); atOnce {
				s.c.SetReadDeadline(conn.LongAgo)
			}
		}
		n, err := s.readClient()
		if idleWait && (!s.idle.EndWait() || atOnce) {
			s.cdl.ForgetRead() // the sweeper (or AtOnce above) moved it
			if n == 0 && err != nil && conn.IsTimeout(err) {
				s.parkNow = true
				return false
			}
			s.cdl.Read(s.c, firstSet(t.HTTPKeepAlive, t.HTTPRequest, t.Client))
		}
		s.w += n
		if n > 0 && !started {
			started, fresh = true, true
			if s.h2 {
				// A stream's whole head came with it: it starts when
				// the stream does, as haproxy dates both at once.
				s.lg.start = s.accept
			} else {
				s.lg.stamp(&s.lg.start)
			}
			s.cdl.Read(s.c, reqTimeout)
		} else if n > 0 {
			fresh = false
		}
		if err != nil {
			switch {
			case conn.IsTimeout(err) && (started || s.nreq == 0 && !s.fe.P.Options["http-ignore-probes"]):
				s.badRequest(408, 'c')
			case started || s.nreq == 0:
				// The client closed in the middle of a head, or before its
				// first request: HAProxy logs both as "<BADREQ>" (a silent
				// one only without dontlognull).
				counted := started || !s.fe.P.Options["http-ignore-probes"]
				if counted {
					s.connSC.badRequest()
				}
				s.lg.fail('C', 'R')
				s.lg.status = 400
				s.lg.received = s.w > s.r
				if counted {
					s.accountBadRequest()
				}
				s.emitHTTP()
			}
			return false
		}
	}
}

// parseRequest parses the request head in buf[r:w]. An HTTP/2 stream's
// head comes parsed already: it was converted from fields the stream had
// checked, and parsing it again cost ~4% of the proxy's time per request.
func (s *httpSession) parseRequest() (int, error) {
	if s.h2 && s.r == 0 {
		if st, ok := s.c.(*h2.Stream); ok && st.ParsedRequest(s.buf[:s.w], &s.req) {
			return s.req.HeadLen, nil
		}
	}
	n, err := http1.ParseRequest(s.buf[s.r:s.w], &s.req)
	if err == nil && !s.h2 && s.req.WebSocketNoKey {
		return 0, errWebSocketKey
	}
	if err == nil && !s.h2 && string(s.req.Method) == "CONNECT" && !http1.ConnectHost(&s.req) {
		return 0, errConnectHost
	}
	if err == nil && s.req.Chunked && !s.h2 {
		// haproxy's HTTP/1 layer parses the body bytes that came with the
		// head before a stream takes the request: a bad chunk among them
		// is a "<BADREQ>" it answers itself, no server reached.
		s.chunks.Reset()
		if _, _, cerr := s.chunks.Scan(s.buf[s.r+n : s.w]); cerr != nil {
			he := &http1.Error{Status: 400, Pos: n, Reason: "invalid chunk"}
			if ce := (*http1.Error)(nil); errors.As(cerr, &ce) {
				he.Pos, he.Reason = n+ce.Pos, ce.Reason
			}
			return 0, he
		}
	}
	if err == nil && s.req.Minor == 0 && (s.req.ContentLength > 0 || s.req.Chunked) &&
		!s.fe.rt.cfg.Global.H1AcceptPayloadAnyMethod && payloadlessMethod(s.req.Method) {
		return 0, errPayload10
	}
	return n, err
}

// errPayload10 refuses an HTTP/1.0 GET, HEAD or DELETE request with a
// body, as HAProxy does unless "h1-accept-payload-with-any-method": an
// HTTP/1.0 server may not look for that body, which then smuggles a
// request.
var errPayload10 = &http1.Error{Status: 413, Reason: "HTTP/1.0 GET, HEAD or DELETE request with a payload"}

var errWebSocketKey = &http1.Error{Status: 400, Reason: "WebSocket upgrade without a valid Sec-WebSocket-Key"}

var errConnectHost = &http1.Error{Status: 400, Reason: "Host differs from the CONNECT target"}

func payloadlessMethod(m []byte) bool {
	return string(m) == "GET" || string(m) == "HEAD" || string(m) == "DELETE"
}

// expectMore is called when more of the current request is awaited: on a
// socket that delays ACKs (option tcp-smart-accept) the client gets its
// ACKs at once again, so that one waiting for them before sending the rest
// is not held up by the delayed-ACK timer, as HAProxy does it.
func (s *httpSession) expectMore() {
	if s.bind != nil && s.bind.smartAccept && !s.h2 {
		conn.QuickAck(s.c)
	}
}

// readClient reads from the client into buf[w:], taking a buffer from the
// pool only once data has arrived.
func (s *httpSession) readClient() (int, error) {
	if s.buf == nil && s.h2 {
		if st, ok := s.c.(*h2.Stream); ok {
			// A bodyless request is read where its stream holds it: no
			// pool buffer, no copy (0.5% of an h2 stream's CPU).
			if req := st.TakeRequest(); req != nil {
				s.buf = req
				return len(req), nil
			}
		}
	}
	if s.buf != nil || s.cfd == nil {
		if s.buf == nil {
			s.buf = s.takeBuf(&s.bufBox)
		}
		return s.cio.Read(s.buf[s.w:])
	}
	box, n, err := s.cfd.ReadPooled()
	if box != nil {
		s.bufBox, s.buf = box, *box
	}
	return n, err
}

// respBufExtra is how much larger than tune.bufsize the server-side buffer
// is: room for a response head before a body of tune.bufsize.
const respBufExtra = 4096

// takeSbuf takes the server-side buffer from its pool.
func (s *httpSession) takeSbuf() {
	s.sbufBox = s.fe.rt.rbufs.Get()
	s.sbuf = *s.sbufBox
}

// dropSbuf gives the server-side buffer back to its pool.
func (s *httpSession) dropSbuf() {
	if s.sbufBox != nil {
		s.fe.rt.rbufs.Put(s.sbufBox)
		s.sbufBox = nil
	}
	s.sbuf = nil
}

func firstSet(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}

func (s *httpSession) writeError(status int) {
	if r := s.errorPage(status); r != nil {
		s.writeReply(r, false)
		return
	}
	s.sendOwn(errorPage(status), status, errorHTX[status])
}

// muxError answers what HAProxy's HTTP/1 layer refuses before any rule
// runs (a request it cannot parse, a timeout, a bad chunk): its raw page,
// never an errorfile nor http-after-response rules, as haproxy 2.6 does.
func (s *httpSession) muxError(status int) {
	s.cdl.Write(s.c, s.fe.P.Timeouts.Client)
	s.cio.Write(muxPage(status))
	s.lg.status = status
	s.lg.bytesOut += errorHTX[status]
}

// failRequest answers a request that could not be served with status (a
// 502, 503 or 504 page) and reports whether the client connection carries
// on: as in HAProxy, it does when the client keeps alive and its whole
// request, body included, has been read (bodyRead); buf[r:] then holds what
// follows it.
func (s *httpSession) failRequest(status int, keep, bodyRead bool) bool {
	if r := s.errorPage(status); r != nil {
		keep = keep && bodyRead && !r.Close
		s.writeReply(r, keep)
	} else if !keep || !bodyRead {
		s.writeError(status)
		return false
	} else {
		s.sendOwn(keepPage(status), status, errorHTX[status])
	}
	if !keep {
		return false
	}
	s.dropSbuf()
	if s.r == s.w {
		s.r, s.w = 0, 0
	}
	return true
}

// badRequest answers a request that could not be read and logs it, as
// HAProxy logs "<BADREQ>" lines: no stream carried it, so the line counts
// no byte either way (%U and %B 0), whatever came and the page sent.
func (s *httpSession) badRequest(status int, cause byte) {
	s.connSC.badRequest()
	s.lg.received = s.w > s.r // logged even with dontlognull, unless nothing came
	s.muxError(status)
	s.lg.bytesOut = 0
	s.lg.fail(cause, 'R')
	s.accountBadRequest()
	s.emitHTTP()
}

// connMode is the strictest connection mode of frontend and backend, as HAProxy combines them.
func connMode(fe, be *model.Proxy) model.HTTPConnMode {
	return max(fe.ConnMode, be.ConnMode)
}

// hashKey computes the request's balancing hash for a hash-based "balance";
// without a key (no such parameter or header) the balancer's round robin is
// used, as HAProxy does.
func (s *httpSession) hashKey(be *Backend) hashKey {
	sp := &be.hash
	var hk hashKey
	switch sp.Kind {
	case lb.HashSource:
		hk.h, hk.ok = sp.Source(s.clientIP)
	case lb.HashURI:
		hk.h, hk.ok = sp.Key(sp.URIKey(s.req.URI)), true
	case lb.HashURLParam:
		if v, ok := lb.URLParam(s.req.URI, sp.Name); ok {
			hk.h, hk.ok = sp.Key(v), true
		} else if sp.CheckPost {
			hk = s.postParamKey(be)
		}
	case lb.HashHeader:
		for i := range s.req.Headers {
			if h := &s.req.Headers[i]; http1.EqualFold(h.Name, sp.Name) {
				hk.h, hk.ok = sp.Key(sp.HeaderKey(h.Value)), true
				break
			}
		}
	case lb.HashExpr:
		hk = be.exprHash(s, &s.tx.V)
	}
	return hk
}

// handle forwards the parsed request and its response; it returns whether
// the client connection stays open for another request.
func (s *httpSession) handle() bool {
	req := &s.req
	be, answered, keep := s.requestPhases()
	if answered {
		return keep
	}
	s.tx.be = be // its error pages apply from now on
	if be == nil {
		s.writeError(503)
		s.lg.fail('S', 'C')
		return false
	}
	s.lg.be = be
	defer s.lg.stampEnd()
	if e := s.tx.cache.hit; e != nil {
		return s.serveCached(e)
	}
	// As haproxy: the persist rules, then use-server, the cookie and the
	// stick matches; the first server assigned wins.
	const phase = sample.PhaseReq | sample.PhaseContent
	pm := be.persistMode(s, &s.tx.ACL, phase)
	persist := be.connPersist(pm)
	anyDown := mayPickDown(persist)
	prefer := be.useServer(s, &s.tx.V, &s.tx.Buf, &s.tx.ACL, phase, anyDown)
	s.ck = cookieState{}
	if be.cookie != nil {
		s.ck = be.cookie.request(req, prefer, anyDown)
		s.lg.cookie = [2]byte{s.ck.logFlag, 'N'}
	}
	if pm == persistIgnore {
		// The cookie is still removed where the mode says so, as in haproxy.
		s.ck.srv, s.ck.ignore = nil, true
	}
	// The balancing key is read now: the body streaming below reuses buf.
	hk := s.hashKey(be)
	if prefer == nil {
		prefer = s.ck.srv
	}
	if len(be.stick) > 0 {
		be.stickRequest(&s.stick, s, &s.tx.V, &s.tx.ACL, coarseTime(), anyDown)
		if prefer == nil {
			prefer = s.stick.srv
		}
	}
	if prefer == nil {
		prefer = be.lastServer(s.priv)
	}
	mode := connMode(s.fe.P, be.P)
	clientKeep := req.KeepAlive() && mode != model.HTTPClose
	serverKeep := mode == model.HTTPKeepAlive
	upgrade := req.HasUpgrade && req.ConnUpgrade
	if upgrade {
		// Kept for the 101 check: the body streaming below reuses buf.
		s.upgrades = appendUpgrades(s.upgrades[:0], &req.Message)
	}
	// The body streaming below reuses buf, so keep what the response needs.
	isHEAD, isCONNECT := string(req.Method) == "HEAD", string(req.Method) == "CONNECT"
	safeMethod := be.checkCache && !cache.Unsafe(req.Method) // for option checkcache only
	client10 := req.Minor == 0

	headStart := s.offsetOf(req.Method)
	bodyStart := s.r + req.HeadLen
	framing := req.BodyFraming()

	// The part of the body already buffered, and whether it is all there.
	bodyEnd, bodyDone, ok := s.bufferedBody(framing, bodyStart)
	if !ok {
		return false
	}
	// After a 502, 503 or 504 the client may send its next request when
	// it keeps alive (HTTP/1.1: the page has no Connection field) and its
	// whole request was read.
	keepOnError := clientKeep && !client10

	s.comp, s.compOn = compression.None, false
	if s.fe.P.Compression != nil || be.P.Compression != nil {
		s.chooseCompression(be)
	}

	srv, sc, reused, status := s.connect(be, prefer, persist, hk)
	if sc == nil {
		s.lg.fail(s.lg.connStats.failState())
		s.bufferedBodyIn(framing, int64(bodyEnd-bodyStart), bodyDone)
		s.r = bodyEnd
		return s.failRequest(status, keepOnError, bodyDone)
	}
	if sc == redirectConn {
		s.serverRedirect(srv)
		return false
	}
	// Built once the server is known (redispatches included), for
	// http-send-name-header.
	head := s.requestHead(headStart, bodyStart, be, srv, serverKeep, upgrade)
	if head == nil {
		head = s.buf[headStart:bodyStart]
	}
	s.lg.srv = srv
	s.lg.srvAddr, s.lg.bkAddr = sc.ends()
	s.tx.srv = srv
	s.tx.bconn, _ = sc.c.(*tls.Conn)
	_, s.tx.bconnH2 = sc.c.(*h2.ClientStream)
	s.lg.stamp(&s.lg.connected)
	defer func() {
		if srv != nil { // nil: an L7 retry found no server
			s.releaseSlot(srv)
		}
	}()
	srvTimeout := s.tx.serverTimeout(be.P)
	sc.dl.Write(sc.c, srvTimeout)

	// Send head and the buffered body; a reused idle connection the server
	// closed meanwhile is replaced once, as long as nothing was lost. A
	// whole request sent in one write waits for the answer to be there
	// (SendAwait) rather than reading at once.
	awaited := false
	for {
		var err error
		one, joined := joinTwo(&s.out, head, s.buf[bodyStart:bodyEnd], s.fe.rt.bufs.Size)
		switch {
		case joined && bodyDone:
			sc.dl.Read(sc.c, srvTimeout)
			if awaited, err = sc.fd.SendAwait(one); !awaited {
				_, err = sc.fd.Write(one)
			}
		case joined:
			_, err = sc.fd.Write(one)
		default:
			err = writeTwo(sc.fd, &s.out, head, s.buf[bodyStart:bodyEnd], s.fe.rt.bufs.Size)
		}
		if err == nil {
			break
		}
		sc.c.Close()
		s.r = bodyEnd
		if !reused {
			s.lg.fail('S', 'H')
			s.bufferedBodyIn(framing, int64(bodyEnd-bodyStart), bodyDone)
			return s.failRequest(502, keepOnError, bodyDone)
		}
		if sc, status = s.redial(srv, be); sc == nil {
			s.lg.fail('S', 'C')
			s.bufferedBodyIn(framing, int64(bodyEnd-bodyStart), bodyDone)
			return s.failRequest(status, keepOnError, bodyDone)
		}
		reused = false
		sc.dl.Write(sc.c, srvTimeout)
	}
	s.r = bodyEnd
	s.sentBody = int64(bodyEnd - bodyStart)
	s.bufferedBodyIn(framing, s.sentBody, bodyDone)
	canRetry := reused && bodyDone
	l7 := s.l7Retry(be, bodyDone, bodyEnd-headStart)
	resend := resendSpan{headStart, bodyStart, bodyEnd, serverKeep, upgrade}

	if s.sbuf == nil {
		s.takeSbuf()
	}
	s.sr, s.sw = 0, 0
	// The rest of the body is copied in the background while the response
	// is read: servers may answer (and echo) before the body has ended, and
	// with "Expect: 100-continue" the client sends it once the interim 100
	// (forwarded below) arrives or it tires of waiting, as through HAProxy.
	defer s.abortBody(sc)
	if !bodyDone {
		s.expectMore()
		s.startBody(sc, framing)
	}

	// Read the response head, forwarding interim 1xx responses. Letting the
	// other ready sessions run first gives the server time to answer, so
	// the read usually finds the response instead of parking.
	if !awaited {
		runtime.Gosched()
	}
	sc.dl.Read(sc.c, srvTimeout)
	for {
		st, retry := s.readResponse(sc, canRetry)
		canRetry = false
		if retry {
			// The idle connection was closed under us before any byte of
			// response: send the same request on a fresh connection.
			// (Only a request read whole is retried.)
			sc.c.Close()
			if sc, status = s.redial(srv, be); sc == nil {
				s.lg.fail('S', 'C')
				return s.failRequest(status, keepOnError, true)
			}
			reused = false
			sc.dl.Write(sc.c, srvTimeout)
			sc.dl.Read(sc.c, srvTimeout)
			if err := writeTwo(sc.fd, &s.out, head, s.buf[bodyStart:bodyEnd], s.fe.rt.bufs.Size); err != nil {
				sc.c.Close()
				s.lg.fail('S', 'H')
				return s.failRequest(502, keepOnError, true)
			}
			continue
		}
		if st != 0 {
			bodyRead := s.abortBody(sc) // a no-op with L7 retries: the body was whole
			if !bodyRead && s.bodyBad {
				// The copy closed the server's side on a bad chunk: as
				// haproxy, a 400 and a bad request, the server not blamed.
				s.lg.badBody = true
				s.lg.fail('P', 'H')
				return s.failRequest(400, false, false)
			}
			s.observeHTTP(srv, st, s.sw > s.sr)
			if l7 && s.retryFailure(be, st, s.sw > s.sr) {
				if status = s.retryL7(be, &srv, &sc, &head, persist, hk, &resend); status != 0 {
					return s.failRequest(status, keepOnError, true)
				}
				continue
			}
			sc.c.Close()
			if st == 504 {
				s.lg.fail('s', 'H')
			} else {
				s.lg.fail('S', 'H')
			}
			return s.failRequest(st, keepOnError, bodyRead)
		}
		resp := &s.resp
		if resp.Status >= 100 && resp.Status < 200 && resp.Status != 101 {
			s.cdl.Write(s.c, s.fe.P.Timeouts.Client)
			n, err := s.cio.Write(s.informationalHead())
			s.lg.bytesOut += int64(n)
			if err != nil {
				s.lg.fail('C', 'H')
				sc.c.Close()
				return false
			}
			s.sr += resp.HeadLen
			l7 = false // the client has had part of the answer
			continue
		}
		if l7 && be.P.RetryOn.Status(resp.Status) && s.lg.connStats.retries < be.P.Retries {
			if status = s.retryL7(be, &srv, &sc, &head, persist, hk, &resend); status != 0 {
				return s.failRequest(status, keepOnError, true)
			}
			continue
		}
		break
	}
	resp := &s.resp
	if resp.Status == 101 && (!upgrade || isCONNECT || !resp.ConnUpgrade || !upgradeGranted(s.upgrades, resp)) {
		// A switch the client did not ask for (RFC 9110 7.8), or one that
		// does not say what it switches to, would tunnel the client's next
		// bytes to the server unchecked: HAProxy answers 502.
		s.observeHTTP(srv, 502, true)
		bodyRead := s.abortBody(sc)
		sc.c.Close()
		s.lg.fail('P', 'H')
		return s.failRequest(502, keepOnError, bodyRead)
	}
	s.observeHTTP(srv, resp.Status, true)
	s.lg.stamp(&s.lg.resp)
	if len(s.fe.P.ResCaptures) > 0 {
		s.captureHeaders(true)
	}
	if s.fe.P.CaptureCookie != "" {
		s.captureCookie(true)
	}
	if s.comp != compression.None {
		// after the captures, before the rules (which see its header
		// edits), as haproxy's filter runs
		s.compressResponse(be)
	}
	if s.fe.phases.Rules {
		s.tx.srvConn = sc
		if r := s.responseRules(be); r == tcpResponseRejected {
			return false // both ends closed, nothing sent
		} else if r == tcpResponseClosed {
			// closed before its response was read (haproxy's "SH")
			bodyRead := s.abortBody(sc)
			sc.c.Close()
			s.lg.fail('S', 'H')
			return s.failRequest(502, keepOnError, bodyRead)
		} else if r != nil {
			if answered, keep := s.answerResponse(r, sc, keepOnError, isHEAD); answered {
				return keep
			}
		}
	}
	if be.checkCache && s.cacheableCookie(srv, safeMethod) {
		return s.blockCacheable(sc, srv, keepOnError, isHEAD)
	}
	if s.fe.phases.Rules {
		s.afterResponseRules()
	}
	if len(be.stick) > 0 {
		// Stored once the server answered, as HAProxy's store rules run
		// on the response.
		s.stick.commit(srv, coarseTime())
	}
	s.lg.status = resp.Status
	if s.tx.Edited.Status != 0 {
		s.lg.status = s.tx.Edited.Status // http-response set-status
	}
	if resp.Status == 101 || (isCONNECT && resp.Status/100 == 2) {
		s.tunnel(sc, be)
		return false
	}
	rframing := resp.BodyFraming(isHEAD)
	if isCONNECT && resp.Status/100 == 2 {
		rframing = http1.FramingNone
	}
	if rframing == http1.FramingUntilClose {
		clientKeep, serverKeep = false, false
	}
	if !resp.KeepAlive() || sc.multiplexed() {
		serverKeep = false
	}
	clientKeep = clientKeep && !s.fe.rt.stopping.Load() // a stopping process closes after this response
	s.lg.endsAtResp = !s.fe.respWaits                   // no rule waited for more of the response
	if st, ok := s.c.(*h2.Stream); ok {
		st.DrainRequest() // the server's response: the rest of the request drains, as haproxy forwards it
	}
	if s.compOn {
		ok = s.forwardCompressed(sc, be, rframing, clientKeep, client10)
	} else {
		ok = s.forwardResponse(sc, rframing, clientKeep, client10)
		if rframing == http1.FramingChunked {
			s.lg.bodySize(s.rchunks.Data, true)
		} else {
			s.lg.bodySize(s.lg.bodyWire, false)
		}
	}
	if !ok {
		sc.c.Close()
		return false
	}
	if !s.joinBody(sc) {
		s.lg.fail('C', 'D')
		// The body did not complete: neither side can carry another request.
		sc.c.Close()
		return false
	}
	if serverKeep && s.sr == s.sw {
		s.keepServer(sc)
	} else {
		sc.c.Close()
	}
	s.dropSbuf()
	if !clientKeep {
		return false
	}
	if s.r == s.w {
		s.r, s.w = 0, 0
	}
	return true
}

// appendUpgrades appends the values of m's Upgrade fields to dst as one list.
func appendUpgrades(dst []byte, m *http1.Message) []byte {
	for i := range m.Headers {
		if h := &m.Headers[i]; h.Kind == http1.KindUpgrade {
			if len(dst) > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, h.Value...)
		}
	}
	return dst
}

// upgradeGranted reports whether the 101 response resp switches only to
// protocols in asked, and names at least one.
func upgradeGranted(asked []byte, resp *http1.Response) bool {
	named := false
	for i := range resp.Headers {
		if h := &resp.Headers[i]; h.Kind == http1.KindUpgrade {
			if !http1.UpgradeGranted(asked, h.Value) {
				return false
			}
			named = true
		}
	}
	return named
}

// bufferedBody finds how much of the request body is in buf. It returns the
// end of the buffered body part, whether the body is complete, and false if
// the body framing is invalid (a 400 was sent).
func (s *httpSession) bufferedBody(f http1.Framing, start int) (end int, done, ok bool) {
	switch f {
	case http1.FramingLength:
		cl := s.req.ContentLength
		avail := int64(s.w - start)
		if avail >= cl {
			return start + int(cl), true, true
		}
		return s.w, false, true
	case http1.FramingChunked:
		s.chunks.Reset()
		n, done, err := s.chunks.Scan(s.buf[start:s.w])
		if err != nil {
			s.muxError(400)
			return 0, false, false
		}
		return start + n, done, true
	}
	return start, true, true
}

// bufferedBodyIn adds to %U the part of the request body read with its
// head, wire bytes long: haproxy counts what its buffer holds, the server
// reached or not; of a chunked body, the data, the trailer fields' names
// and values; and its end (endBlock).
func (s *httpSession) bufferedBodyIn(f http1.Framing, wire int64, done bool) {
	if f == http1.FramingChunked {
		s.lg.bytesIn += s.chunks.Data + s.chunks.TrailerSize
	} else {
		s.lg.bytesIn += wire
	}
	s.lg.bytesIn += s.endBlock(f, done)
}

// endBlock is the size haproxy gives the end of a request body once it is
// done: 1 for the EOT block that ends a chunked HTTP/1 body, and an HTTP/2
// one as its stream ended (h2.Stream.EndBlock); none for an HTTP/1 body of
// known length. A request without a body has no end to count: it does
// not look at the stream.
func (s *httpSession) endBlock(f http1.Framing, done bool) int64 {
	if !done || f == http1.FramingNone {
		return 0
	}
	if s.h2 {
		if st, ok := s.c.(*h2.Stream); !ok || !st.EndBlock() {
			return 0
		}
		return 1
	}
	if f == http1.FramingChunked {
		return 1
	}
	return 0
}

// startBody copies the rest of the request body in a goroutine that owns
// buf, r and w until joinBody or abortBody.
func (s *httpSession) startBody(sc *serverConn, f http1.Framing) {
	s.bodyCh = make(chan bool, 1)
	s.bodyBad = false
	go func() {
		ok := false
		defer func() {
			if r := recover(); r != nil {
				log.Printf("[ALERT] %s '%s': request body copy panic: %v", frontendWord(s.fe.P), s.fe.P.Name, r)
			}
			if !ok {
				// The server will not answer a request whose body stopped
				// half way: abort its side (as HAProxy does), which also
				// wakes the response reader for good (a deadline could be
				// moved again by it).
				sc.c.Close()
			}
			s.bodyCh <- ok
		}()
		ok = s.streamRequestBody(sc, f)
	}()
}

// bodyGrace is how long a complete response waits for the request body copy
// to end before the copy is cut (the server answered without reading it all).
const bodyGrace = time.Second

// joinBody waits for the background body copy, if any, and reports whether
// the body was sent completely.
func (s *httpSession) joinBody(sc *serverConn) bool {
	if s.bodyCh == nil {
		return true
	}
	t := time.NewTimer(bodyGrace)
	defer t.Stop()
	select {
	case ok := <-s.bodyCh:
		s.bodyCh = nil
		return ok
	case <-t.C:
		s.abortBody(sc)
		return false
	}
}

// abortBody stops a background body copy still running and waits for it.
// It reports whether the request body was read and sent whole: true also
// when no copy ran (the body was all in buf) or it had ended already.
func (s *httpSession) abortBody(sc *serverConn) bool {
	if s.bodyCh == nil {
		return true
	}
	past := time.Unix(1, 0)
	s.c.SetReadDeadline(past)
	sc.c.SetWriteDeadline(past)
	ok := <-s.bodyCh
	s.bodyCh = nil
	s.cdl, sc.dl = conn.Deadlines{}, conn.Deadlines{}
	return ok
}

// streamRequestBody copies the rest of the request body from the client to
// the server. Bytes read past the body (a pipelined request) stay in buf.
func (s *httpSession) streamRequestBody(sc *serverConn, f http1.Framing) bool {
	remaining := s.req.ContentLength - s.sentBody
	srvTimeout := s.tx.serverTimeout(sc.srv.backend.P)
	// As in HAProxy, a stalled upload is cut by "timeout server", counted
	// from the last byte sent to the server (the response reader's 504),
	// not by "timeout client"; that one applies only without the other.
	cliTimeout := s.fe.P.Timeouts.Client
	if srvTimeout > 0 {
		cliTimeout = 0
	}
	s.cdl.Read(s.c, cliTimeout)
	// Every byte sent restarts the server's read timeout: the response
	// reader waits on it while the body streams. rd is this goroutine's own
	// copy, sc.dl belongs to the reader.
	var rd conn.Deadlines
	s.r, s.w = 0, 0
	for {
		n, err := s.cio.Read(s.buf)
		if n > 0 {
			var take int
			done := false
			if f == http1.FramingLength {
				take = int(min(int64(n), remaining))
				remaining -= int64(take)
				done = remaining == 0
			} else {
				var serr error
				seen := s.chunks.Data + s.chunks.TrailerSize
				take, done, serr = s.chunks.Scan(s.buf[:n])
				if serr != nil {
					s.bodyBad = true
					return false
				}
				s.lg.bytesIn += s.chunks.Data + s.chunks.TrailerSize - seen // as above, %U counts the data
			}
			s.lg.bytesIn += s.endBlock(f, done)
			sc.dl.Write(sc.c, srvTimeout)
			wn, werr := sc.fd.Write(s.buf[:take])
			if f == http1.FramingLength {
				s.lg.bytesIn += int64(wn)
			}
			if werr != nil {
				return false
			}
			rd.Read(sc.c, srvTimeout)
			if done {
				s.r, s.w = take, n
				if s.r == s.w {
					s.r, s.w = 0, 0
				}
				return true
			}
		}
		if err != nil {
			return false
		}
	}
}
