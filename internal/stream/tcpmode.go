package stream

import (
	"crypto/tls"
	"net"
	"time"

	"dhproxy/internal/conn"
	"dhproxy/internal/lb"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
	"dhproxy/internal/sample"
	"dhproxy/internal/tcp"
	"dhproxy/internal/txn"
)

// serveTCP forwards one client connection in mode tcp to a server; trk
// holds the connection's trackers, which tcp-request content rules add to;
// bind is the socket that accepted it: its clientCheck checks client
// certificates of an mTLS bind (ssl_c_verify), its ln counts for the
// socket's statistics row, nil without.
func serveTCP(fe *Frontend, c net.Conn, trk *trackers, bind *bindRef) {
	cv, ln := bind.clientCheck, bind.ln
	defer c.Close()
	live := livePool.Get().(*liveSession)
	fe.rt.live.add(live, fe, c)
	defer func() {
		fe.rt.live.remove(live)
		livePool.Put(live)
	}()
	e := logging.Entry{Accept: time.Now(), Tc: -1} // the stats' times need them even unlogged
	ln.opened()
	defer func() { ln.closed(e.BytesIn, e.BytesOut) }()
	var srv *Server
	var be *Backend // once chosen
	logOn := fe.logFmt != logNone && !fe.logConnect(c)
	logged := false // by "option logasap", once connected
	if logOn {
		_, isTLS := c.(*tls.Conn)
		e = logging.Entry{Accept: time.Now(), Frontend: fe.P.Name, TLS: isTLS, Server: "<NOSRV>", Status: -1,
			Tw: -1, Tc: -1, Term: [4]byte{'-', '-', '-', '-'}}
		if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			e.ClientIP, e.ClientPort = ta.AddrPort().Addr().Unmap(), ta.Port
		}
		if la, ok := c.LocalAddr().(*net.TCPAddr); ok {
			e.FrontendIP, e.FrontendPort = la.AddrPort().Addr().Unmap(), la.Port
		}
		defer func() {
			if logged {
				return
			}
			e.Tt = time.Since(e.Accept)
			e.ActConn, e.FeConn = int(fe.rt.actconn.Load()), int(fe.feconn.Load())
			if be != nil {
				e.BeConn = be.Cur() // after release, as HAProxy
			}
			if srv != nil {
				e.SrvConn = srv.Cur()
			}
			fe.sendLog(&e)
		}()
	}
	// tcp-request content rules (the frontend's, then the chosen
	// backend's), then use_backend, on the first bytes of the client.
	tx := &tcpTxn{fe: fe, bind: bind, c: c, sc: *trk, cv: cv}
	if v := startedSessVars(c); v != nil {
		tx.vars = &[3]sample.Vars{sample.ScopeSess: *v}
	}
	if logOn {
		e.Txn, e.V = tx, &tx.v // log-format samples (%[var(sess.x)] ...) read the connection's
	}
	defer func() { *trk = tx.sc }()
	start := time.Now()
	if tx.rejects(tx.inspect(fe.P, fe.P.TCPRequest.Content, fe.P.TCPRequest.InspectDelay, start)) {
		e.Term[0], e.Term[1] = 'P', 'R'
		fe.Stats.Dreq.Add(1)
		return
	}
	be = tx.chooseBackend()
	if be == nil {
		e.Term[0], e.Term[1] = 'S', 'C'
		return
	}
	tx.be = be
	var served *Server // connected to
	defer func() { accountTCP(fe, be, served, &e) }()
	e.Backend = be.P.Name
	if be.P != fe.P && tx.rejects(tx.inspect(be.P, be.P.TCPRequest.Content, be.P.TCPRequest.InspectDelay, start)) {
		e.Term[0], e.Term[1] = 'P', 'R'
		fe.Stats.Dreq.Add(1)
		be.Stats.Dreq.Add(1)
		return
	}
	dstPort := int(tx.Dst().Port())
	src := tx.Src().Addr()
	if logOn && tx.src.IsValid() {
		// a content set-src: the log shows it, as haproxy's
		e.ClientIP, e.ClientPort = tx.src.Addr(), int(tx.src.Port())
	}
	if logOn && tx.dst.IsValid() {
		e.FrontendIP, e.FrontendPort = tx.dst.Addr(), int(tx.dst.Port())
	}
	// The bytes the rules read are sent to the server first.
	first := tx.data
	var hk hashKey
	switch be.hash.Kind {
	case lb.HashSource:
		hk.h, hk.ok = be.hash.Source(src)
	case lb.HashRDPCookie:
		if v, st := sample.RDPCookie(first, be.hash.Name); st == sample.RDPFound && len(v) > 0 {
			hk.h, hk.ok = be.hash.Key(v), true
		}
	case lb.HashExpr:
		hk = be.exprHash(tx, &tx.v)
	}
	const phase = sample.PhaseConn | sample.PhaseContent
	persist := be.connPersist(be.persistMode(tx, &tx.acl, phase))
	anyDown := mayPickDown(persist)
	prefer := be.useServer(tx, &tx.v, &tx.fmtBuf, &tx.acl, phase, anyDown)
	if prefer == nil && be.P.PersistRDPCookie != "" {
		prefer = be.rdpPersistServer(first, anyDown)
	}
	var sticks stickState
	if len(be.stick) > 0 {
		be.stickRequest(&sticks, tx, &tx.v, nil, coarseTime(), anyDown)
		if prefer == nil {
			prefer = sticks.srv
		}
	}
	var st connStats
	var sc *serverConn
	srv, sc, _, _ = be.connect(dstPort, prefer, persist, hk, nil, &st, tx, tx.prio)
	e.Retries, e.Redispatched = st.retries, st.redispatched
	if tx.vars != nil {
		tx.vars[sample.ScopeReq].Reset() // the request's processing is over, as in mode http
	}

	if sc == nil {
		e.Term[0], e.Term[1] = st.failState()
		// haproxy reads the client while it connects: what came counts
		// in %U, so dontlognull logs the failure.
		e.BytesIn = int64(len(first))
		if n, enc := pendingIn(c); enc {
			e.Received = n > 0
		} else {
			e.BytesIn += n
		}
		if st.queued > 0 {
			e.Tw = st.queued
		}
		if st.tried != nil { // haproxy names the server tried last
			e.Server, e.Tw = st.tried.Name, st.queued
			e.ServerUnix = st.tried.Conf.Unix
		}
		return
	}
	served = srv
	tx.back = sc.c
	defer srv.Release()
	defer sc.c.Close()
	sticks.commit(srv, coarseTime())
	live.using(be, srv)
	live.link.attach(srv, c, sc)
	defer live.link.detach()
	if len(first) > 0 {
		if _, err := sc.c.Write(first); err != nil {
			e.Term[0], e.Term[1] = 'S', 'D'
			return
		}
	}
	e.Server, e.Tw, e.Tc = srv.Name, st.queued, time.Since(e.Accept)-st.queued
	if logOn && fe.logFmt == logCustom {
		e.ServerAddr, e.BackendAddr = connEnds(sc.c)
		e.ServerUnix, e.BackendUnix = srv.Conf.Unix, srv.Conf.Unix
		if ti := tx.ClientTLS(); ti != nil {
			e.SSLCipher, e.SSLVersion = ti.Cipher, ti.Protocol
		}
	}
	if logOn && fe.logASAP {
		// haproxy logs a connection once its server's is established:
		// Tt ends there, no byte counted yet
		early := e
		early.Early = true
		early.Tt = early.Tw + early.Tc
		early.ActConn, early.FeConn = int(fe.rt.actconn.Load()), int(fe.feconn.Load())
		early.BeConn, early.SrvConn = be.Cur(), srv.Cur()
		fe.sendLog(&early)
		logged = true
	}
	var answered int64 // server bytes the tcp-response rules read and passed on
	if list := be.P.TCPResponse.Content; len(list) > 0 {
		rx := &tcpTxn{fe: fe, bind: bind, be: be, srv: srv, back: sc.c, c: c, from: sc.c, cv: cv, vars: tx.vars}
		r := rx.inspect(be.P, list, be.P.TCPResponse.InspectDelay, time.Now())
		if r != nil && r.Reject {
			if r.Silent {
				conn.SilentDrop(c)
			}
			// haproxy's "PD": the response was refused; both ends close
			e.Term[0], e.Term[1] = 'P', 'D'
			e.BytesIn = int64(len(first))
			for _, st := range [3]*Counters{&fe.Stats, &be.Stats, &srv.Stats} {
				st.Dresp.Add(1)
			}
			return
		}
		if _, err := c.Write(rx.data); err != nil {
			e.Term[0], e.Term[1] = 'C', 'D'
			return
		}
		answered = int64(len(rx.data))
		if r != nil && r.Close {
			e.BytesIn, e.BytesOut = int64(len(first)), answered
			return // what came is passed on, then the server side ends
		}
	}
	client, ok := c.(tcp.HalfCloser)
	if !ok {
		return
	}
	to := tunnelTimeouts(fe.P, be.P)
	to.TimeoutHalfCloses = true
	res := tcp.Forward(client, sc.c, to, fe.rt.pipes)
	e.BytesIn, e.BytesOut = res.BytesIn+int64(len(first)), res.BytesOut+answered
	e.Term[0], e.Term[1] = res.Term[0], res.Term[1]
}

