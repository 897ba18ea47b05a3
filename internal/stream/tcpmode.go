package stream

import (
	"crypto/tls"
	"net"
	"net/netip"
	"time"

	"dhproxy/internal/lb"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
	"dhproxy/internal/sample"
	"dhproxy/internal/tcp"
)

// serveTCP forwards one client connection in mode tcp to a server.
func serveTCP(fe *Frontend, c net.Conn) {
	defer c.Close()
	e := logging.Entry{Accept: time.Now(), Tc: -1} // the stats' times need them even unlogged
	var srv *Server
	logOn := fe.logFmt != logNone && !fe.logConnect(c)
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
			e.Tt = time.Since(e.Accept)
			e.ActConn, e.FeConn = int(fe.rt.actconn.Load()), int(fe.feconn.Load())
			if be := fe.backend; be != nil {
				e.BeConn = int(be.beconn.Load()) // after release, as HAProxy
			}
			if srv != nil {
				e.SrvConn = int(srv.cur.Load())
			}
			fe.sendLog(&e)
		}()
	}
	be := fe.backend
	if be == nil {
		e.Term[0], e.Term[1] = 'S', 'C'
		return
	}
	var served *Server // connected to
	defer func() { accountTCP(fe, be, served, &e) }()
	e.Backend = be.P.Name
	dstPort := 0
	if la, ok := c.LocalAddr().(*net.TCPAddr); ok {
		dstPort = la.Port
	}
	var src netip.Addr
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		src = ta.AddrPort().Addr().Unmap()
	}
	// The first bytes, when the rdp-cookie idiom asks to wait for them.
	first := inspectRDPCookie(fe.P, be.P, c)
	var hk hashKey
	switch be.hash.Kind {
	case lb.HashSource:
		hk.h, hk.ok = be.hash.Source(src)
	case lb.HashRDPCookie:
		if v, st := sample.RDPCookie(first, be.hash.Name); st == sample.RDPFound && len(v) > 0 {
			hk.h, hk.ok = be.hash.Key(v), true
		}
	case lb.HashExpr:
		tx := &tcpTxn{fe: fe, be: be, c: c}
		hk = be.exprHash(tx, &tx.v)
	}
	var prefer *Server
	var sticks stickState
	if len(be.stick) > 0 {
		tx := &tcpTxn{fe: fe, be: be, c: c}
		be.stickRequest(&sticks, tx, &tx.v, nil, coarseTime())
		prefer = sticks.srv
	}
	var st connStats
	var sc *serverConn
	srv, sc, _, _ = be.connect(dstPort, prefer, hk, nil, &st)
	e.Retries, e.Redispatched = st.retries, st.redispatched

	if sc == nil {
		e.Term[0], e.Term[1] = st.failState()
		if st.queued > 0 {
			e.Tw = st.queued
		}
		return
	}
	served = srv
	defer srv.release()
	defer sc.c.Close()
	sticks.commit(srv, coarseTime())
	if srv.health.tracked.Load() {
		l := &sessLink{}
		l.attach(srv, c, sc)
		defer l.detach()
	}
	if len(first) > 0 {
		if _, err := sc.c.Write(first); err != nil {
			e.Term[0], e.Term[1] = 'S', 'D'
			return
		}
	}
	e.Server, e.Tw, e.Tc = srv.Name, st.queued, time.Since(e.Accept)-st.queued
	client, ok := c.(tcp.HalfCloser)
	if !ok {
		return
	}
	res := tcp.Forward(client, sc.c, tunnelTimeouts(fe.P, be.P), fe.rt.pipes)
	e.BytesIn, e.BytesOut = res.BytesIn+int64(len(first)), res.BytesOut
	e.Term[0], e.Term[1] = res.Term[0], res.Term[1]
}

// rdpInspectMax bounds the bytes read while waiting for an RDP cookie: a
// connection request is one small packet.
const rdpInspectMax = 1024

// inspectRDPCookie implements "tcp-request inspect-delay <t>" with
// "tcp-request content accept if RDP_COOKIE" (frontend rules first, then
// the backend's): the client's first bytes are read until they hold a
// complete RDP cookie, hold something else, or the delay ends; they are
// returned to be sent to the server first. Without the idiom nothing is
// read and nil is returned.
func inspectRDPCookie(fe, be *model.Proxy, c net.Conn) []byte {
	delay := time.Duration(0)
	for _, p := range []*model.Proxy{fe, be} {
		if p.TCPRequest.AcceptRDPCookie && p.TCPRequest.InspectDelay > 0 {
			delay = max(delay, p.TCPRequest.InspectDelay)
		}
	}
	if delay == 0 {
		return nil
	}
	buf := make([]byte, 0, rdpInspectMax)
	c.SetReadDeadline(time.Now().Add(delay))
	defer c.SetReadDeadline(time.Time{})
	for len(buf) < cap(buf) {
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if _, st := sample.RDPCookie(buf, ""); st != sample.RDPNeedMore {
			break
		}
		if err != nil {
			break
		}
	}
	return buf
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
	accountEnd(&be.Stats, sc, [2]byte{e.Term[0], e.Term[1]}, e.Retries, e.Redispatched)
	if sc != nil && e.Tc >= 0 {
		addTimes(&be.Stats, sc, false, e.Tw, e.Tc, 0, time.Since(e.Accept))
	}
}
