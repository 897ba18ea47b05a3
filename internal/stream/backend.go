package stream

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dhproxy/internal/check"
	"dhproxy/internal/lb"
	"dhproxy/internal/model"
	"dhproxy/internal/sample"
	"dhproxy/internal/stick"
	"dhproxy/internal/tcp"
)

// Server is a server's runtime state: read lock-free on the request path.
type Server struct {
	Conf *model.Server
	Name string
	// dst is where connections go: host:port, or the host alone when the
	// client's port is used (useDst); "" while DNS has given no address.
	// Run-time DNS replaces it (resolvers.go).
	dst     atomic.Pointer[string]
	useDst  bool      // no port configured: connect to the port the client reached
	dns     *dnsState // run-time DNS state, nil unless the server follows DNS
	up      atomic.Bool
	cur     atomic.Int32 // requests/connections currently served
	backend *Backend
	// slot is s's position in its group of the backend's current server
	// set, as the algorithm knows it; written under backend.wmu.
	slot atomic.Int32
	// deleted: "del server" took s out of the backend (dynserver.go).
	deleted atomic.Bool
	// checksStarted: s's checks run (from the start, or since "enable
	// health|agent" for a server added at run time); stopChecks ends
	// those started at run time. Both under backend.wmu.
	checksStarted bool
	stopChecks    func()
	addedMaint    bool // "add server" put it in maintenance (AddedInMaint)

	nonStick bool // "non-stick": stick rules never store this server

	// maxconn and minconn after HAProxy's rules: minconn alone (or above
	// maxconn) becomes the maxconn; maxconn alone is a static limit.
	maxconn atomic.Int32 // the agent's "maxconn:N" changes it (SetMaxconn)
	minconn int

	// Weights, as HAProxy keeps them: iweight from the configuration,
	// uweight set at run time, eweight the effective one the algorithm
	// uses (uweight × lb.WeightScale, lowered during slow start).
	iweight  int
	uweight  atomic.Int32
	eweight  atomic.Int32
	upSince  atomic.Int64 // unix nanoseconds of the last DOWN→UP, 0: up since start
	starting atomic.Bool  // in slow start
	drain    atomic.Bool  // no new balanced traffic (SetDrain)
	queue    waitQueue    // requests waiting for a slot on this server
	health   serverHealth // agent maxconn, observe, shutdown-sessions (observe.go)

	mu      sync.Mutex // guards idle only
	idle    []*serverConn
	h2      h2Pool // HTTP/2 connections, shared by streams (h2srv.go)
	maxIdle int    // "pool-max-conn", at most maxIdlePerServer

	Stats      Counters
	admin      atomic.Uint32 // AdminMaint, AdminDrain set from the runtime API
	adminCtl   check.Admin   // the check state machine's, when the server is checked
	check      atomic.Pointer[CheckState]
	lastChange atomic.Int64 // unix nanoseconds of the last state change
	downSince  atomic.Int64 // unix nanoseconds when it went DOWN, 0 while up
	downTotal  atomic.Int64 // nanoseconds spent DOWN before downSince
}

// Backend is a backend's runtime state.
type Backend struct {
	P *model.Proxy
	// Servers are the servers of the configuration, as the process
	// started; nothing changes them. The servers the balancer sees now
	// ("add server" and "del server" change them) are in set: read them
	// with ServerList.
	Servers []*Server
	set     atomic.Pointer[serverSet]
	dispSrv *Server        // "dispatch": takes every request, Servers none
	beconn  atomic.Int32   // requests/connections being served (%bc)
	useDst  bool           // a server connects to the port the client reached
	errors  errorSnapshots // its last invalid response ("show errors", errsnap.go)
	// bufferBody is "option http-buffer-request": the body is read before
	// the backend's http-request rules.
	bufferBody bool
	fullconn   int // "fullconn", or its default from the frontends' maxconn
	cookie     *persistCookie
	hash       lb.HashSpec  // Kind is lb.HashNone unless the balancing hashes a key
	hashExpr   *sample.Expr // "balance hash <expr>"
	queue      waitQueue    // requests waiting for any server (all were full)
	queued     atomic.Int32 // requests waiting in the backend's or its servers' queues
	Stats      Counters
	qseq       atomic.Uint64 // arrival order across the backend's and servers' queues
	wmu        sync.Mutex    // serializes weight changes (algorithm table rebuilds)
	stick      []stickRule   // stick on/match/store-request, in order
	name       []byte        // P.Name, for the be_name fetch

	// fifoQueue: a non-empty backend queue means every server is full, so
	// new requests join it instead of overtaking (HAProxy does this for
	// roundrobin, static-rr, leastconn and first).
	fifoQueue bool
}

// serverGroup is the active or the backup servers with their algorithm.
type serverGroup struct {
	idx  []int // indexes into the set's servers
	algo lb.Algorithm
}