// inspect runs tcp-request or tcp-response content rules: while a rule's
// condition cannot be decided on the bytes received so far, more are read,
// until delay after start; track-sc*, counter, address and variable rules
// go on, the first accept, reject or close that applies decides and is
// returned; nil: none applied (accept).
func (t *tcpTxn) inspect(p *model.Proxy, list []model.TCPRule, delay time.Duration, start time.Time) *model.TCPRule {
	if len(list) == 0 {
		return nil
	}
	t.deadline = start.Add(delay)
	t.final = delay <= 0 || t.eof || !time.Now().Before(t.deadline)
	r := txn.Inspect(t, &t.acl, p, list)
	if r != nil {
		t.lastRule = &r.Pos
	}
	return r
}

// The connection side of content inspection (txn.ContentConn).

// Final tells that no more data will be waited for.
func (t *tcpTxn) Final() bool { return t.final }

// ReadMore waits for more data, until the inspection's deadline.
func (t *tcpTxn) ReadMore() { t.readMore(t.deadline) }

// readMore reads what the client (the server for tcp-response rules) sends
// next into t.data, until deadline; the data becomes final when the delay
// ends, the peer stops sending or the buffer is full.
func (t *tcpTxn) readMore(deadline time.Time) {
	if t.data == nil {
		t.data = make([]byte, 0, t.fe.rt.bufs.Size)
	}
	from := t.c
	if t.from != nil {
		from = t.from
	}
	from.SetReadDeadline(deadline)
	n, err := from.Read(t.data[len(t.data):cap(t.data)])
	from.SetReadDeadline(time.Time{})
	t.data = t.data[:len(t.data)+n]
	if err != nil {
		t.eof = true // a timeout or the client's end: nothing more to wait for
	}
	t.final = t.eof || len(t.data) == cap(t.data) || !time.Now().Before(deadline)
}

