package stream

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"dhproxy/internal/backend"
	"dhproxy/internal/check"
	"dhproxy/internal/conn"
	"dhproxy/internal/fcgi"
	"dhproxy/internal/lb"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
	"dhproxy/internal/netns"
	"dhproxy/internal/sample"
	"dhproxy/internal/stick"
	"dhproxy/internal/tcp"
)

// Server is a server's runtime state: its balancing state (the embedded
// backend.Server: weights, admin state, serving slots, queue) and its
// connections, checks and counters.
type Server struct {
	backend.Server[*Server]
	// dst is where connections go: host:port, or the host alone when the
	// client's port is used (useDst); "" while DNS has given no address.
	// Run-time DNS replaces it (resolvers.go).
	dst     atomic.Pointer[string]
	useDst  bool      // no port configured: connect to the port the client reached
	dns     *dnsState // run-time DNS state, nil unless the server follows DNS
	backend *Backend
	// transparent: the address is 0.0.0.0 or ::, so connections go to
	// the request's destination (set-dst may have changed it), as haproxy's.
	transparent atomic.Bool
	// checksStarted: s's checks run (from the start, or since "enable
	// health|agent" for a server added at run time); stopChecks ends
	// those started at run time. Both under backend.checkMu.
	checksStarted bool
	stopChecks    func()
	addedMaint    bool // "add server" put it in maintenance (AddedInMaint)

	nonStick bool // "non-stick": stick rules never store this server

	health serverHealth // agent maxconn, observe, shutdown-sessions (observe.go)

	// dialer opens its connections from its "source" address; nil: the
	// shared dialer (the system picks the address).
	dialer *net.Dialer

	idle backend.IdlePool[*serverConn] // HTTP/1 connections between requests
	h2   h2Pool                        // HTTP/2 connections, shared by streams (h2srv.go)

	Stats    Counters
	adminCtl check.Admin // the check state machine's, when the server is checked
	check    atomic.Pointer[CheckState]
	agent    atomic.Pointer[CheckState]
	// a health check, an agent check under way (haproxy's "* " mark)
	checkRunning, agentRunning atomic.Bool
}

// Backend is a backend's runtime state: its servers (the embedded
// backend.Farm: server set, balancing, queues) and what requests need of
// it (persistence, stick rules, hashing, counters).
type Backend struct {
	*backend.Farm[*Server]
	P *model.Proxy
	// Servers are the servers of the configuration, as the process
	// started; nothing changes them. The servers the balancer sees now
	// ("add server" and "del server" change them): ServerList.
	Servers []*Server
	useDst  bool           // a server connects to the port the client reached
	errors  errorSnapshots // its last invalid response ("show errors", errsnap.go)
	// bufferBody is "option http-buffer-request": the body is read before
	// the backend's http-request rules.
	bufferBody bool
	// tcpKA: its server sockets send TCP keepalive probes so tuned
	// ("option tcpka" or "srvtcpka"); nil: they do not.
	tcpKA    *model.TCPKeepAlive
	cookie   *persistCookie
	hash     lb.HashSpec  // Kind is lb.HashNone unless the balancing hashes a key
	hashExpr *sample.Expr // "balance hash <expr>"
	Stats    Counters
	stick    []stickRule // stick on/match/store-request, in order
	name     []byte      // P.Name, for the be_name fetch
	checkMu  sync.Mutex  // guards the servers' checksStarted and stopChecks
	// useServers are the "use-server" rules, in order (useserver.go).
	useServers []useServerRule
	// preferLast is "option prefer-last-server" with a balancing that is
	// not hash-based: a session's kept connection's server goes first.
	preferLast bool
	persistOpt bool // "option persist": persistence may choose a DOWN server
	// checkCache is "option checkcache" (checkcache.go); alerts are the
	// log targets of its alerts (nil: none).
	checkCache bool
	alerts     *logging.Logger
	// fcgi is "use-fcgi-app" (fcgi.go), nil without.
	fcgi *fcgiBackend
}

// farmEvents counts in the stats what the backend's farm does.
type farmEvents Backend

func (e *farmEvents) Took(s *Server, srvCur, beCur int32) {
	s.Stats.session(srvCur)
	raiseTo(&e.Stats.Smax, beCur)
}

// Assigned counts the backend's session once per request or connection;
// Took counts the server's once per attempt, as HAProxy does.
func (e *farmEvents) Assigned() { e.Stats.assigned() }

func (e *farmEvents) Retried(s *Server, redispatched bool) {
	for _, c := range [2]*Counters{&s.Stats, &e.Stats} {
		if redispatched {
			c.Wredis.Add(1)
		} else {
			c.Wretr.Add(1)
		}
	}
}

// Failed counts the server's connection error; the backend's is counted
// with the request's end (accountEnd).
func (e *farmEvents) Failed(s *Server) { s.Stats.Econ.Add(1) }

func (e *farmEvents) Balanced(s *Server) {
	s.Stats.LBTot.Add(1)
	e.Stats.LBTot.Add(1)
}