// serverSet is the backend's servers at one moment: never modified once
// published, replaced whole (copy on write) when a server is added or
// deleted, so that the request path reads it with one atomic load.
type serverSet struct {
	all      []*Server
	act, bck serverGroup
}

// group returns the group of s in the set.
func (set *serverSet) group(s *Server) *serverGroup {
	if s.Conf.Backup {
		return &set.bck
	}
	return &set.act
}

// hashKey is a precomputed balancing hash for a request (ok false: none).
type hashKey struct {
	h  uint32
	ok bool
}

// serverConn is a connection to a server, pooled between requests.
type serverConn struct {
	c         tcp.HalfCloser // *net.TCPConn, or *tls.Conn towards an "ssl" server
	srv       *Server
	idleSince time.Time
	fd        *fdConn // raw reads and writes; c keeps deadlines and Close
	dl        deadlines
}

func newBackend(p *model.Proxy, cfg *model.Config, tables map[*model.Proxy]*stick.Table) *Backend {
	b := &Backend{P: p, fullconn: p.Fullconn, name: []byte(p.Name), bufferBody: p.Options["http-buffer-request"]}
	if b.fullconn == 0 {
		b.fullconn = defaultFullconn(cfg, p)
	}
	b.setStickRules(p.StickRules, tables)
	for _, sc := range p.Servers {
		s := b.newServer(sc)
		b.useDst = b.useDst || s.useDst // fixed once built: read per request
		if sc.Disabled {
			s.admin.Store(AdminConfigMaint)
			s.downSince.Store(s.lastChange.Load())
		}
		b.Servers = append(b.Servers, s)
	}
	if d := p.Dispatch; d != nil {
		s := &Server{Conf: d, backend: b, iweight: d.Weight, maxIdle: maxIdlePerServer}
		s.dst.Store(&d.Addr)
		s.up.Store(true)
		s.uweight.Store(int32(d.Weight))
		s.eweight.Store(int32(d.Weight * lb.WeightScale))
		s.lastChange.Store(time.Now().UnixNano())
		b.dispSrv = s
	}
	if p.Cookie != nil {
		b.cookie = newPersistCookie(p.Cookie, b.Servers)
	}
	if sp, ok := lb.ParseHashSpec(p.Balance.Algo, p.Balance.Args, p.HashType); ok {
		sp.BalanceFactor = p.HashBalanceFactor
		b.hash = sp
		if sp.Kind == lb.HashExpr {
			b.hashExpr = p.Balance.Expr
		}
	} else {
		b.fifoQueue = p.Balance.Algo != "random" && !strings.HasPrefix(p.Balance.Algo, "random(")
	}
	b.set.Store(b.newSet(b.Servers))
	return b
}

// newServer returns the runtime state of server sc of b, up unless
// "disabled", at its configured weight.
func (b *Backend) newServer(sc *model.Server) *Server {
	s := &Server{Conf: sc, Name: sc.Name, backend: b, iweight: sc.Weight}
	dst := sc.Addr
	if host, port, err := net.SplitHostPort(sc.Addr); err == nil && port == "0" && sc.SRV == "" {
		s.useDst, dst = true, host
	}
	s.dst.Store(&dst)
	s.maxconn.Store(int32(max(sc.Maxconn, sc.Minconn)))
	s.minconn = sc.Minconn
	if s.minconn == 0 {
		s.minconn = max(sc.Maxconn, sc.Minconn)
	}
	_, s.nonStick = sc.Options["non-stick"]
	s.maxIdle = maxIdlePerServer
	if n := sc.PoolMaxConn; n >= 0 {
		s.maxIdle = min(n, maxIdlePerServer)
	}
	s.up.Store(!sc.Disabled)
	s.lastChange.Store(time.Now().UnixNano())
	s.uweight.Store(int32(sc.Weight))
	s.eweight.Store(int32(sc.Weight * lb.WeightScale))
	return s
}

