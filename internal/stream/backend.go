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
	group   *serverGroup // active or backup servers
	idx     int          // position in group, as the algorithm knows it

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

	mu   sync.Mutex // guards idle only
	idle []*serverConn

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
	P        *model.Proxy
	Servers  []*Server
	dispSrv  *Server // "dispatch": takes every request, Servers none
	act, bck serverGroup
	active   []int // act.idx and bck.idx, under the names the checks use
	backup   []int
	beconn   atomic.Int32   // requests/connections being served (%bc)
	useDst   bool           // a server connects to the port the client reached
	errors   errorSnapshots // its last invalid response ("show errors", errsnap.go)
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
	idx  []int // indexes into Backend.Servers
	algo lb.Algorithm
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
	var actW, bckW, actID, bckID []int
	for _, sc := range p.Servers {
		s := &Server{Conf: sc, Name: sc.Name, backend: b, iweight: sc.Weight}
		dst := sc.Addr
		if host, port, err := net.SplitHostPort(sc.Addr); err == nil && port == "0" && sc.SRV == "" {
			s.useDst, dst = true, host
			b.useDst = true
		}
		s.dst.Store(&dst)
		s.maxconn.Store(int32(max(sc.Maxconn, sc.Minconn)))
		s.minconn = sc.Minconn
		if s.minconn == 0 {
			s.minconn = max(sc.Maxconn, sc.Minconn)
		}
		_, s.nonStick = sc.Options["non-stick"]
		s.up.Store(!sc.Disabled)
		if sc.Disabled {
			s.admin.Store(AdminConfigMaint)
			s.downSince.Store(s.lastChange.Load())
		}
		s.lastChange.Store(time.Now().UnixNano())
		s.uweight.Store(int32(sc.Weight))
		s.eweight.Store(int32(sc.Weight * lb.WeightScale))
		b.Servers = append(b.Servers, s)
		g, w, id := &b.act, &actW, &actID
		if sc.Backup {
			g, w, id = &b.bck, &bckW, &bckID
		}
		s.group, s.idx = g, len(g.idx)
		g.idx = append(g.idx, len(b.Servers)-1)
		*w = append(*w, sc.Weight)
		*id = append(*id, sc.ID)
	}
	b.active, b.backup = b.act.idx, b.bck.idx
	if d := p.Dispatch; d != nil {
		s := &Server{Conf: d, backend: b, iweight: d.Weight}
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
	usable := func(g *serverGroup) lb.Usable {
		return func(i int) bool { return b.Servers[g.idx[i]].usable() }
	}
	load := func(g *serverGroup) lb.Load {
		return func(i int) (int, bool) {
			s := b.Servers[g.idx[i]]
			return int(s.cur.Load()), s.full()
		}
	}
	if sp, ok := lb.ParseHashSpec(p.Balance.Algo, p.Balance.Args, p.HashType); ok {
		sp.BalanceFactor = p.HashBalanceFactor
		b.hash = sp
		if sp.Kind == lb.HashExpr {
			b.hashExpr = p.Balance.Expr
		}
		b.act.algo = lb.NewHashed(sp, actW, actID, usable(&b.act), load(&b.act))
		b.bck.algo = lb.NewHashed(sp, bckW, bckID, usable(&b.bck), load(&b.bck))
	} else {
		b.act.algo = lb.New(p.Balance.Algo, actW, usable(&b.act), load(&b.act))
		b.bck.algo = lb.New(p.Balance.Algo, bckW, usable(&b.bck), load(&b.bck))
		b.fifoQueue = p.Balance.Algo != "random" && !strings.HasPrefix(p.Balance.Algo, "random(")
	}
	return b
}

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
	g := &b.act
	if !b.anyUsable(g) {
		g = &b.bck
		if !b.anyUsable(g) {
			return nil, false
		}
		if !b.P.Options["allbackups"] {
			for _, i := range g.idx {
				if s := b.Servers[i]; s.usable() {
					return s, false
				}
			}
		}
	}
	if b.fifoQueue && b.queue.n.Load() > 0 {
		return nil, true
	}
	av := -1
	if avoid != nil && avoid.group == g {
		av = avoid.idx
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
	return b.Servers[g.idx[i]], false
}

func (b *Backend) anyUsable(g *serverGroup) bool {
	for _, i := range g.idx {
		if b.Servers[i].usable() {
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
	if len(s.idle) < maxIdlePerServer {
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

// dial opens a new connection to s within timeout; dstPort is the port the
// client connected to, used when the server line has no port; from is the
// client side, for the PROXY header of a send-proxy server.
func (s *Server) dial(timeout time.Duration, dstPort int, from ppStream) (*serverConn, error) {
	addr := *s.dst.Load()
	if s.useDst {
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
	if cfg := s.Conf.TLSConfig; cfg != nil {
		return s.dialTLS(tc, clientConfig(s, cfg, from), timeout)
	}
	return &serverConn{c: tc, srv: s, fd: newFDConn(tc, nil)}, nil
}

var dialer = net.Dialer{KeepAlive: -1}

// isTimeout tells whether err is a deadline or dial timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
