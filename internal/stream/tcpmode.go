package stream

import (
	"net"
	"time"

	"dhproxy/internal/lb"
	"dhproxy/internal/logging"
	"dhproxy/internal/tcp"
)

// serveTCP forwards one client connection in mode tcp to a server.
func serveTCP(fe *Frontend, c net.Conn) {
	defer c.Close()
	var e logging.Entry
	var srv *Server
	logOn := fe.logFmt != logNone && !fe.logConnect(c)
	if logOn {
		e = logging.Entry{Accept: time.Now(), Frontend: fe.P.Name, Server: "<NOSRV>", Status: -1,
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
	e.Backend = be.P.Name
	dstPort := 0
	if la, ok := c.LocalAddr().(*net.TCPAddr); ok {
		dstPort = la.Port
	}
	var hk hashKey
	if be.hash.Kind == lb.HashSource {
		if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			hk.h, hk.ok = be.hash.Source(ta.AddrPort().Addr())
		}
	}
	var st connStats
	var sc *serverConn
	srv, sc, _, _ = be.connect(dstPort, nil, hk, nil, &st)
	e.Retries, e.Redispatched = st.retries, st.redispatched
	if sc == nil {
		e.Term[0], e.Term[1] = 'S', 'C'
		return
	}
	defer srv.release()
	defer sc.c.Close()
	if srv.health.tracked.Load() {
		l := &sessLink{}
		l.attach(srv, c, sc)
		defer l.detach()
	}
	if logOn {
		e.Server, e.Tw, e.Tc = srv.Name, 0, time.Since(e.Accept)
	}
	client, ok := c.(tcp.HalfCloser)
	if !ok {
		return
	}
	res := tcp.Forward(client, sc.c, tunnelTimeouts(fe.P, be.P))
	e.BytesIn, e.BytesOut = res.BytesIn, res.BytesOut
	e.Term[0], e.Term[1] = res.Term[0], res.Term[1]
}
