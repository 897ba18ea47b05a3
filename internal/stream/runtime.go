// Package stream runs the proxies of a built configuration: it accepts
// client connections, and for each one forwards requests (mode http) or
// bytes (mode tcp) to the servers of the chosen backend.
package stream

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"dhproxy/internal/backend"
	"dhproxy/internal/conn"
	"dhproxy/internal/listener"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
	"dhproxy/internal/stick"
	"dhproxy/internal/tcp"
	"dhproxy/internal/tlsconf"
	"dhproxy/internal/txn"
)

// Runtime is a running configuration.
type Runtime struct {
	cfg       *model.Config
	frontends []*Frontend
	backends  map[string]*Backend
	listeners []net.Listener
	bufs      conn.BufPool
	// rbufs: server-side buffers, respBufExtra bytes larger so that a
	// response of tune.bufsize bytes of body and its head come in one
	// read and go out in one write; limits still count tune.bufsize.
	rbufs     conn.BufPool
	headMax   int // a request head must fit in tune.bufsize - tune.maxrewrite
	maxHdrs   int // header fields allowed in a head (tune.http.maxhdr minus the start line)
	compLevel int // tune.comp.maxlevel
	done      chan struct{}
	wg        sync.WaitGroup           // accept loops
	conns     sync.WaitGroup           // client sessions
	jobs      chan job                 // accepted connections handed to idle workers
	stopCheck func()                   // ends the health checks
	events    *logging.Logger          // the global section's targets (health events go to their backend's: checks.go)
	alertLogs []*logging.Logger        // the backends' own, for checkcache alerts (checkcache.go)
	actconn   atomic.Int32             // client connections being served (%ac)
	connRate  rateCounter              // connections accepted per second (show info ConnRate)
	logBufs   sync.Pool                // *[]byte lines being formatted
	parker    *conn.Parker[parkedConn] // idle keep-alive connections without goroutines; nil if unavailable
	pipes     *tcp.Pipes               // mode tcp's splice pipes ("maxpipes")
	idleWork  atomic.Int32             // workers waiting for a job
	// workerTakes counts the jobs idle workers took (quit jobs included).
	workerTakes atomic.Int64
	exited      atomic.Int64 // workers ended since the trimmer last looked
	// starting counts the accepted connections not yet under way: an
	// HTTP/1 one until its session first waits for the client's next
	// request (after the first answer), others until their handshake and
	// rules are done; or until they end (letSessionsRun).
	starting atomic.Int32

	tables    map[*model.Proxy]*stick.Table
	service   atomic.Pointer[Service] // the stats page and the Prometheus exporter (service.go)
	stopping  atomic.Bool             // soft stop: no more keep-alive (softstop.go)
	stopped   atomic.Bool             // soft stop begun: no new connections
	resolvers []*resolverRun          // one per resolvers section (resolvers.go)
	pause     pauseState              // SIGTTOU/SIGTTIN (pause.go)

	// Changed by the runtime API.
	limit         conn.Limit    // global maxconn (acceptgate.go)
	connRateLimit atomic.Int64  // "set rate-limit connections global"; 0: none
	sessRateLimit atomic.Int64  // "set rate-limit sessions global"; 0: none
	live          liveTable     // client connections, for "show sess" (livesess.go)
	errorEvents   atomic.Uint64 // invalid requests and responses ("show errors", errsnap.go)
	stopOnce      sync.Once
	stopH2        chan struct{} // closed at soft stop: HTTP/2 connections send GOAWAY (h2.go)

	// headerCases is the global h1-case-adjust table (casefix.go).
	headerCases headerCases
}

