package stream

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/netip"
	"strconv"
	"time"

	"dhproxy/internal/acl"
	"dhproxy/internal/backend"
	"dhproxy/internal/config"
	"dhproxy/internal/conn"
	"dhproxy/internal/http1"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
	"dhproxy/internal/tlsconf"
	"dhproxy/internal/txn"
)

// The connection's side of a transaction. httpSession implements
// sample.Txn over its parsed request and response, and txn.Conn: the
// phases and rule lists run in internal/txn, which edits the parsed
// messages in place (added values live in tx.Buf) and notes what it
// edited, so that the serializers rebuild a head only then. A
// configuration without rules never touches any of this.

// txnState is what the rules of one transaction use.
type txnState struct {
	txn.State // the transaction itself: workspace, variables, conditions, edits
	txnConn
}

// txnConn is the connection side's part of a transaction's state; none
// of it outlives the transaction.
type txnConn struct {
	be     *Backend // the backend whose rules and error pages apply (nil: the frontend's)
	chosen *Backend // the backend use_backend chose (nil: none yet)
	// srcSet: set-src or set-src-port changed s.clientIP or clientPort
	// for this request; realIP and realPort are the connection's own.
	srcSet   bool
	realIP   netip.Addr
	realPort int
	// dst: the destination set-dst or set-dst-port gave this request
	// (invalid: the connection's)
	dst netip.AddrPort
	// The request body read before the rules (option
	// http-buffer-request): s.buf[bodyStart:bodyEnd]; bodyOK tells it was.
	bodyStart, bodyEnd int
	bodyOK             bool
	chunked            []byte      // a chunked body read so, decoded (in buf)
	srvConn            *serverConn // the server answering, while the response rules run
	resBody            []byte      // http-response wait-for-body: the body (decoded if chunked)
	resBodyOK          bool
	srv                *Server   // the server serving the request (srv_name, srv_id)
	bconn              *tls.Conn // its connection when it is TLS (ssl_bc*)
	bconnH2            bool      // its connection speaks HTTP/2 (bc_http_major)
	// softRewrite: "http-request strict-mode off" ran, a failed request
	// rewrite is only counted.
	softRewrite bool
	// timeouts are what http-request set-timeout set, by rules.Timeout*.
	timeouts  [2]timeoutOverride
	noL7Retry bool     // http-request disable-l7-retry ran
	cache     cacheTxn // http-request cache-use and http-response cache-store (cache.go)
}

// timeoutOverride is a timeout set-timeout gave a request (d 0: none).
type timeoutOverride struct {
	set bool
	d   time.Duration
}

// serverTimeout is the request's "timeout server": be's unless set-timeout
// changed it.
func (t *txnConn) serverTimeout(be *model.Proxy) time.Duration {
	if o := &t.timeouts[rules.TimeoutServer]; o.set {
		return o.d
	}
	return be.Timeouts.Server
}

// tunnelTimeout is the request's "timeout tunnel", as serverTimeout.
func (t *txnConn) tunnelTimeout(be *model.Proxy) time.Duration {
	if o := &t.timeouts[rules.TimeoutTunnel]; o.set {
		return o.d
	}
	return be.Timeouts.Tunnel
}

// timeoutSet is the tunnel (else server) timeout set-timeout gave the
// request; false: none did.
func (t *txnConn) timeoutSet(tunnel bool) (time.Duration, bool) {
	o := &t.timeouts[rules.TimeoutServer]
	if tunnel {
		o = &t.timeouts[rules.TimeoutTunnel]
	}
	return o.d, o.set
}

// setTimeout runs http-request set-timeout: an expression's integer is
// milliseconds, 0 or less meaning no timeout (haproxy's TICK_ETERNITY);
// no integer leaves the timeout as it was.
func (s *httpSession) setTimeout(r *rules.Rule) {
	d := r.Wait
	if r.Expr != nil {
		if !r.Expr.Eval(s, &s.tx.V) || !sample.Cast(&s.tx.V, sample.TypeInt, &s.tx.Scratch) {
			return
		}
		d = time.Duration(max(s.tx.V.Int, 0)) * time.Millisecond
	}
	s.tx.timeouts[r.Idx] = timeoutOverride{set: true, d: d}
}

// begin prepares the rule state for a new request, keeping the capacity
// of its buffers. In place: building a new state and copying it over
// the old one moved twice its size on every request.
func (t *txnState) begin() {
	t.State.Reset()
	t.txnConn = txnConn{}
}

// useBackendRule is a use_backend line ready for the request path.
type useBackendRule struct {
	cond *acl.Cond
	be   *Backend       // a static name
	dyn  *sample.Format // a computed name
}

func (s *httpSession) Src() netip.AddrPort {
	if !s.clientIP.IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(s.clientIP, uint16(s.clientPort))
}