// newSet builds the server set of servers with fresh algorithm tables at
// the servers' current effective weights, and renumbers their slots. The
// caller holds b.wmu, or is building b.
func (b *Backend) newSet(servers []*Server) *serverSet {
	set := &serverSet{all: servers}
	var actW, bckW, actID, bckID []int
	for i, s := range servers {
		g, w, id := &set.act, &actW, &actID
		if s.Conf.Backup {
			g, w, id = &set.bck, &bckW, &bckID
		}
		s.slot.Store(int32(len(g.idx)))
		g.idx = append(g.idx, i)
		*w = append(*w, s.iweight)
		*id = append(*id, s.Conf.ID)
	}
	usable := func(g *serverGroup) lb.Usable {
		return func(i int) bool { return servers[g.idx[i]].usable() }
	}
	load := func(g *serverGroup) lb.Load {
		return func(i int) (int, bool) {
			s := servers[g.idx[i]]
			return int(s.cur.Load()), s.full()
		}
	}
	p := b.P
	if b.hash.Kind != lb.HashNone {
		set.act.algo = lb.NewHashed(b.hash, actW, actID, usable(&set.act), load(&set.act))
		set.bck.algo = lb.NewHashed(b.hash, bckW, bckID, usable(&set.bck), load(&set.bck))
	} else {
		set.act.algo = lb.New(p.Balance.Algo, actW, usable(&set.act), load(&set.act))
		set.bck.algo = lb.New(p.Balance.Algo, bckW, usable(&set.bck), load(&set.bck))
	}
	// Servers already running keep the weight they have now (slow start,
	// agent, "set weight") in the new tables.
	for _, s := range servers {
		if d, ok := set.group(s).algo.(lb.Dynamic); ok {
			if ew := int(s.eweight.Load()); ew != s.iweight*lb.WeightScale {
				d.SetWeight(int(s.slot.Load()), ew)
			}
		}
	}
	return set
}

// ServerList returns the backend's servers now, in configuration order
// followed by the servers added at run time. The slice must not be
// modified.
func (b *Backend) ServerList() []*Server { return b.set.Load().all }

// defaultFullconn is HAProxy's default "fullconn": 10% of the maxconn of
// the frontends that can reach the backend (a frontend without maxconn
// counting the global one, else HAProxy's default of 2000), at least 1.
func defaultFullconn(cfg *model.Config, be *model.Proxy) int {
	tot := 0
	for _, fe := range cfg.Proxies {
		if !fe.IsFrontend() {
			continue
		}
		reaches := fe.DefaultBE == be
		for _, u := range fe.UseBackends {
			reaches = reaches || u.Backend == be
		}
		if !reaches {
			continue
		}
		switch {
		case fe.Maxconn > 0:
			tot += fe.Maxconn
		case cfg.Global.Maxconn > 0:
			tot += cfg.Global.Maxconn
		default:
			tot += 2000
		}
	}
	return max((tot+9)/10, 1)
}

// usable tells whether s may take new traffic: up with a non-zero weight.
func (s *Server) usable() bool { return s.up.Load() && s.eweight.Load() > 0 }

// pick chooses a server, avoiding avoid when another one is usable. Backup
// servers are used only when no active server is usable; without
// "option allbackups" only the first usable backup takes traffic. full
// reports that servers are usable but all full: the request then waits in
// the backend's queue.
func (b *Backend) pick(avoid *Server, hk hashKey) (srv *Server, full bool) {
	if b.dispSrv != nil {
		return b.dispSrv, false
	}
	set := b.set.Load()
	g := &set.act
	if !set.anyUsable(g) {
		g = &set.bck
		if !set.anyUsable(g) {
			return nil, false
		}
		if !b.P.Options["allbackups"] {
			for _, i := range g.idx {
				if s := set.all[i]; s.usable() {
					return s, false
				}
			}
		}
	}
	if b.fifoQueue && b.queue.n.Load() > 0 {
		return nil, true
	}
	av := -1
	if avoid != nil && set.group(avoid) == g {
		// A slot renumbered by a concurrent add or del only makes the
		// preference miss once.
		av = int(avoid.slot.Load())
	}
	i := -1
	if ha, ok := g.algo.(lb.Hashed); ok && hk.ok {
		i = ha.PickHash(av, hk.h)
	} else {
		i = g.algo.Pick(av)
	}
	if i < 0 {
		return nil, true
	}
	return set.all[g.idx[i]], false
}

func (set *serverSet) anyUsable(g *serverGroup) bool {
	for _, i := range g.idx {
		if set.all[i].usable() {
			return true
		}
	}
	return false
}

// maxconnNow is HAProxy's srv_dynamic_maxconn: with "minconn" below
// "maxconn", the limit grows from minconn to maxconn as the backend's load
// (requests served and queued, HAProxy's beconn) grows to "fullconn";
// during slow start it ramps up from 1 with the time since the server came
// up. 0 means no limit.
func (s *Server) maxconnNow() int {
	limit := int(s.maxconn.Load())
	max := limit
	if max == 0 {
		return 0
	}
	b := s.backend
	if s.minconn < limit {
		if be := int(b.beconn.Load() + b.queued.Load()); be < b.fullconn {
			max = be * limit / b.fullconn
			if max < s.minconn {
				max = s.minconn
			}
		}
	}
	if s.starting.Load() {
		if el, ss := s.slowStartElapsed(); el < ss {
			max = max * int(100*el/ss) / 100
			if max < 1 {
				max = 1
			}
		}
	}
	return max
}