// Frontend is a frontend's runtime state.
type Frontend struct {
	P        *model.Proxy
	rt       *Runtime
	backend  *Backend // default_backend, its own servers for listen, or the first use_backend
	logger   *logging.Logger
	logFmt   logFormat
	logASAP  bool         // "option logasap": a line goes when the response head comes
	logCount atomic.Int64 // lines logged, for log-format's %lc
	feconn   atomic.Int32 // client connections of this frontend (%fc)
	Stats    Counters

	servicePaths [][]byte // path prefixes answered by rt.service

	name        []byte           // P.Name, for the fe_name fetch
	useBackends []useBackendRule // nil when the backend is always fe.backend
	phases      txn.Frontend     // what the request phases know of it (rules, body buffering, unique-id-header)
	// respWaits: a response rule may wait for more of the response
	// (tcp-response content rules, http-response wait-for-body).
	respWaits bool

	// Changed by the runtime API (acceptgate.go).
	limit   conn.Limit          // maxconn
	paused  atomic.Bool         // "disable frontend"
	sockets []conn.ListenSocket // its listening sockets, for "disable frontend"
	errors  errorSnapshots      // its last invalid request ("show errors", errsnap.go)

	listeners []*Listener // "option socket-stats": per-socket statistics (listenstats.go)
	binds     []*bindRef  // its sockets, in bind order
	// tcpKA: its clients' sockets send TCP keepalive probes so tuned
	// ("option tcpka" or "clitcpka"); nil: they do not.
	tcpKA *model.TCPKeepAlive
}

// setRules prepares the use_backend rules and tells whether requests of
// this frontend need the rule engine. A first rule without condition
// always wins, so it just becomes the frontend's backend.
func (fe *Frontend) setRules(rt *Runtime) {
	p := fe.P
	fe.phases.P = p
	fe.phases.BufferBody = p.Options["http-buffer-request"]
	for _, u := range p.UseBackends {
		r := useBackendRule{cond: u.Cond, dyn: u.Dynamic}
		if u.Backend != nil {
			r.be = rt.backends[u.Backend.Name]
		}
		if len(fe.useBackends) == 0 && r.cond == nil && r.dyn == nil {
			fe.backend = r.be
			break
		}
		fe.useBackends = append(fe.useBackends, r)
	}
	if p.Mode != model.ModeHTTP {
		return
	}
	fe.phases.Rules = txn.HasRequestRules(p) || len(p.HTTPResponseRules) > 0 || len(p.HTTPAfterResponseRules) > 0 || fe.useBackends != nil
	fe.respWaits = waitsForBody(p.HTTPResponseRules)
	for _, b := range rt.backends {
		if txn.HasRequestRules(b.P) || len(b.P.HTTPResponseRules) > 0 || len(b.P.HTTPAfterResponseRules) > 0 || len(b.P.TCPResponse.Content) > 0 {
			fe.phases.Rules = true
		}
		if len(b.P.TCPResponse.Content) > 0 || waitsForBody(b.P.HTTPResponseRules) {
			fe.respWaits = true
		}
	}
}

// waitsForBody reports whether an http-response rule list has a
// wait-for-body rule.
func waitsForBody(rs []*rules.Rule) bool {
	for _, r := range rs {
		if r.Action == rules.WaitForBody {
			return true
		}
	}
	return false
}