func (s *httpSession) Dst() netip.AddrPort {
	if s.tx.dst.IsValid() {
		return s.tx.dst
	}
	if ta, ok := s.c.LocalAddr().(*net.TCPAddr); ok {
		return netip.AddrPortFrom(ta.AddrPort().Addr().Unmap(), ta.AddrPort().Port())
	}
	return netip.AddrPort{}
}

func (s *httpSession) FrontendName() []byte { return s.fe.name }

func (s *httpSession) BackendName() []byte {
	if s.tx.be != nil {
		return s.tx.be.name
	}
	return s.fe.name
}

func (s *httpSession) Request() *http1.Request   { return &s.req }
func (s *httpSession) Response() *http1.Response { return &s.resp }

func (s *httpSession) Status() int {
	if st := s.tx.Edited.Status; st != 0 {
		return st
	}
	return s.resp.Status
}
func (s *httpSession) Scratch() *[]byte { return &s.tx.Scratch }

func (s *httpSession) Vars(sc sample.Scope) *sample.Vars {
	if sc == sample.ScopeSess {
		if s.h2Sess != nil {
			return nil // SharedSessVars
		}
		return &s.sessVars
	}
	return s.tx.VarsOf(sc)
}

// UsableServers is nbsrv: the backend's servers that are up (the backup
// ones when no active one is).
func (s *httpSession) UsableServers(name []byte) int {
	be := s.tx.be
	if len(name) > 0 {
		be = s.fe.rt.backends[string(name)]
	} else if be == nil {
		be = s.fe.backend
	}
	return usableServers(be)
}

func usableServers(be *Backend) int {
	if be == nil {
		return -1
	}
	return be.UpServers() // the live set: servers added at run time count too
}

// requestPhases runs what comes before the server is chosen
// (txn.RequestPhases) and returns the backend chosen. answered reports
// that the request was answered here; keep then says whether the
// connection stays open.
func (s *httpSession) requestPhases() (be *Backend, answered, keep bool) {
	answered, keep = s.tx.RequestPhases(s, &s.fe.phases)
	be = s.tx.chosen
	if answered && be != nil {
		s.lg.be = be
	}
	return be, answered, keep
}

// The connection side of the request phases and rule lists (txn.Conn).

// Begin starts a request: the rule state anew, the connection's stick
// counters, the unique id, the header and cookie captures.
func (s *httpSession) Begin() {
	if s.tx.srcSet {
		s.clientIP, s.clientPort = s.tx.realIP, s.tx.realPort // set-src lasted one request
	}
	s.tx.begin()
	s.connSC.countRequest()
	if s.fe.P.UniqueIDFormat != nil {
		s.uniqueID()
	}
	if len(s.fe.P.ReqCaptures) > 0 {
		s.captureHeaders(false)
	}
	if s.fe.P.CaptureCookie != "" {
		s.captureCookie(false)
	}
}

// Services answers the requests of the proxy's own services.
func (s *httpSession) Services() (answered, keep bool) { return s.local() }

// ChooseBackend runs use_backend, else takes the default backend.
func (s *httpSession) ChooseBackend() (p *model.Proxy, bufferBody bool) {
	be := s.fe.backend
	if s.fe.useBackends != nil {
		be = s.chooseBackend()
	}
	s.tx.chosen = be
	if be == nil {
		return nil, false
	}
	return be.P, be.bufferBody
}

// EnterBackend makes the chosen backend's error pages and counters apply.
func (s *httpSession) EnterBackend() { s.tx.be = s.tx.chosen }

// Answer writes a request rule's reply, with the chosen backend's error
// pages once there is one.
func (s *httpSession) Answer(r *rules.Rule) (answered, keep bool) { return s.answer(r, s.tx.be) }

// Count runs a stick counter action of a rule of section p.
func (s *httpSession) Count(p *model.Proxy, r *rules.Rule, response bool) {
	if r.Action == rules.TrackSC {
		s.sc.track(s.fe.rt.trackTable(p, r), r, s, &s.tx.V, &s.trackKey, !response)
		return
	}
	counterAction(s.counter(r.SC), r, s, &s.tx.V)
}

// Capture runs http-request/http-response capture.
func (s *httpSession) Capture(r *rules.Rule, response bool) { s.captureRule(r, response) }

// WaitForBody runs wait-for-body; a request body that does not come in
// time is answered with a 408 here.
func (s *httpSession) WaitForBody(r *rules.Rule, response bool) bool {
	if response && s.lg.cacheHit {
		return true // a cached response is whole
	}
	if response {
		return s.readResponseBody(r.Wait, r.Int)
	}
	if !s.readBody(r.Wait, r.Int) {
		s.bodyTimeout()
		return false
	}
	return true
}

// NormalizeURI runs normalize-uri; a refused target is answered here.
func (s *httpSession) DoResolve(r *rules.Rule) {
	s.fe.rt.doResolve(s, r, &s.tx.V, &s.tx.Scratch)
}

func (s *httpSession) NormalizeURI(r *rules.Rule) bool {
	if !s.normalizeURI(r) {
		s.badNormalizedURI()
		return false
	}
	return true
}