func (e *farmEvents) Queued(s *Server, onFarm bool, n int32) {
	if onFarm {
		raiseTo(&e.Stats.Qmax, n)
	} else {
		raiseTo(&s.Stats.Qmax, n)
	}
}

func (e *farmEvents) WentDown(s *Server) { s.Stats.Chkdown.Add(1) }

// hashKey is a precomputed balancing hash for a request (ok false: none).
type hashKey struct {
	h  uint32
	ok bool
}

// serverConn is a connection to a server, pooled between requests.
type serverConn struct {
	c   tcp.HalfCloser // conn.DialTCP's socket, a *net.TCPConn or *net.UnixConn, or a *tls.Conn over one towards an "ssl" server
	srv *Server
	fd  *conn.FD // raw reads and writes; c keeps deadlines and Close
	dl  conn.Deadlines
	// The connection's ends (%si, %bi), found by the first request that
	// uses it (ends), so not per request.
	srvAddr, bkAddr netip.AddrPort
	endsSet         bool
}

// ends returns the connection's ends; only its current user calls it.
func (sc *serverConn) ends() (srv, local netip.AddrPort) {
	if !sc.endsSet {
		sc.srvAddr, sc.bkAddr = connEnds(sc.c)
		sc.endsSet = true
	}
	return sc.srvAddr, sc.bkAddr
}

// Close closes the connection (for the idle pool).
func (sc *serverConn) Close() error { return sc.c.Close() }

func newBackend(p *model.Proxy, cfg *model.Config, tables map[*model.Proxy]*stick.Table) *Backend {
	b := &Backend{P: p, name: []byte(p.Name), bufferBody: p.Options["http-buffer-request"], checkCache: p.Options["checkcache"]}
	if p.ServerKeepAlive() {
		b.tcpKA = &p.SrvTCPKA
	}
	if p.FcgiApp != nil {
		b.fcgi = newFcgiBackend(p.FcgiApp)
	}
	b.setStickRules(p.StickRules, tables)
	if sp, ok := lb.ParseHashSpec(p.Balance.Algo, p.Balance.Args, p.HashType); ok {
		sp.BalanceFactor = p.HashBalanceFactor
		b.hash = sp
		if sp.Kind == lb.HashExpr {
			b.hashExpr = p.Balance.Expr
		}
	}
	var cores []*backend.Server[*Server]
	for _, sc := range p.Servers {
		s := b.newServer(sc)
		b.useDst = b.useDst || s.useDst // fixed once built: read per request
		b.Servers = append(b.Servers, s)
		cores = append(cores, &s.Server)
	}
	o := backend.Options[*Server]{Config: cfg, Events: (*farmEvents)(b), Now: conn.CoarseNow, Hash: b.hash}
	if d := p.Dispatch; d != nil {
		s := &Server{backend: b}
		s.idle.SetMax(maxIdlePerServer)
		s.Init(s, d)
		s.dst.Store(&d.Addr)
		o.Dispatch = &s.Server
	}
	b.Farm = backend.NewFarm(p, cores, o)
	if p.Cookie != nil {
		b.cookie = newPersistCookie(p.Cookie, b.Servers)
	}
	b.setUseServers(p)
	b.preferLast = p.Options["prefer-last-server"] && b.hash.Kind == lb.HashNone
	b.persistOpt = p.Options["persist"]
	return b
}

// newServer returns the runtime state of server sc of b, up unless
// "disabled", at its configured weight, to be put in b's farm.
func (b *Backend) newServer(sc *model.Server) *Server {
	s := &Server{backend: b}
	s.Init(s, sc)
	dst := sc.Addr
	if host, port, err := net.SplitHostPort(sc.Addr); err == nil && port == "0" && sc.SRV == "" && !sc.Unix {
		s.useDst, dst = true, host
	}
	s.dst.Store(&dst)
	s.transparent.Store(unspecifiedHost(dst, s.useDst))
	src, opts := b.P.SourceFor(sc), serverSockOpts(sc, b.P.RetryOn)
	if sc.Unix {
		opts = nil // TCP options: haproxy sets none on a UNIX socket
	}
	if src.IsValid() || opts != nil {
		d := dialer
		if src.IsValid() {
			d.LocalAddr = net.TCPAddrFromAddrPort(src)
		}
		d.Control = opts
		s.dialer = &d
	}
	s.nonStick = sc.NonStick
	maxIdle := maxIdlePerServer
	if n := sc.PoolMaxConn; n >= 0 {
		maxIdle = min(n, maxIdlePerServer)
	}
	s.idle.SetMax(maxIdle)
	return s
}

