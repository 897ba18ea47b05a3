package stream

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"dhproxy/internal/h2"
	"dhproxy/internal/http1"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
)

// logFormat is the traffic log line a frontend writes.
type logFormat uint8

const (
	logNone    logFormat = iota // no log target
	logDefault                  // "Connect from ..." (no httplog/tcplog)
	logTCP                      // option tcplog
	logHTTP                     // option httplog
	logCLF                      // option httplog clf
	logCustom                   // log-format
)

// requestIDs numbers the requests of the process for %rt, as HAProxy
// numbers its streams.
var requestIDs atomic.Int64

func frontendLogFormat(p *model.Proxy, l *logging.Logger) logFormat {
	switch {
	case !l.Enabled():
		return logNone
	case p.LogFormat != nil:
		return logCustom
	case p.Options["httplog"] && p.HTTPLogCLF:
		return logCLF
	case p.Options["httplog"] && p.Mode == model.ModeHTTP:
		return logHTTP
	case p.Options["httplog"] || p.Options["tcplog"]:
		// HAProxy downgrades httplog to tcplog in a tcp frontend.
		return logTCP
	}
	return logDefault
}

// reqLog is what a session notes about the current request for its log line.
type reqLog struct {
	on                                  bool
	skip                                bool // this request is not logged (monitor-uri)
	start, head, connected, resp, ended time.Time
	status                              int
	term                                [2]byte // cause, stage
	cookie                              [2]byte // persistence cookie flags (request, response); 0: '-'
	level                               int8    // set-log-level: the level + 1, -1 silent, 0 not set
	bytesIn, bytesOut                   int64
	received                            bool // request bytes came, counted or not (dontlognull)
	srv                                 *Server
	be                                  *Backend
	srvAddr, bkAddr                     netip.AddrPort // the server connection's ends (%si, %bi)
	connStats
	line      []byte // method SP uri, copied: buf is reused by then
	methodLen int
	proto     string
	scratch   [20]byte
	bodyWire  int64 // response body bytes written, framing included
	// endsAtResp: the response went out whole right after its head came,
	// with no rule that may wait run on it (stampEnd).
	endsAtResp bool
	cacheHit   bool // answered from the cache: haproxy logs the server as <CACHE>
	// badBody: a bad chunk in the request body was answered 400, a
	// request error that haproxy does not count as a server's response.
	badBody bool
	logged  bool // "option logasap" wrote the line when the response head came
}

// begin resets the state for a new request; a pipelined request has
// already started.
func (l *reqLog) begin(started bool) {
	line := l.line[:0]
	*l = reqLog{on: l.on, line: line, status: -1}
	if started {
		l.start = time.Now()
	}
}

// connEnds returns the ends of the server connection c, for %si and %bi:
// the server's address and the proxy's (invalid when not TCP).
func connEnds(c net.Conn) (srv, local netip.AddrPort) {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		srv = unmapped(ta.AddrPort())
	}
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
		local = unmapped(ta.AddrPort())
	}
	return srv, local
}

// parsed notes a complete head and keeps its request line for the log.
//
// fresh: the head came whole with the read that started the request, whose
// date is l.start (one clock reading per wake-up, as HAProxy's timers).
// h2st: the HTTP/2 stream the head was made from, nil over HTTP/1.
func (l *reqLog) parsed(r *http1.Request, fresh bool, h2st *h2.Stream) {
	// the stats' times need it even when nothing logs
	if fresh {
		l.head = l.start
	} else {
		l.head = time.Now()
	}
	// the stats' bin counts it too, logging or not
	l.bytesIn = requestHTXSize(r, h2st)
	if !l.on {
		return
	}
	l.line = append(append(append(l.line[:0], r.Method...), ' '), r.URI...)
	l.methodLen = len(r.Method)
	l.proto = "HTTP/1.1"
	if r.Minor == 0 {
		l.proto = "HTTP/1.0"
	}
}