// ConnAction runs set-log-level, set-mark, set-tos, set-src, set-dst and
// their -port forms. The addresses change only for this request, as
// haproxy 2.6 changes its stream's (the next request on the connection
// has the real ones back).
func (s *httpSession) ConnAction(r *rules.Rule) {
	switch r.Action {
	case rules.SetLogLevel:
		s.setLogLevel(r)
	case rules.StrictMode:
		s.tx.softRewrite = r.Int == 0
	case rules.SetTimeout:
		s.setTimeout(r)
	case rules.NoL7Retry:
		s.tx.noL7Retry = true
	case rules.SetMark, rules.SetTOS:
		setSockOpt(s.c, r)
	case rules.SetSrc, rules.SetSrcPort:
		if a, ok := addrRule(r, s, &s.tx.V, &s.tx.Scratch, s.Src()); ok {
			if !s.tx.srcSet {
				s.tx.srcSet, s.tx.realIP, s.tx.realPort = true, s.clientIP, s.clientPort
			}
			s.clientIP, s.clientPort = a.Addr(), int(a.Port())
		}
	case rules.SetDst, rules.SetDstPort:
		if a, ok := addrRule(r, s, &s.tx.V, &s.tx.Scratch, s.Dst()); ok {
			s.tx.dst = a
		}
	}
}

// addrRule evaluates an address rule (set-src, set-dst, their -port
// forms) and returns the address it makes of cur: set-src/set-dst give
// the address (the port stays), the -port forms the port (kept to 16
// bits, as haproxy stores it). false: the expression gave no such value,
// or there is no address to change.
func addrRule(r *rules.Rule, t sample.Txn, v *sample.Value, scratch *[]byte, cur netip.AddrPort) (netip.AddrPort, bool) {
	if r.Action == rules.SetSrcPort || r.Action == rules.SetDstPort {
		if !cur.IsValid() || !r.Expr.Eval(t, v) || !sample.Cast(v, sample.TypeInt, scratch) {
			return cur, false
		}
		return netip.AddrPortFrom(cur.Addr(), uint16(v.Int)), true
	}
	if !r.Expr.Eval(t, v) || !sample.Cast(v, sample.TypeIP, scratch) {
		return cur, false
	}
	return newAddr(cur, v.IP.Unmap()), true
}

// RejectRequest closes the connection for a tcp-request content reject
// without an answer, logged as haproxy logs it: no request line, "PR", no
// status.
func (s *httpSession) RejectRequest(silent bool) {
	if silent {
		conn.SilentDrop(s.c)
	}
	s.fe.Stats.Dreq.Add(1)
	s.lg.fail('P', 'R')
	s.lg.methodLen, s.lg.head = 0, time.Time{}
}

// ResponseContent is the transaction as tcp-response content rules see
// it in mode http.
func (s *httpSession) ResponseContent() sample.Txn { return resContentTxn{s} }

// resContentTxn reads an empty, complete payload: haproxy 2.6 ignores
// layer 6 fetches on HTTP proxies there (res.len is 0).
type resContentTxn struct{ *httpSession }

func (resContentTxn) Payload() []byte    { return nil }
func (resContentTxn) PayloadFinal() bool { return true }
func (resContentTxn) WantMore()          {}

// RejectResponse closes the server connection for a tcp-response content
// reject or silent-drop (logged "PD", a denied response, as haproxy logs
// both); the client's closes too, without an answer.
func (s *httpSession) RejectResponse(silent bool) {
	if silent {
		conn.SilentDrop(s.c)
	}
	s.tx.srvConn.c.Close()
	s.lg.fail('P', 'D')
	s.lg.resp = time.Time{}
	s.fe.Stats.Dresp.Add(1)
	s.tx.be.Stats.Dresp.Add(1)
	if s.lg.srv != nil {
		s.lg.srv.Stats.Dresp.Add(1)
	}
}

// EarlyHints writes an http-request early-hint's 103 to the client (an
// HTTP/2 stream turns it into a HEADERS frame). A failed write shows
// again when the response is written.
func (s *httpSession) EarlyHints(head []byte) { s.c.Write(head) }

// Replies of monitor-uri: HAProxy's 200 page, its 503 when a "monitor
// fail" condition holds.
var (
	monitorUp   = &rules.Rule{Action: rules.Return, Reply: rules.ErrorReply(200)}
	monitorDown = &rules.Rule{Action: rules.Return, Reply: rules.ErrorReply(503)}
)

// Monitor answers a request for the frontend's monitor-uri (the URI, or
// an absolute URI's path, equal to it) and keeps it out of the logs.
func (s *httpSession) Monitor() (answered, keep bool) {
	m := s.fe.P.MonitorURI
	if string(s.req.URI) != m && (len(s.req.URI) == 0 || s.req.URI[0] == '/' || string(http1.PathQuery(s.req.URI)) != m) {
		return false, false
	}
	s.lg.skip = true
	if s.fe.P.MonitorFails(s, &s.tx.ACL) {
		return s.answer(monitorDown, nil)
	}
	return s.answer(monitorUp, nil)
}