// unspecifiedHost tells whether dst (host:port, or the host alone when
// hostOnly) is 0.0.0.0 or ::.
func unspecifiedHost(dst string, hostOnly bool) bool {
	host := dst
	if !hostOnly {
		host, _, _ = net.SplitHostPort(dst)
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}

// transparentAddr is where a transparent server connects: the request's
// destination address, on the server's port or, when it has none
// (hostOnly), the destination's port.
func transparentAddr(dst string, hostOnly bool, to netip.AddrPort) string {
	port := strconv.Itoa(int(to.Port()))
	if !hostOnly {
		_, port, _ = net.SplitHostPort(dst)
	}
	return net.JoinHostPort(to.Addr().Unmap().String(), port)
}

// reaches tells whether sc, a connection to a transparent server, goes
// where a request headed to "to" must go.
func (sc *serverConn) reaches(to netip.AddrPort) bool {
	ta, ok := sc.c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return false
	}
	at := ta.AddrPort()
	return at.Addr().Unmap() == to.Addr().Unmap() && (!sc.srv.useDst || at.Port() == to.Port())
}

// maxIdlePerServer bounds the pool so a burst cannot pin file descriptors forever.
const maxIdlePerServer = 1024

// dialConn opens a new connection to s within timeout; dstPort is the port the
// client connected to, used when the server line has no port; from is the
// client side, for the PROXY header of a send-proxy server.
func (s *Server) dialConn(timeout time.Duration, dstPort int, from ppStream) (*serverConn, error) {
	addr := *s.dst.Load()
	if s.transparent.Load() && from != nil {
		addr = transparentAddr(addr, s.useDst, from.Dst())
	} else if s.useDst {
		if dstPort == 0 && from != nil {
			// A port-less server added at run time to a backend that
			// had none: the caller did not look the port up.
			if c, _ := from.ppClient(); c != nil {
				if la, ok := c.LocalAddr().(*net.TCPAddr); ok {
					dstPort = la.Port
				}
			}
		}
		addr = net.JoinHostPort(addr, strconv.Itoa(dstPort))
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	var c net.Conn
	var err error
	if ap, perr := netip.ParseAddrPort(addr); perr == nil && ap.Addr().Zone() == "" && s.dialer == nil && s.Conf.Namespace == "" && !s.Conf.Unix {
		// The common case, without net.Dialer (conn.DialTCP): a literal
		// address, no source, socket option or namespace to apply.
		c, err = conn.DialTCP(ap, time.Now().Add(timeout))
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		d := &dialer
		if s.dialer != nil {
			d = s.dialer
		}
		switch ns := s.Conf.Namespace; {
		case s.Conf.Unix:
			// Go's dialer connects without blocking and gives up at ctx's
			// deadline, as for TCP; the path is checked in the model (sun_path).
			c, err = d.DialContext(ctx, "unix", addr)
		case ns != "":
			c, err = netns.Dial(ctx, ns, d, addr)
		default:
			c, err = d.DialContext(ctx, "tcp", addr)
		}
		cancel()
	}
	if err != nil {
		if s.Conf.Unix {
			err = backend.ImmediateError{Err: err} // retried at once, as haproxy does
		}
		return nil, err
	}
	hc := c.(tcp.HalfCloser) // conn.DialTCP's socket, a *net.TCPConn or a *net.UnixConn
	if ka := s.backend.tcpKA; ka != nil && !s.Conf.Unix {
		conn.SetKeepAlive(hc, ka.Count, ka.Idle, ka.Intvl)
	}
	if s.Conf.SendProxy.Version > 0 && from != nil {
		if err := s.sendProxyHeader(hc, from, time.Now().Add(timeout)); err != nil {
			hc.Close()
			return nil, err
		}
	}
	var sc *serverConn
	if cfg := s.Conf.TLSConfig; cfg != nil {
		if sc, err = s.dialTLS(hc, clientConfig(s, cfg, from), timeout); err != nil {
			return nil, err
		}
	} else {
		sc = &serverConn{c: hc, srv: s, fd: conn.NewFD(hc, nil)}
	}
	if fb := s.backend.fcgi; fb != nil && s.Conf.Proto == "fcgi" {
		// FastCGI (fcgi.go): the pipeline's HTTP/1.1 exchange is carried
		// in FastCGI records, not counted as an HTTP/1 connection.
		var rw io.ReadWriter
		if sc.fd != nil {
			rw = sc.fd // raw descriptor I/O, as for HTTP/1 servers
		}
		fc := fcgi.NewConn(sc.c, rw, &fb.app)
		return &serverConn{c: fc, srv: s, fd: conn.NewFDOver(fc)}, nil
	}
	if b := s.backend; b.P.Mode == model.ModeHTTP && sc.fd != nil {
		b.Stats.H1Conns.Add(1)
		sc.fd.CountInto(&b.Stats.H1BytesIn, &b.Stats.H1BytesOut)
	}
	return sc, nil
}

// H1Open reports the backend's open HTTP/1 server connections and streams
// for the h1 module: the pooled idle connections plus those serving a
// request, and the requests being served.
func (b *Backend) H1Open() (conns, streams int64) {
	if b.P.Mode != model.ModeHTTP {
		return 0, 0
	}
	streams = int64(b.Cur())
	conns = streams
	for _, s := range b.ServerList() {
		conns += int64(s.idle.Len())
	}
	return conns, streams
}

var dialer = net.Dialer{KeepAlive: -1}