// requestHTXSize is a request head's size as haproxy's %U counts it
// (logging.HTXSize): its HTTP/1 layer drops the "close" and "keep-alive"
// options of Connection, and the field once it is empty. An HTTP/2
// request's (h2st not nil) has the version "HTTP/2.0" and not the fields
// the conversion to HTTP/1 added (h2.Stream.Added).
func requestHTXSize(r *http1.Request, h2st *h2.Stream) int64 {
	var n logging.HTXSize
	version := proto11
	var addedTE, addedKey bool
	if h2st != nil {
		version = proto20
		addedTE, addedKey = h2st.Added()
	}
	n.StartLine(r.Method, r.URI, version)
	for i := range r.Headers {
		h := &r.Headers[i]
		if addedTE && h.Kind == http1.KindTransferEncoding || addedKey && http1.EqualFold(h.Name, "sec-websocket-key") {
			continue
		}
		if h.Kind != http1.KindConnection {
			n.Header(h.Name, h.Value)
			continue
		}
		kept := 0
		for tok := range bytes.SplitSeq(h.Value, []byte{','}) {
			tok = bytes.TrimSpace(tok)
			if len(tok) == 0 || bytes.EqualFold(tok, []byte("close")) || bytes.EqualFold(tok, []byte("keep-alive")) {
				continue
			}
			if kept > 0 {
				kept += len(", ")
			}
			kept += len(tok)
		}
		if kept > 0 {
			n += logging.HTXSize(len(h.Name) + kept) // the options left, ", " between
		}
	}
	n.EndOfHeaders()
	return int64(n)
}

// headSize counts a response head sent to the client into bytesOut the way
// HAProxy's %B and the stats' bout count it (logging.HTXSize): rewritten
// heads drop hop-by-hop fields (and framing fields as length says). The
// Connection field added for the client is not counted: haproxy's HTTP/1
// layer writes it after the count.
func (l *reqLog) headSize(m *http1.Message, reason []byte, rewritten bool, length lengthEdit) {
	var n logging.HTXSize
	n.StartLine(proto11, statusDigits, reason)
	for i := range m.Headers {
		h := &m.Headers[i]
		if rewritten && (h.Hop || length != lengthKeep && h.Kind == http1.KindContentLength ||
			length == lengthDrop && h.Kind == http1.KindTransferEncoding) {
			continue
		}
		n.Header(h.Name, h.Value)
	}
	if length == lengthFix {
		n.Header(contentLength, strconv.AppendInt(l.scratch[:0], m.ContentLength, 10))
	}
	n.EndOfHeaders()
	l.bytesOut += int64(n)
}

var (
	proto11       = []byte("HTTP/1.1")
	proto20       = []byte("HTTP/2.0")
	statusDigits  = []byte("200")
	contentLength = []byte("Content-Length")
)

// bodySize adds a forwarded response body to bytesOut: its decoded size,
// plus HAProxy's end-of-body block for a chunked one.
func (l *reqLog) bodySize(data int64, chunked bool) {
	l.bytesOut += data
	if chunked {
		l.bytesOut++
	}
}

// stamp records now in t, for the log line and the stats' times.
func (l *reqLog) stamp(t *time.Time) {
	*t = l.now()
}

// now is the time, read as what has passed since the request's head came
// when it has: time.Since reads only the monotonic clock, time.Now the
// wall clock too (two clock reads instead of one, 1.5% of an HTTP/2
// stream's CPU for the three dates of a request).
func (l *reqLog) now() time.Time {
	return after(l.head)
}

// after is the time now, read as base plus the time passed since it: one
// clock reading instead of time.Now's two when base has a monotonic
// reading (else it is time.Now's value all the same).
func after(base time.Time) time.Time {
	if base.IsZero() {
		return time.Now()
	}
	return base.Add(time.Since(base))
}

// answered is when the request's response went out, in Unix nanoseconds:
// its end's date, else (answered by a rule) its head's; 0 when neither.
func (l *reqLog) answered() int64 {
	switch {
	case !l.ended.IsZero():
		return l.ended.UnixNano()
	case !l.head.IsZero():
		return l.head.UnixNano()
	}
	return 0
}

// stampEnd dates the end of the request: the response head's date when
// the whole response went out in the wake-up that read it (endsAtResp).
func (l *reqLog) stampEnd() {
	if l.endsAtResp {
		l.ended = l.resp
		return
	}
	l.ended = l.now()
}

// fail records how a request ended badly: cause is HAProxy's first
// termination character, stage its second.
func (l *reqLog) fail(cause, stage byte) {
	if l.term[0] == '-' || l.term[0] == 0 {
		l.term = [2]byte{cause, stage}
	}
}