// answer writes a rule's own response (deny, return, redirect); false when
// the rule does not apply after all (a redirect to an empty location).
func (s *httpSession) answer(r *rules.Rule, be *Backend) (answered, keep bool) {
	if r.Action == rules.SilentDrop || r.Action == rules.Reject {
		// nothing is written: the connection ends as a tcp-request
		// content reject ends it (logged "PR", a denied request)
		if r.Action == rules.Reject {
			// At once and with a reset: over HTTP/2 the whole
			// connection, as haproxy kills it.
			conn.ResetClose(conn.Socket(s.c))
		} else {
			conn.SilentDrop(s.c)
		}
		s.fe.Stats.Dreq.Add(1)
		if be != nil {
			be.Stats.Dreq.Add(1)
		}
		s.tx.Denied = true
		s.lg.fail('P', 'R')
		return true, false
	}
	req := &s.req
	// The request body is not read: only a body-less request lets the
	// connection carry another one.
	keep = req.BodyFraming() == http1.FramingNone && req.KeepAlive()
	out, status, keep, ok := s.buildReply(r, keep, string(req.Method) == "HEAD")
	if !ok {
		return false, false
	}
	switch r.Action {
	case rules.Deny:
		s.lg.fail('P', 'R')
	case rules.Tarpit:
		// The client is held for "timeout tarpit" (else "timeout
		// connect") of the proxy whose rule it is, as HAProxy does.
		p := s.fe.P
		if be != nil {
			p = be.P
		}
		time.Sleep(firstSet(p.Timeouts.Tarpit, p.Timeouts.Connect))
		s.lg.fail('P', 'T')
	default:
		s.lg.fail('L', 'R')
	}
	s.tx.Denied = r.Action == rules.Deny || r.Action == rules.Tarpit
	s.tx.Local = !s.tx.Denied
	if s.tx.Denied {
		// counted on the frontend, and on the backend whose rule denied
		s.fe.Stats.Dreq.Add(1)
		if be != nil {
			be.Stats.Dreq.Add(1)
		}
	} else {
		s.fe.Stats.Intercepted.Add(1)
	}
	if f := req.BodyFraming(); f != http1.FramingNone && !s.h2 {
		// haproxy's %U (and bin) count the body its buffer holds, though
		// no server gets it
		start := s.r + req.HeadLen
		if end, done, ok := s.bufferedBody(f, start); ok {
			s.bufferedBodyIn(f, int64(end-start), done)
		}
	}
	err := s.sendOwn(out, status, -1)
	s.r += req.HeadLen
	return true, keep && err == nil
}

// answerResponse replaces the server's response by the reply of an
// http-response deny, return or redirect rule, as HAProxy does: the
// server connection is closed, the client's stays open (keep) when it
// keeps alive and its request was read whole. answered is false when the
// rule does not apply after all (a redirect to an empty location).
func (s *httpSession) answerResponse(r *rules.Rule, sc *serverConn, keep, head bool) (answered, kept bool) {
	return s.answerResponseLogged(r, sc, keep, head, 0)
}

// answerResponseLogged is answerResponse logging logStatus (0: the
// reply's status).
func (s *httpSession) answerResponseLogged(r *rules.Rule, sc *serverConn, keep, head bool, logStatus int) (answered, kept bool) {
	if r.Action == rules.SilentDrop {
		// the client's connection disappears as for http-request
		// silent-drop (haproxy logs and counts it so too: "PR", a denied
		// request)
		sc.c.Close()
		return s.answer(r, nil)
	}
	out, status, keep, ok := s.buildReply(r, keep, head)
	if !ok {
		return false, false
	}
	// HAProxy's log counts the server's response it had received (its
	// head, and the body already buffered) before the reply.
	s.lg.headSize(&s.resp.Message, s.resp.Reason, false, lengthKeep)
	if body := int64(s.sw - s.sr - s.resp.HeadLen); !s.resp.Chunked && body > 0 {
		if cl := s.resp.ContentLength; cl >= 0 {
			body = min(body, cl)
		}
		s.lg.bytesOut += body
	}
	bodyRead := s.abortBody(sc)
	sc.c.Close()
	if !bodyRead && keep {
		out, status, keep, _ = s.buildReply(r, false, head)
	}
	s.lg.resp = time.Time{} // HAProxy logs no response time (Tr -1)
	if r.Action == rules.Deny {
		s.lg.fail('P', 'H')
		s.fe.Stats.Dresp.Add(1)
		if s.tx.be != nil {
			s.tx.be.Stats.Dresp.Add(1)
		}
		sc.srv.Stats.Dresp.Add(1)
	} else {
		s.lg.fail('L', 'H')
	}
	if logStatus == 0 {
		logStatus = status
	}
	err := s.sendOwnLogged(out, status, logStatus, -1)
	s.dropSbuf()
	if s.r == s.w {
		s.r, s.w = 0, 0
	}
	return true, keep && err == nil
}