// slowStartElapsed returns the whole seconds since the server came up and
// the slow start period in whole seconds (rounded up), as HAProxy counts.
func (s *Server) slowStartElapsed() (elapsed, period int64) {
	period = int64((s.Conf.SlowStart + time.Second - 1) / time.Second)
	elapsed = (coarseNow.Load() - s.upSince.Load()) / int64(time.Second)
	return max(elapsed, 0), period
}

// SetMaxconn changes the server's connection limit at run time, as an
// agent's "maxconn:N" reply does (0: no limit).
func (s *Server) SetMaxconn(n int) {
	s.maxconn.Store(int32(max(n, 0)))
}

// Maxconn is s's connection limit now; 0: none.
func (s *Server) Maxconn() int { return int(s.maxconn.Load()) }

// full tells whether the balancer must pass s over: it has a maxconn and
// is at its current limit or already has requests waiting.
func (s *Server) full() bool {
	if s.maxconn.Load() == 0 {
		return false
	}
	return s.queue.n.Load() > 0 || int(s.cur.Load()) >= s.maxconnNow()
}

// tryTake takes a serving slot on s without waiting; ignoreQueue lets the
// queue dispatcher hand slots to waiters in order.
func (s *Server) tryTake(ignoreQueue bool) bool {
	if s.maxconn.Load() > 0 {
		if !ignoreQueue && s.queue.n.Load() > 0 {
			return false
		}
		max := int32(s.maxconnNow())
		for {
			c := s.cur.Load()
			if c >= max {
				return false
			}
			if s.cur.CompareAndSwap(c, c+1) {
				break
			}
		}
	} else {
		s.cur.Add(1)
	}
	s.Stats.session(s.cur.Load())
	b := s.backend
	b.Stats.session(b.beconn.Add(1))
	return true
}

func (s *Server) release() {
	s.cur.Add(-1)
	b := s.backend
	b.beconn.Add(-1)
	if s.queue.n.Load() > 0 || b.queue.n.Load() > 0 {
		b.dispatch(s)
	}
}

// takeIdle pops an idle pooled connection, or nil.
func (s *Server) takeIdle() *serverConn {
	s.mu.Lock()
	n := len(s.idle)
	if n == 0 {
		s.mu.Unlock()
		return nil
	}
	sc := s.idle[n-1]
	s.idle[n-1] = nil
	s.idle = s.idle[:n-1]
	s.mu.Unlock()
	return sc
}

// maxIdlePerServer bounds the pool so a burst cannot pin file descriptors forever.
const maxIdlePerServer = 1024

// putIdle returns a reusable connection to the pool.
func (s *Server) putIdle(sc *serverConn, now time.Time) {
	sc.idleSince = now
	s.mu.Lock()
	if len(s.idle) < s.maxIdle {
		s.idle = append(s.idle, sc)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	sc.c.Close()
}

// purgeIdle closes pooled connections idle for longer than maxAge, like
// HAProxy's pool-purge-delay.
func (s *Server) purgeIdle(now time.Time, maxAge time.Duration) {
	s.mu.Lock()
	keep := s.idle[:0]
	var old []*serverConn
	for _, sc := range s.idle {
		if now.Sub(sc.idleSince) > maxAge {
			old = append(old, sc)
		} else {
			keep = append(keep, sc)
		}
	}
	clear(s.idle[len(keep):])
	s.idle = keep
	s.mu.Unlock()
	for _, sc := range old {
		sc.c.Close()
	}
}

// dialConn opens a new connection to s within timeout; dstPort is the port the
// client connected to, used when the server line has no port; from is the
// client side, for the PROXY header of a send-proxy server.
func (s *Server) dialConn(timeout time.Duration, dstPort int, from ppStream) (*serverConn, error) {
	addr := *s.dst.Load()
	if s.useDst {
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
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	c, err := dialer.DialContext(ctx, "tcp", addr)
	cancel()
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	if s.Conf.SendProxy.Version > 0 && from != nil {
		if err := s.sendProxyHeader(tc, from, time.Now().Add(timeout)); err != nil {
			tc.Close()
			return nil, err
		}
	}
	var sc *serverConn
	if cfg := s.Conf.TLSConfig; cfg != nil {
		if sc, err = s.dialTLS(tc, clientConfig(s, cfg, from), timeout); err != nil {
			return nil, err
		}
	} else {
		sc = &serverConn{c: tc, srv: s, fd: newFDConn(tc, nil)}
	}
	if b := s.backend; b.P.Mode == model.ModeHTTP && sc.fd != nil {
		b.Stats.H1Conns.Add(1)
		sc.fd.h1 = &b.Stats
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
	streams = int64(b.beconn.Load())
	conns = streams
	for _, s := range b.ServerList() {
		s.mu.Lock()
		conns += int64(len(s.idle))
		s.mu.Unlock()
	}
	return conns, streams
}

var dialer = net.Dialer{KeepAlive: -1}

// isTimeout tells whether err is a deadline or dial timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