func since(a, b time.Time) time.Duration {
	if a.IsZero() || b.IsZero() {
		return -1
	}
	return b.Sub(a)
}

// emitHTTP writes the log line of the request just finished, unless
// "option logasap" wrote it already.
func (s *httpSession) emitHTTP() {
	if !s.lg.logged {
		s.writeLine(false)
	}
}

// writeLine writes the request's log line; early: before its end.
func (s *httpSession) writeLine(early bool) {
	l := &s.lg
	if !l.on || l.skip || s.fe.logFmt == logDefault {
		return // the default format logged the connection when it was accepted
	}
	fe := s.fe
	if l.ended.IsZero() {
		l.ended = l.now()
	}
	if l.start.IsZero() {
		// No byte of a request came. Before the connection's first one,
		// HAProxy dates the request at the accept (Ti 0, Ta = Tt); later
		// ones at their end (Ta 0).
		if s.nreq == 0 && !s.accept.IsZero() {
			l.start = s.accept
		} else {
			l.start = l.ended
		}
	}
	e := s.logEntry()
	*e = logging.Entry{
		ClientIP: s.clientIP, ClientPort: s.clientPort,
		Accept: s.accept, ReqStart: l.start,
		Frontend: fe.P.Name,
		TLS:      s.tlsInfo != nil,
		TR:       since(l.start, l.head),
		Tw:       -1, Tc: -1, Tr: -1,
		Ta:       since(l.start, l.ended),
		Tt:       since(s.accept, l.ended),
		Status:   l.status,
		BytesOut: l.bytesOut, BytesIn: l.bytesIn,
		Term:    [4]byte{'-', '-', '-', '-'},
		ActConn: int(fe.rt.actconn.Load()), FeConn: int(fe.feconn.Load()),
		Retries: l.retries, Redispatched: l.redispatched,
		Proto: l.proto, HTTP: true, Early: early, Received: l.received,
	}
	if l.term[0] != 0 {
		e.Term[0], e.Term[1] = l.term[0], l.term[1]
	}
	if l.cookie[0] != 0 {
		e.Term[2], e.Term[3] = l.cookie[0], l.cookie[1]
	}
	if l.methodLen > 0 {
		e.Method, e.URI = l.line[:l.methodLen], l.line[l.methodLen+1:]
	}
	if l.be != nil {
		e.Backend = l.be.P.Name
		e.BeConn = l.be.Cur() // read after release, as HAProxy does
	}
	if l.srv != nil {
		e.Server = l.srv.Name
		e.SrvConn = l.srv.Cur()
		e.Tw = l.queued
		e.Tc = since(l.head, l.connected) - l.queued
		e.Tr = since(l.connected, l.resp)
	} else if l.cacheHit {
		// haproxy's cache applet is the "server": it waits, connects
		// and answers at once
		e.Server = "<CACHE>"
		e.Tw, e.Tc, e.Tr = 0, 0, 0
	} else {
		e.Server = "<NOSRV>"
		if l.queued > 0 {
			e.Tw = l.queued // timed out in a queue: HAProxy logs the wait
		}
		if l.tried != nil { // connecting failed: haproxy names the server tried last
			e.Server, e.SrvConn, e.Tw = l.tried.Name, l.tried.Cur(), l.queued
		}
	}
	if len(fe.P.ReqCaptures)+len(fe.P.ResCaptures) > 0 && l.methodLen > 0 {
		// haproxy has no capture slots for a connection that brought no
		// request it could parse: its line then shows none
		e.ReqCaps, e.ResCaps = s.caps.req, s.caps.res
	}
	if fe.P.CaptureCookie != "" {
		e.CookieReq, e.CookieRes = s.caps.cookie[0], s.caps.cookie[1]
	}
	if fe.logFmt == logCustom {
		e.Txn, e.V = s, &s.tx.V
		e.ReqID, e.UniqueID = s.reqID, s.tx.UID
		if l.srv != nil {
			e.ServerAddr, e.BackendAddr = l.srvAddr, l.bkAddr
			e.ServerUnix, e.BackendUnix = l.srv.Conf.Unix, l.srv.Conf.Unix
		} else if l.tried != nil {
			e.ServerUnix = l.tried.Conf.Unix // haproxy knows where it failed to connect
		}
		if ti := s.tlsInfo; ti != nil {
			e.SSLCipher, e.SSLVersion = ti.Cipher, ti.Protocol
		}
		if d := s.tx.dst; d.IsValid() { // set-dst, set-dst-port
			e.FrontendIP, e.FrontendPort = d.Addr(), int(d.Port())
		} else if la, ok := s.c.LocalAddr().(*net.TCPAddr); ok {
			e.FrontendIP, e.FrontendPort = la.AddrPort().Addr(), la.Port
		}
	}
	if l.level != 0 {
		fe.sendLogAt(e, l.level)
		return
	}
	fe.sendLog(e)
}