// New prepares the runtime for cfg and opens every listening socket; errors
// name the bind line. Nothing is served until Serve.
func New(cfg *model.Config) (*Runtime, error) {
	conn.StartClock()
	states := backend.ReadServerStates(cfg)
	unresolved, err := backend.ResolveServers(cfg, states)
	if err != nil {
		return nil, err
	}
	for s := range unresolved {
		if s.ResolversRef != nil {
			continue // DNS gives it one at run time (resolvers.go)
		}
		// "init-addr none": no address, so no traffic and no checks until
		// one is given, like a server in maintenance.
		s.Disabled = true
		log.Printf("[WARNING] server '%s' (%s) has no address (init-addr none): it starts in maintenance", s.Name, s.Pos)
	}
	rt := &Runtime{cfg: cfg, backends: map[string]*Backend{}, done: make(chan struct{}), jobs: make(chan job), stopH2: make(chan struct{})}
	rt.logBufs.New = func() any { b := make([]byte, 0, 512); return &b }
	if len(cfg.Global.Logs) > 0 {
		l, err := logging.New(cfg.Global.Logs, cfg.Global.Logs, cfg.Global.LogTag, logHostname(&cfg.Global))
		if err != nil {
			return nil, err
		}
		rt.events = l
	}
	rt.bufs.Size = cfg.Global.BufSize
	rt.rbufs.Size = cfg.Global.BufSize + respBufExtra
	rt.headMax = cfg.Global.BufSize - cfg.Global.MaxRewrite
	rt.headerCases = newHeaderCases(cfg.Global.H1CaseAdjust)
	rt.maxHdrs = cfg.Global.MaxHdr - 1
	rt.compLevel = max(1, cfg.Global.CompMaxLevel) // haproxy's default is 1
	if p, err := newParker(rt); err == nil {
		rt.parker = p
	} else {
		log.Printf("[WARNING] idle keep-alive connections will each keep a goroutine: %v", err)
	}
	rt.pipes = tcp.NewPipes(pipeBudget(cfg, fdLimit()))
	rt.limit.Init(cfg.Global.Maxconn)
	rt.SetRateLimits(cfg.Global.MaxConnRate, cfg.Global.MaxSessRate) // "set rate-limit" changes them
	rt.tables = newStickTables(cfg)
	for _, p := range cfg.Proxies {
		if p.IsBackend() && !p.Disabled {
			rt.backends[p.Name] = newBackend(p, cfg, rt.tables)
		}
	}
	rt.setupResolvers()
	var errs []error
	var accepts []acceptor // started last
	for _, p := range cfg.Proxies {
		if !p.IsFrontend() || p.Disabled {
			continue
		}
		fe := &Frontend{P: p, rt: rt, name: []byte(p.Name)}
		if p.ClientKeepAlive() {
			fe.tcpKA = &p.CliTCPKA
		}
		if p.DefaultBE != nil {
			fe.backend = rt.backends[p.DefaultBE.Name]
		}
		fe.setRules(rt)
		fe.limit.Init(p.Maxconn)
		if len(p.Logs) > 0 {
			l, err := logging.New(cfg.Global.Logs, p.Logs, p.SyslogTag(&cfg.Global), logHostname(&cfg.Global))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			fe.logger = l
		}
		fe.logFmt = frontendLogFormat(p, fe.logger)
		fe.logASAP = p.Options["logasap"]
		if p.UniqueIDFormat != nil && p.UniqueIDHeader != "" {
			fe.phases.UIDHeader = []byte(p.UniqueIDHeader)
		}
		fe.servicePaths = servicePaths(p, fe.backend)
		rt.frontends = append(rt.frontends, fe)
		for _, b := range p.Binds {
			backlog := listener.Backlog(b, p, &cfg.Global)
			l, err := listener.Open(b, backlog)
			if err != nil {
				errs = append(errs, fmt.Errorf("Starting %s %s: %w", frontendWord(p), p.Name, err))
				continue
			}
			smart := smartAccept(p, b)
			if smart {
				conn.DelayAcks(l)
			}
			plain := l
			// TLS binds too: a parked TLS connection then leaves Go's
			// poller (its descriptor record and os.File) as a plain one does.
			if p.Mode == model.ModeHTTP {
				l = conn.NewLazyListener(l)
			}
			fe.addSocket(plain, l, backlog)
			ln := newListener(p, b, l.Addr().String())
			if ln != nil {
				fe.listeners = append(fe.listeners, ln)
			}
			rt.listeners = append(rt.listeners, l)
			ref := &bindRef{name: bindLogName(p, b), tls: b.TLSConfig, acceptProxy: b.AcceptProxy, h2: b.H2 && p.Mode == model.ModeHTTP, ln: ln,
				id: b.ID, sockName: b.Name, idx: uint32(len(fe.binds)), smartAccept: smart,
				// haproxy's implicit upgrade of a cleartext HTTP/1 bind
				h2Upgrade: p.Mode == model.ModeHTTP && b.TLS == nil && b.Options["proto"] == "" && !p.Options["disable-h2-upgrade"]}
			fe.binds = append(fe.binds, ref)
			if b.TLS != nil {
				ref.clientCheck = b.TLS.ClientAuth.Verifier
			}
			accepts = append(accepts, acceptor{fe, l, ref})
		}
	}
	if len(errs) == 0 {
		errs = rt.openAlertLogs()
	}
	if len(errs) == 0 {
		errs = rt.openFcgiLogs()
	}
	if len(errs) > 0 {
		rt.Close()
		return nil, errors.Join(errs...)
	}
	go rt.purgeLoop()
	rt.restoreTemplates(states)
	rt.startResolvers()
	rt.stopCheck = sync.OnceFunc(rt.startChecks()) // at a soft stop, then at Close
	rt.applyServerStates(states)
	// Sessions start once the checks have set up the servers they read.
	for _, a := range accepts {
		rt.wg.Add(1)
		go rt.acceptLoop(a.fe, a.l, a.bind)
	}
	return rt, nil
}