// buildReply builds a rule's own response into s.out: a redirect, or its
// reply (the proxy's error page for its status when the reply defers to
// it). keep says whether the connection may stay open; keepOut whether
// it does after this reply. ok is false for a redirect to an empty
// location with ignore-empty (the rule is then skipped).
func (s *httpSession) buildReply(r *rules.Rule, keep, head bool) (out []byte, status int, keepOut, ok bool) {
	out = s.out[:0]
	if r.Action == rules.Redirect {
		if out, ok = r.Redir.Append(out, s, &s.tx.V, &s.req); !ok {
			return nil, 0, false, false
		}
		if !keep {
			// the head is complete but for the final CRLF
			out = append(out[:len(out)-2], "connection: close\r\n\r\n"...)
		}
		s.out = out
		return out, r.Redir.Code, keep, true
	}
	reply := r.Reply
	if reply.Dynamic {
		if page := s.errorPage(reply.Status); page != nil {
			reply = page
		}
	}
	keep = keep && !reply.Close
	s.tx.Replying = reply.Status // %ST in its lf-string and hdr formats
	out = reply.AppendExtra(out, r.Reply.Extra, s, &s.tx.V, &s.tx.Buf, !keep, head)
	s.tx.Replying = 0
	s.out = out
	s.lg.bytesOut += int64(reply.LogExtra)
	return out, reply.Status, keep, true
}

// sendOwn writes a response the proxy made itself (a rule's reply, an
// error page) once the http-after-response rules have run on it, and logs
// its status and size (htx: the size, or -1 to count it from out).
func (s *httpSession) sendOwn(out []byte, status int, htx int64) error {
	return s.sendOwnLogged(out, status, status, htx)
}

// sendOwnLogged is sendOwn logging logStatus, unless an
// http-after-response rule sets another.
func (s *httpSession) sendOwnLogged(out []byte, status, logStatus int, htx int64) error {
	s.lg.status = logStatus
	if s.hasAfterRules() {
		if edited, ok := s.afterReply(out); ok {
			out, htx = edited, -1
		}
	}
	if hc := s.responseCases(); hc != nil {
		// Own replies too, as haproxy's: a copy, out may be a shared page.
		s.out = append(s.out[:0], out...)
		out = s.out
		hc.adjustHead(out)
	}
	s.cdl.Write(s.c, s.fe.P.Timeouts.Client)
	_, err := s.cio.Write(out)
	if htx < 0 {
		htx = replyHTXSize(out)
	}
	s.lg.bytesOut += htx
	return err
}

func (s *httpSession) hasAfterRules() bool {
	return len(s.fe.P.HTTPAfterResponseRules) > 0 || s.tx.be != nil && len(s.tx.be.P.HTTPAfterResponseRules) > 0
}

// afterReply runs the http-after-response rules on the proxy's own
// response out: it is parsed as a server's would be (the rules read and
// edit s.resp) and rebuilt in s.out when a rule changed it (ok).
func (s *httpSession) afterReply(out []byte) (edited []byte, ok bool) {
	s.tx.Reply = append(s.tx.Reply[:0], out...)
	n, err := http1.ParseResponse(s.tx.Reply, &s.resp)
	if err != nil {
		return nil, false
	}
	s.tx.Edited.Status, s.tx.Edited.Response = 0, false
	s.afterResponseRules()
	if !s.tx.Edited.Response {
		return nil, false
	}
	if st := s.tx.Edited.Status; st != 0 {
		s.lg.status = st
	}
	return s.rebuildReply(n), true
}

// rebuildReply writes into s.out the response parsed from s.tx.Reply (its
// head n bytes long) as the rules left s.resp: the status line (a
// set-status's, or the original), the headers, then the body.
func (s *httpSession) rebuildReply(n int) []byte {
	o := s.out[:0]
	if st := s.tx.Edited.Status; st != 0 {
		o = append(o, "HTTP/1.1 "...)
		o = strconv.AppendInt(o, int64(st), 10)
		o = append(append(append(o, ' '), s.tx.Edited.Reason...), "\r\n"...)
	} else {
		o = append(o, s.tx.Reply[:bytes.IndexByte(s.tx.Reply, '\n')+1]...)
	}
	for _, h := range s.resp.Headers {
		o = append(append(append(append(o, h.Name...), ": "...), h.Value...), "\r\n"...)
	}
	o = append(append(o, "\r\n"...), s.tx.Reply[n:]...)
	s.out = o
	return o
}

// afterResponseRules runs the http-after-response rules of the backend,
// then of the frontend (once for a listen section).
func (s *httpSession) afterResponseRules() {
	var be *model.Proxy
	if s.tx.be != nil {
		be = s.tx.be.P
	}
	s.tx.AfterResponse(s, be, s.fe.P)
}

