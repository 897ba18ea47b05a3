package stream

import (
	"net"
	"time"

	"dhproxy/internal/logging"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// AppendLogVar writes a log-format %-variable of a header format, a
// set-var-fmt or an lf-string: the transaction as HAProxy describes it
// while its rules run (times so far, no response timers yet, the request
// line as the rules left it).
func (s *httpSession) AppendLogVar(dst []byte, lv sample.LogVar) []byte {
	now := time.Now()
	accept, start := s.accept, s.lg.start
	if accept.IsZero() {
		accept = now
	}
	if start.IsZero() {
		start = now
	}
	e := s.logEntry()
	*e = logging.Entry{
		ClientIP: s.clientIP, ClientPort: s.clientPort,
		Accept: accept, ReqStart: start,
		Frontend: s.fe.P.Name,
		TLS:      s.tlsInfo != nil,
		TR:       -1, Tw: -1, Tc: -1, Tr: -1,
		Ta:      since(start, now),
		Tt:      since(accept, now),
		Status:  -1,
		Term:    [4]byte{'-', '-', '-', '-'},
		ActConn: int(s.fe.rt.actconn.Load()), FeConn: int(s.fe.feconn.Load()),
		Method: s.req.Method, URI: s.req.URI,
		Proto: "HTTP/1.1", HTTP: true, ASAP: s.fe.logASAP,
		Txn: s, V: &s.tx.V, ReqID: s.reqID, UniqueID: s.tx.UID,
		ReqCaps: s.caps.req, ResCaps: s.caps.res,
		CookieReq: s.caps.cookie[0], CookieRes: s.caps.cookie[1],
	}
	if s.req.Minor == 0 {
		e.Proto = "HTTP/1.0"
	}
	if s.resp.Status != 0 {
		e.Status = s.Status()
	}
	if s.tx.Replying != 0 {
		e.Status = s.tx.Replying // haproxy sets a reply's status first
	}
	if be := s.tx.be; be != nil {
		e.Backend = be.P.Name
		e.BeConn = be.Cur()
	}
	if srv := s.tx.srv; srv != nil {
		e.Server = srv.Name
		e.SrvConn = srv.Cur()
		e.ServerAddr, e.BackendAddr = s.lg.srvAddr, s.lg.bkAddr
		e.ServerUnix, e.BackendUnix = srv.Conf.Unix, srv.Conf.Unix
	}
	if ti := s.tlsInfo; ti != nil {
		e.SSLCipher, e.SSLVersion = ti.Cipher, ti.Protocol
	}
	if d := s.tx.dst; d.IsValid() { // set-dst, set-dst-port
		e.FrontendIP, e.FrontendPort = d.Addr(), int(d.Port())
	} else if la, ok := s.c.LocalAddr().(*net.TCPAddr); ok {
		e.FrontendIP, e.FrontendPort = la.AddrPort().Addr(), la.Port
	}
	return logging.AppendVar(dst, lv, e)
}

// setLogLevel runs set-log-level: the request's log line is sent at that
// level, or not at all ("silent").
func (s *httpSession) setLogLevel(r *rules.Rule) {
	s.lg.level = int8(r.Int + 1)
	if r.Int < 0 {
		s.lg.level = -1
	}
}

// sendLogAt sends e at the level a set-log-level rule chose: after
// dontlognull and dontlog-normal, as haproxy's strm_log applies them,
// and instead of log-separate-errors' choice.
func (fe *Frontend) sendLogAt(e *logging.Entry, level int8) {
	p := fe.P
	if level < 0 || !logging.ShouldLog(e, p.Options["dontlognull"], p.Options["dontlog-normal"]) {
		return
	}
	fe.send(logging.Level(level-1), e)
}

// setVarFmt runs a tcp-request content set-var-fmt in mode tcp (only
// %[expr] there): the variable gets the format's text, once no sample of
// it may still change (false: more bytes are wanted first).
func (t *tcpTxn) setVarFmt(r *rules.Rule) bool {
	t.wantMore = false
	t.fmtBuf = r.Value.Append(t, &t.v, t.fmtBuf[:0])
	if t.wantMore && !t.final {
		return false
	}
	t.v.SetStr(t.fmtBuf) // the variable keeps a copy
	sample.SetVar(t, r.Var, &t.v)
	return true
}