// chooseBackend runs the use_backend rules of mode tcp, with the layer 4
// and payload fetches: the first that applies names the backend; a
// computed name that names no tcp backend falls back to the default one.
func (t *tcpTxn) chooseBackend() *Backend {
	fe := t.fe
	t.final = true // the content rules are over: no more waiting
	for i := range fe.useBackends {
		u := &fe.useBackends[i]
		if !u.cond.MatchIn(t, &t.acl, sample.PhaseConn|sample.PhaseContent) {
			continue
		}
		if u.dyn == nil {
			return u.be
		}
		name := u.dyn.Append(t, &t.v, nil) // once per connection
		if be := fe.rt.backends[string(name)]; be != nil && be.P.Mode == model.ModeTCP {
			return be
		}
		break
	}
	return fe.backend
}

// accountTCP adds a finished mode tcp connection to the stats.
func accountTCP(fe *Frontend, be *Backend, srv *Server, e *logging.Entry) {
	var sc *Counters
	if srv != nil {
		sc = &srv.Stats
	}
	for _, c := range [3]*Counters{&fe.Stats, &be.Stats, sc} {
		if c != nil {
			c.Bin.Add(e.BytesIn)
			c.Bout.Add(e.BytesOut)
		}
	}
	accountEnd(&be.Stats, sc, [2]byte{e.Term[0], e.Term[1]})
	if sc != nil && e.Tc >= 0 {
		addTimes(&be.Stats, sc, false, e.Tw, e.Tc, 0, time.Since(e.Accept))
	}
}

// rejects tells whether the rule inspect returned refuses the connection
// (a silent-drop readies the client's socket for a silent close first).
func (tx *tcpTxn) rejects(r *model.TCPRule) bool {
	if r != nil && r.Silent {
		conn.SilentDrop(tx.c)
	}
	return r != nil && r.Reject
}