// errorPage is the page configured for status (errorfile, errorloc,
// http-error): the chosen backend's, else the frontend's; nil for the
// built-in one.
func (s *httpSession) errorPage(status int) *rules.Reply {
	if be := s.tx.be; be != nil && be.P.ErrorPages != nil {
		if r := be.P.ErrorPages[status]; r != nil {
			return r
		}
	}
	if s.fe.P.ErrorPages == nil {
		return nil
	}
	return s.fe.P.ErrorPages[status]
}

// writeReply writes an error page of the configuration in place of a
// built-in one; keep tells whether the connection stays open after it.
func (s *httpSession) writeReply(r *rules.Reply, keep bool) {
	s.out = r.Append(s.out[:0], s, &s.tx.V, &s.tx.Buf, !keep, false)
	s.lg.bytesOut += int64(r.LogExtra)
	s.sendOwn(s.out, r.Status, -1)
}

// replyHTXSize is what HAProxy logs as the size of a reply it wrote itself
// (logging.HTXSize): status line, headers but the "connection" one the
// connection layer adds, end of headers, body.
func replyHTXSize(out []byte) int64 {
	var n logging.HTXSize
	head := out
	for first := true; ; first = false {
		i := bytes.Index(head, crlf)
		if i <= 0 { // the blank line ending the head, or no head at all
			if i == 0 {
				head = head[2:]
			}
			break
		}
		line := head[:i]
		head = head[i+2:]
		if first {
			version, rest, _ := bytes.Cut(line, space)
			code, reason, _ := bytes.Cut(rest, space)
			n.StartLine(version, code, reason)
			continue
		}
		name, value, _ := bytes.Cut(line, colonSpace)
		if !http1.EqualFold(name, "connection") {
			n.Header(name, value)
		}
	}
	n.EndOfHeaders()
	n.Data(len(head))
	return int64(n)
}

var (
	crlf       = []byte("\r\n")
	space      = []byte(" ")
	colonSpace = []byte(": ")
)

// HeaderRewritten checks that the request's head still fits in a buffer
// once a header rule r edited it; one that does not fit leaves out the
// header set-header/add-header added and fails the rewrite.
func (s *httpSession) HeaderRewritten(r *rules.Rule) bool {
	if reqHeadSize(&s.req) <= s.fe.rt.bufs.Size {
		return true
	}
	if r.Action == rules.SetHeader || r.Action == rules.AddHeader {
		s.req.Headers = s.req.Headers[:len(s.req.Headers)-1]
	}
	return s.rewriteFailed()
}

// reqHeadSize is the room req's head takes in a buffer once rewritten, as
// HAProxy's HTX stores it: a block of 8 bytes plus the text per header,
// and the start line with its 40-byte descriptor.
func reqHeadSize(req *http1.Request) int {
	n := 8 + 40 + len(req.Method) + len(req.URI) + len("HTTP/1.1")
	for i := range req.Headers {
		n += 8 + len(req.Headers[i].Name) + len(req.Headers[i].Value)
	}
	return n
}

// rewriteFailed counts a request header rewrite that did not fit (wrew)
// on the frontend and, once chosen, the backend, as HAProxy does. In
// strict mode (the default) it is also an internal error (eint): the
// request ends with a 500 and the connection closes, logged "PR".
func (s *httpSession) rewriteFailed() bool {
	s.fe.Stats.Wrew.Add(1)
	if s.tx.be != nil {
		s.tx.be.Stats.Wrew.Add(1)
	}
	if s.tx.softRewrite {
		return true
	}
	s.fe.Stats.Eint.Add(1)
	if s.tx.be != nil {
		s.tx.be.Stats.Eint.Add(1)
	}
	s.lg.fail('P', 'R')
	s.writeError(500)
	return false
}

// responseRules runs the response phases (txn.Response). It returns the
// deny, return or redirect rule that answers in place of the server, if
// one applies, or tcpResponseRejected, or responseTimeout.
func (s *httpSession) responseRules(be *Backend) *rules.Rule {
	r, end := s.tx.Response(s, be.P, s.fe.P)
	switch end {
	case txn.Rejected:
		return tcpResponseRejected
	case txn.ServerClosed:
		return tcpResponseClosed
	case txn.TimedOut:
		return responseTimeout
	}
	return r
}

// tcpResponseRejected is responseRules' answer when a tcp-response
// content rule refused the response: both ends are closed, nothing is
// sent to the client.
var tcpResponseRejected = &rules.Rule{Action: rules.Deny}

// tcpResponseClosed is responseRules' answer when a tcp-response content
// close closed the server connection: the client gets a 502.
var tcpResponseClosed = &rules.Rule{Action: rules.Deny}