// smartAccept tells whether b's socket delays the ACK of a new
// connection's first data, as HAProxy's "option tcp-smart-accept" does: on
// by default in mode http and on ssl binds.
func smartAccept(p *model.Proxy, b *model.Bind) bool {
	if on, set := p.Options["tcp-smart-accept"]; set {
		return on
	}
	return p.Mode == model.ModeHTTP || b.TLS != nil
}

// logHostname resolves "log-send-hostname" without an argument.
func logHostname(g *model.Global) string {
	if g.LogHostname == "\x00" {
		h, _ := os.Hostname()
		return h
	}
	return g.LogHostname
}

func frontendWord(p *model.Proxy) string {
	if p.IsBackend() {
		return "proxy"
	}
	return "frontend"
}

// acceptor is a listener and the frontend it serves.
type acceptor struct {
	fe   *Frontend
	l    net.Listener
	bind *bindRef
}

// bindRef is what a new connection needs of its bind line.
type bindRef struct {
	name        string      // in connection error logs
	tls         *tls.Config // "ssl": the TLS layer goes over the socket (after a PROXY header)
	acceptProxy bool
	h2          bool                    // "proto h2": clients speak HTTP/2 from the start
	h2Upgrade   bool                    // a client's HTTP/2 preface turns the connection to HTTP/2
	clientCheck *tlsconf.ClientVerifier // ca-file/verify: the client certificate checks
	ln          *Listener               // its statistics; nil without "option socket-stats"
	id          int                     // so_id: the bind's "id" or its automatic one
	sockName    string                  // so_name: the bind's "name"
	idx         uint32                  // its place in Frontend.binds (a parked connection keeps it)
	// smartAccept: its socket delays ACKs (option tcp-smart-accept), so a
	// session expecting more of a request turns quick ACKs back on.
	smartAccept bool
	conns       atomic.Int32 // dst_conn: its connections, from accept to close
}