// logEarly writes the request's line once its response head is ready,
// before the body ("option logasap"), as haproxy does when its response
// analysers are done: Ta ends with the head's arrival, %B counts what its
// response buffer then holds (the head since headBefore and body, the
// body bytes already read) and %U is 0 (haproxy adds the request's bytes
// to the stream's at its end).
func (s *httpSession) logEarly(headBefore, body int64) {
	l := &s.lg
	if !s.fe.logASAP || !l.on {
		return
	}
	out, in := l.bytesOut, l.bytesIn
	l.bytesOut, l.bytesIn = out-headBefore+body, 0
	l.ended = l.resp
	s.writeLine(true)
	l.bytesOut, l.bytesIn = out, in
	l.logged = true
}

// earlyBody is what haproxy's response buffer holds of a body framed by f
// once raw bytes of it came with the head (chunked: the data decoded by
// s.rchunks so far, and the end block when done).
func (s *httpSession) earlyBody(f http1.Framing, raw int64, done bool) int64 {
	switch f {
	case http1.FramingLength:
		return min(raw, s.resp.ContentLength)
	case http1.FramingChunked:
		if done {
			return s.rchunks.Data + 1
		}
		return s.rchunks.Data
	case http1.FramingUntilClose:
		return raw
	}
	return 0
}

// logConnect writes HAProxy's default-format line ("Connect from ...") for
// a connection just accepted; it returns whether the frontend uses that
// format (its sessions then log nothing else).
func (fe *Frontend) logConnect(c net.Conn) bool {
	if fe.logFmt != logDefault {
		return false
	}
	e := logging.Entry{Frontend: fe.P.Name, HTTP: fe.P.Mode == model.ModeHTTP}
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		e.ClientIP, e.ClientPort = ta.AddrPort().Addr(), ta.Port
	}
	if la, ok := c.LocalAddr().(*net.TCPAddr); ok {
		e.FrontendIP, e.FrontendPort = la.AddrPort().Addr(), la.Port
	}
	fe.send(logging.LevelInfo, &e)
	return true
}

// sendLog formats and queues e, applying dontlognull and friends.
func (fe *Frontend) sendLog(e *logging.Entry) {
	p := fe.P
	if !logging.ShouldLog(e, p.Options["dontlognull"], p.Options["dontlog-normal"]) {
		return
	}
	fe.send(logging.TrafficLevel(e, p.Options["log-separate-errors"]), e)
}

func (fe *Frontend) send(level logging.Level, e *logging.Entry) {
	e.ASAP = fe.logASAP
	bp := fe.rt.logBufs.Get().(*[]byte)
	b := (*bp)[:0]
	switch fe.logFmt {
	case logHTTP:
		b = logging.FormatHTTP(b, e)
	case logCLF:
		b = logging.FormatCLF(b, e)
	case logTCP:
		b = logging.FormatTCP(b, e)
	case logCustom:
		e.LogCount = fe.logCount.Add(1) - 1
		b = logging.AppendFormat(b, fe.P.LogFormat, e)
	default:
		b = logging.FormatDefault(b, e)
	}
	if fe.P.LogFormatSD != nil && fe.logger.WantsSD() {
		sdp := fe.rt.logBufs.Get().(*[]byte)
		sd := logging.AppendFormat((*sdp)[:0], fe.P.LogFormatSD, e)
		fe.logger.SendSD(level, sd, b)
		*sdp = sd
		fe.rt.logBufs.Put(sdp)
	} else {
		fe.logger.Send(level, b)
	}
	*bp = b
	fe.rt.logBufs.Put(bp)
}