// chooseBackend runs the use_backend rules: the first that applies names
// the backend; a computed name that names none falls back to the default
// backend, as HAProxy does.
func (s *httpSession) chooseBackend() *Backend {
	for i := range s.fe.useBackends {
		u := &s.fe.useBackends[i]
		if !u.cond.Match(s, &s.tx.ACL) {
			continue
		}
		if u.dyn == nil {
			return u.be
		}
		start := len(s.tx.Buf)
		s.tx.Buf = u.dyn.Append(s, &s.tx.V, s.tx.Buf)
		if be := s.fe.rt.backends[string(s.tx.Buf[start:])]; be != nil && be.P.Mode == model.ModeHTTP {
			return be
		}
		break
	}
	return s.fe.backend
}

// tcpTxn is what the samples of a mode tcp connection read: its
// addresses and names (the model refuses fetches needing HTTP there).
type tcpTxn struct {
	fe      *Frontend
	bind    *bindRef // the socket that accepted the connection (so_id)
	be      *Backend // nil before a backend is known
	srv     *Server  // the server connected (tcp-response rules)
	back    net.Conn // the connection to it (bc_src, bc_dst)
	c       net.Conn
	v       sample.Value
	acl     acl.State
	scratch []byte
	sc      trackers // tcp-request connection/content track-sc*
	key     []byte   // a track-sc rule's key
	fmtBuf  []byte   // a set-var-fmt's text (not scratch: samples write there)

	expectProxy bool             // a tcp-request connection expect-proxy rule applied
	lastRule    *config.Pos      // the content rule that decided (last_rule_file)
	prio        backend.Priority // set-priority-class, set-priority-offset
	// src and dst: the addresses set-src/set-dst gave (invalid: the
	// connection's)
	src, dst netip.AddrPort

	// The client's TLS connection for the ssl_fc*/ssl_c_* fetches, built
	// on first use; cv checks its certificate.
	cv      *tlsconf.ClientVerifier
	tlsInfo *sample.TLSInfo
	tlsDone bool

	// The client's first bytes, read for tcp-request content rules (the
	// server's for tcp-response rules: from is the server connection).
	from     net.Conn
	data     []byte
	final    bool            // no more data will be waited for
	deadline time.Time       // the inspection waits for data until then
	eof      bool            // the client closed, or the read timed out
	wantMore bool            // a fetch could not decide on data yet
	vars     *[3]sample.Vars // sess, txn and req variables (one transaction)
}

// Payload, PayloadFinal and WantMore implement sample.PayloadTxn.
func (t *tcpTxn) Payload() []byte    { return t.data }
func (t *tcpTxn) PayloadFinal() bool { return t.final }
func (t *tcpTxn) WantMore()          { t.wantMore = true }

// TakeMiss implements acl.MissReporter.
func (t *tcpTxn) TakeMiss() bool {
	w := t.wantMore
	t.wantMore = false
	return w
}

// connectionRules runs the tcp-request connection rules on a new
// connection: track-sc*, counter, set-var and set-src/dst rules apply and
// evaluation goes on, an expect-proxy rule that applies asks for a PROXY
// header (expect), and the first accept or reject rule that applies
// decides; none applying accepts. *c carries what the rules set.
func (fe *Frontend) connectionRules(c *net.Conn, bind *bindRef, sc *trackers) (reject, expect bool) {
	tx := &tcpTxn{fe: fe, bind: bind, c: *c}
	reject = txn.Layer4(tx, &tx.acl, fe.P, fe.P.TCPRequest.Connection)
	*sc = tx.sc
	*c = tx.started(*c)
	return reject, tx.expectProxy
}

// sessionRules runs the tcp-request session rules, once the PROXY header
// (if any) has given the connection its addresses.
func (fe *Frontend) sessionRules(c *net.Conn, bind *bindRef, sc *trackers) (reject bool) {
	tx := &tcpTxn{fe: fe, bind: bind, c: *c, sc: *sc}
	if v := startedSessVars(*c); v != nil {
		tx.vars = &[3]sample.Vars{sample.ScopeSess: *v}
	}
	reject = txn.Layer4(tx, &tx.acl, fe.P, fe.P.TCPRequest.Session)
	*sc = tx.sc
	*c = tx.started(*c)
	return reject
}

// The connection side of the tcp-request connection and session rules
// (txn.Layer4Conn).

// Track runs a track-sc* rule of section p for the connection.
func (tx *tcpTxn) Track(p *model.Proxy, r *rules.Rule) {
	tx.sc.track(tx.fe.rt.trackTable(p, r), r, tx, &tx.v, &tx.key, false)
}

// ExpectProxy notes that the connection starts with a PROXY header.
func (tx *tcpTxn) ExpectProxy() { tx.expectProxy = true }

// SetVar runs set-var, set-var-fmt and unset-var; wait: a sample that may
// still change asks for more data first, as haproxy's set-var waits. In
// connection and session rules no transaction exists yet: txn and req
// variables set there are lost with tx, as haproxy loses them.
func (tx *tcpTxn) SetVar(v *rules.Rule) (wait bool) {
	tx.wantMore = false
	switch {
	case v.Action == rules.UnsetVar:
		sample.UnsetVar(tx, v.Var)
	case v.Expr == nil:
		return !tx.setVarFmt(v)
	case v.Expr.Eval(tx, &tx.v) && !(tx.wantMore && !tx.final):
		sample.SetVar(tx, v.Var, &tx.v)
	default:
		return tx.wantMore && !tx.final
	}
	return false
}