// acceptLoop accepts connections while the global and frontend maxconn
// allow; when full it stops accepting, leaving clients in the kernel's
// backlog as HAProxy does.
func (rt *Runtime) acceptLoop(fe *Frontend, l net.Listener, bind *bindRef) {
	defer rt.wg.Done()
	accepted := 0
	runnable := [1]metrics.Sample{{Name: "/sched/goroutines/runnable:goroutines"}}
	for {
		if !rt.admit(fe) {
			return
		}
		c, err := l.Accept()
		if err != nil {
			rt.releaseGlobal()
			fe.release()
			select {
			case <-rt.done:
				return
			default:
			}
			if fe.paused.Load() {
				continue // "disable frontend" stopped the socket listening
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if rt.waitResume() {
				continue // paused by SIGTTOU
			}
			// EMFILE and friends: back off instead of spinning.
			log.Printf("[WARNING] accept on %s: %v", l.Addr(), err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		rt.conns.Add(1)
		bind.conns.Add(1) // dst_conn counts it from now on, as haproxy's listener does
		rt.starting.Add(1)
		rt.dispatch(job{fe: fe, c: c, bind: bind})
		// A burst of clients would otherwise all be accepted before the
		// first ones are served, each holding a goroutine and buffers
		// (the runtime keeps goroutine records for good): let the
		// sessions run between batches, as HAProxy's tune.maxaccept does.
		if accepted++; accepted%acceptBatch == 0 {
			rt.letSessionsRun(&runnable)
		}
	}
}

// acceptBatch is how many connections an accept loop takes before it lets
// the sessions it started run.
const acceptBatch = 16

// While more than maxStarting connections it accepted have not had their
// first answer, an accept loop pauses between batches for minPauses times
// startPause, then again while goroutines wait for the CPU (startPauses
// pauses at most), instead of only yielding. A yield put it back on the
// run queue ahead of the sessions it had started and of those whose
// server had answered (which Go's poller reports only once nothing is
// runnable, or every 10 ms), so in a burst of clients it accepted faster
// than sessions ended: 1200-1500 at once in bench/idle.py, each with its
// buffers (35 MB), much of which the runtime keeps (GC metadata, span
// records, fragmented spans). It pauses no longer once nothing is
// runnable: the sessions then wait for their servers or clients, and
// waiting longer would only bound the accept rate (with 400 clients of a
// 10 ms server, pausing until the count fell halved the requests served)
// or let clients that send nothing stop accepting.
const (
	maxStarting = 64
	startPause  = 100 * time.Microsecond
	minPauses   = 2
	startPauses = 10
)

// letSessionsRun is an accept loop's pause between batches; runnable is
// its sample of the runtime's count of runnable goroutines.
func (rt *Runtime) letSessionsRun(runnable *[1]metrics.Sample) {
	if rt.starting.Load() <= maxStarting {
		runtime.Gosched()
		return
	}
	for i := 1; i <= startPauses; i++ {
		time.Sleep(startPause)
		if rt.starting.Load() <= maxStarting {
			return
		}
		if i < minPauses {
			continue
		}
		metrics.Read(runnable[:])
		if v := runnable[0].Value; v.Kind() != metrics.KindUint64 || v.Uint64() == 0 {
			return
		}
	}
}

// dispatch gives a job to an idle worker, or to a new one.
func (rt *Runtime) dispatch(j job) {
	select {
	case rt.jobs <- j:
	default:
		go rt.worker(j)
	}
}

// job is an accepted connection waiting for a worker, or a parked session
// to resume.
type job struct {
	fe     *Frontend
	c      net.Conn
	resume *parkedConn
	bind   *bindRef
}

// socket is the bind that accepted the job's connection (nil if unknown).
func (j *job) socket() *bindRef {
	if pc := j.resume; pc != nil {
		if int(pc.bind) < len(pc.fe.binds) {
			return pc.fe.binds[pc.bind]
		}
		return nil
	}
	return j.bind
}

// An idle worker ends once it has waited a whole tick of the purge loop
// (conn.TrimEvery, 250-500 ms in all). Under load a worker finds its next
// job far sooner; after a burst, the stacks of the workers it needed (8-16
// KiB each) and their session objects go back with the trim that follows
// (before bench/idle.py reads memory, one second on). The purge loop tells
// them to go (a quit job) rather than each worker arming a timer and
// selecting on it: that was 3 % of the proxy's CPU with one connection per
// request (scripts/pair-cost.sh close).

// worker serves connections one after the other. Reusing goroutines keeps
// their grown stacks and their session objects: a fresh goroutine per
// connection paid stack growth and allocations on every accept.
func (rt *Runtime) worker(j job) {
	var hs *httpSession
	defer func() {
		rt.exited.Add(1) // its stack is free memory the trimmer can give back
		if hs != nil && rt.parker != nil {
			rt.parker.Drop(hs.idle)
		}
	}()
	for {
		rt.serveOne(j, &hs)
		if rt.idleWork.Add(1) > maxIdleWorkers {
			rt.idleWork.Add(-1)
			return
		}
		// After Close, retireWorkers may be done already: no wait then.
		select {
		case <-rt.done:
			rt.idleWork.Add(-1)
			return
		default:
		}
		j = <-rt.jobs
		rt.idleWork.Add(-1)
		rt.workerTakes.Add(1)
		if j.c == nil && j.resume == nil {
			return // a quit job
		}
	}
}

// retireIdleWorkers ends the workers that have been idle since its last
// call, whose idle count and taken count it is given; it returns what it
// sees now for the next call. The channel hands jobs to the workers that
// have waited longest first, so of the workers idle then, as many as have
// taken no job since are the first ones waiting.
func (rt *Runtime) retireIdleWorkers(idle, taken int64) (int64, int64) {
retire:
	for n := idle - (rt.workerTakes.Load() - taken); n > 0; n-- {
		select {
		case rt.jobs <- job{}:
		default:
			break retire
		}
	}
	return int64(rt.idleWork.Load()), rt.workerTakes.Load()
}

// quitIdleWorkers ends the workers waiting for a job once Close has
// closed done (a worker that finds done closed does not wait); it gives
// up after a second.
func (rt *Runtime) quitIdleWorkers() {
	for range 1000 {
		if rt.idleWork.Load() <= 0 {
			return
		}
		select {
		case rt.jobs <- job{}:
		default:
			time.Sleep(time.Millisecond)
		}
	}
}

func (rt *Runtime) serveOne(j job, hs **httpSession) {
	fe, c := j.fe, j.c
	parked := false
	starting := j.resume == nil // counted in rt.starting until the session is under way
	h1 := j.resume != nil       // a parked connection is an HTTP/1 one
	socket := j.socket()
	defer func() {
		if r := recover(); r != nil {
			log.Printf("[ALERT] %s '%s': session panic: %v\n%s", frontendWord(fe.P), fe.P.Name, r, debug.Stack())
			c.Close()
			// Its state is unknown: the worker does not keep it.
			if lost := *hs; lost != nil {
				lost.started()
				rt.live.remove(&lost.listed)
				if rt.parker != nil {
					rt.parker.Drop(lost.idle)
				}
			}
			*hs = nil
			parked = false
		}
		if starting {
			rt.starting.Add(-1)
		}
		if parked {
			return // the connection lives on, without a goroutine
		}
		if h1 {
			fe.Stats.H1OpenConns.Add(-1)
		}
		rt.actconn.Add(-1)
		fe.feconn.Add(-1)
		if socket != nil {
			socket.conns.Add(-1)
		}
		fe.release()
		rt.releaseGlobal()
		rt.conns.Done()
	}()
	var sc trackers // tcp-request connection/session track-sc*
	reject, sessionRule, failed := false, false, false
	if j.resume == nil {
		if ka := fe.tcpKA; ka != nil {
			conn.SetKeepAlive(c, ka.Count, ka.Idle, ka.Intvl)
		} else if tc, ok := c.(*net.TCPConn); ok {
			// Go's accept turned probes on (mode tcp and h2 binds, whose
			// listeners are Go's): HAProxy sends none without tcpka.
			tc.SetKeepAlive(false)
		}
		reject, sessionRule, failed = fe.startConn(&c, j.bind, &sc)
	}
	if j.resume == nil {
		rt.connRate.add(conn.CoarseNow() / int64(time.Millisecond))
	}
	switch {
	case j.resume != nil:
		parked = rt.resume(j.resume, c, hs)
	case reject:
		// No session was created: counted as a denied connection only.
		sc.stop()
		rt.actconn.Add(1) // both balanced by the deferred release
		fe.feconn.Add(1)
		if sessionRule {
			fe.Stats.Dses.Add(1)
		} else {
			fe.Stats.Dcon.Add(1)
		}
		conn.ResetClose(c)
	case failed:
		// No session either: the PROXY header was missing or bad (logged).
		sc.stop()
		rt.actconn.Add(1)
		fe.feconn.Add(1)
	case !fe.tlsHandshake(c, j.bind.name):
		// No session either: the handshake failed (logged).
		sc.stop()
		rt.actconn.Add(1)
		fe.feconn.Add(1)
	case fe.P.Mode == model.ModeHTTP && (j.bind.h2 || negotiatedH2(c)):
		rt.actconn.Add(1)
		fe.Stats.session(fe.feconn.Add(1))
		starting = false
		rt.starting.Add(-1)
		serveH2(fe, c, &sc, j.bind)
	case fe.P.Mode == model.ModeHTTP:
		rt.actconn.Add(1)
		fe.Stats.session(fe.feconn.Add(1))
		h1 = true
		fe.Stats.H1Conns.Add(1)
		fe.Stats.H1OpenConns.Add(1)
		starting = false // the session's count now (httpSession.started)
		parked = serveHTTP(fe, c, hs, &sc, j.bind)
	default:
		rt.actconn.Add(1)
		fe.Stats.session(fe.feconn.Add(1))
		starting = false
		rt.starting.Add(-1)
		serveTCP(fe, c, &sc, j.bind)
		sc.stop()
	}
}

// startConn runs what precedes a session on a new connection, in
// HAProxy's order: the tcp-request connection rules (on the socket's
// addresses), the PROXY header (accept-proxy or an expect-proxy rule), the
// tcp-request session rules (on the header's addresses), then the TLS
// layer of an "ssl" bind. *c becomes the connection the session uses.
// failed: the PROXY header was missing or bad; c is closed then.
func (fe *Frontend) startConn(c *net.Conn, b *bindRef, sc *trackers) (reject, sessionRule, failed bool) {
	p := fe.P
	expect := b.acceptProxy
	if len(p.TCPRequest.Connection) > 0 {
		var e bool
		if reject, e = fe.connectionRules(c, b, sc); reject {
			return true, false, false
		}
		expect = expect || e
	}
	if expect {
		pc, ok := fe.acceptProxy(*c, b.name)
		if !ok {
			return false, false, true
		}
		*c = pc
	}
	if len(p.TCPRequest.Session) > 0 && fe.sessionRules(c, b, sc) {
		return true, true, false
	}
	if len(p.TCPRequest.Connection)+len(p.TCPRequest.Session) > 0 {
		sc.countSession()
	}
	if b.tls != nil {
		*c = tls.Server(conn.NewTLSTransport(*c), b.tls)
	}
	return false, false, false
}

// resume continues a parked connection, c, with this worker's session
// object.
func (rt *Runtime) resume(pc *parkedConn, c net.Conn, hs **httpSession) (parked bool) {
	s := workerSession(rt, hs)
	s.restore(pc, c)
	return s.serve()
}

func (fe *Frontend) release() { fe.limit.Release() }

func (rt *Runtime) releaseGlobal() { rt.limit.Release() }

// poolPurgeDelay is HAProxy's default pool-purge-delay.
const poolPurgeDelay = 5 * time.Second

func (rt *Runtime) purgeLoop() {
	t := time.NewTicker(conn.TrimEvery)
	defer t.Stop()
	trim := conn.NewTrimmer()
	var lastPurge time.Time
	served := rt.served()
	var idleWorkers, workerTakes int64
	for {
		select {
		case <-rt.done:
			rt.quitIdleWorkers()
			return
		case now := <-t.C:
			idleWorkers, workerTakes = rt.retireIdleWorkers(idleWorkers, workerTakes)
			// Connections and requests served tell that the proxy is not
			// quiet (busy keep-alive clients start no job and allocate
			// nothing).
			was := served
			served = rt.served()
			if !rt.cfg.Global.NoMemoryTrimming {
				trim.Tick(uint64(rt.exited.Swap(0))*8<<10, int(served-was))
			}
			if now.Sub(lastPurge) < time.Second {
				continue
			}
			lastPurge = now
			for _, b := range rt.backends {
				for _, s := range b.ServerList() {
					s.idle.Purge(now, poolPurgeDelay)
				}
			}
			for _, t := range rt.tables {
				t.Expire(now)
			}
		}
	}
}

// served is the connections accepted and requests received so far.
func (rt *Runtime) served() int64 {
	var n int64
	for _, fe := range rt.frontends {
		n += fe.Stats.Stot.Load() + fe.Stats.ReqTot.Load()
	}
	return n
}

// Close stops accepting; sessions in flight continue (soft stop). Wait
// returns when they are all finished.
func (rt *Runtime) Close() {
	select {
	case <-rt.done:
		return
	default:
	}
	close(rt.done)
	rt.stopAllChecks() // a stopping proxy checks no more, as HAProxy
	for _, l := range rt.listeners {
		l.Close()
	}
	rt.wg.Wait()
	if rt.parker != nil {
		rt.parker.Close()
	}
	// Sessions still running copy instead of splicing from now on.
	rt.pipes.Close()
}

// pipeBudget sizes the pipe pool: "maxpipes" or its default, but no more
// than the descriptors that the limit leaves beside what maxconn needs
// (dhproxy splices mode tcp where haproxy needs "option splice-auto", so
// the limit may not have room for the default pool). A maxconn derived
// from the limit takes nearly all of it: the default pool is kept then,
// pipes being taken only while a session splices.
func pipeBudget(cfg *model.Config, limit int) int {
	pipes := cfg.MaxPipes(limit)
	if cfg.Global.MaxPipes > 0 || cfg.Global.Maxconn == 0 || cfg.Global.MaxconnImplicit {
		return pipes
	}
	return max(0, min(pipes, (limit-cfg.MaxSock(0))/2))
}

// fdLimit is the process's current open files limit.
func fdLimit() int {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil || l.Cur > 1<<30 {
		return 1 << 20
	}
	return int(l.Cur)
}

// CloseLogs flushes and stops the log writers, once sessions are over.
func (rt *Runtime) CloseLogs() {
	for _, fe := range rt.frontends {
		fe.logger.Close()
	}
	for _, l := range rt.alertLogs {
		l.Close()
	}
	rt.events.Close()
}

// Wait blocks until every client session has ended.
func (rt *Runtime) Wait() { rt.conns.Wait() }