// Act runs a counter, address or socket action.
func (tx *tcpTxn) Act(r *rules.Rule) { tx.act(r) }

// SilentDrop readies the client's socket for a silent close.
func (tx *tcpTxn) SilentDrop() { conn.SilentDrop(tx.c) }

// act runs a tcp-request counter (sc-inc-gpc*, sc-set-gpt*), address
// (set-src, set-dst, set-src-port, set-dst-port) or socket (set-mark,
// set-tos) action.
func (tx *tcpTxn) act(r *rules.Rule) {
	switch r.Action {
	case rules.SetMark, rules.SetTOS:
		setSockOpt(tx.c, r)
	case rules.SetSrc, rules.SetSrcPort:
		if a, ok := addrRule(r, tx, &tx.v, &tx.scratch, tx.Src()); ok {
			tx.src = a
		}
	case rules.SetDst, rules.SetDstPort:
		if a, ok := addrRule(r, tx, &tx.v, &tx.scratch, tx.Dst()); ok {
			tx.dst = a
		}
	case rules.PrioClass, rules.PrioOffset:
		if r.Expr.Eval(tx, &tx.v) && sample.Cast(&tx.v, sample.TypeInt, &tx.scratch) {
			if r.Action == rules.PrioClass {
				tx.prio.Class = rules.PriorityValue(r.Action, tx.v.Int)
			} else {
				tx.prio.Offset = rules.PriorityValue(r.Action, tx.v.Int)
			}
		}
	case rules.SetNice:
		// without effect (rules.SetNice says why)
	default:
		counterAction(&tx.sc[r.SC], r, tx, &tx.v)
	}
}

// newAddr is old with addr as its address: the port stays, IPv4 and IPv6
// both having one, as haproxy's set-src/set-dst keep it (0 without an
// old address).
func newAddr(old netip.AddrPort, addr netip.Addr) netip.AddrPort {
	return netip.AddrPortFrom(addr, old.Port())
}

// started returns c carrying the addresses and the sess variables the
// rules set (c itself when they set none), for the session to come.
func (tx *tcpTxn) started(c net.Conn) net.Conn {
	sess := tx.vars != nil && !tx.vars[sample.ScopeSess].Empty()
	pc, ok := c.(*ppConn)
	if ok && !sess {
		pc.sessVars = nil // the session rules unset what the connection's set
	}
	if !tx.src.IsValid() && !tx.dst.IsValid() && !sess {
		return c
	}
	if !ok {
		pc = &ppConn{Conn: c}
	}
	if tx.src.IsValid() {
		pc.src = net.TCPAddrFromAddrPort(tx.src)
	}
	if tx.dst.IsValid() {
		pc.dst = net.TCPAddrFromAddrPort(tx.dst)
	}
	if sess {
		v := tx.vars[sample.ScopeSess]
		pc.sessVars = &v
	}
	return pc
}

func (t *tcpTxn) Src() netip.AddrPort {
	if t.src.IsValid() {
		return t.src
	}
	if ta, ok := t.c.RemoteAddr().(*net.TCPAddr); ok {
		return netip.AddrPortFrom(ta.AddrPort().Addr().Unmap(), ta.AddrPort().Port())
	}
	return netip.AddrPort{}
}

func (t *tcpTxn) Dst() netip.AddrPort {
	if t.dst.IsValid() {
		return t.dst
	}
	if ta, ok := t.c.LocalAddr().(*net.TCPAddr); ok {
		return netip.AddrPortFrom(ta.AddrPort().Addr().Unmap(), ta.AddrPort().Port())
	}
	return netip.AddrPort{}
}

func (t *tcpTxn) FrontendName() []byte { return t.fe.name }
func (t *tcpTxn) BackendName() []byte {
	if t.be == nil {
		return t.fe.name
	}
	return t.be.name
}
func (t *tcpTxn) Request() *http1.Request   { return nil }
func (t *tcpTxn) Response() *http1.Response { return nil }
func (t *tcpTxn) Status() int               { return 0 }
func (t *tcpTxn) Vars(sc sample.Scope) *sample.Vars {
	if sc == sample.ScopeRes {
		return nil // no response is parsed in mode tcp
	}
	if t.vars == nil {
		t.vars = new([3]sample.Vars) // once per connection with variables
	}
	return &t.vars[sc]
}
func (t *tcpTxn) Scratch() *[]byte { return &t.scratch }
func (t *tcpTxn) UsableServers(name []byte) int {
	if len(name) > 0 {
		return usableServers(t.fe.rt.backends[string(name)])
	}
	return usableServers(t.be)
}
