package backend

import (
	"errors"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dhproxy/internal/lb"
	"dhproxy/internal/model"
)

// Events is told what a farm does, for the caller's statistics: the farm
// counts nothing itself. The calls come from the request path: no lock,
// no allocation.
type Events[S any] interface {
	// Took: srv took a serving slot; srvCur and farmCur are the requests
	// served now by it and by the farm.
	Took(srv S, srvCur, farmCur int32)
	// Balanced: the balancer chose srv (lbtot; persistence and queues
	// do not count).
	Balanced(srv S)
	// Queued: n requests wait on srv's queue, or on the farm's when
	// onFarm.
	Queued(srv S, onFarm bool, n int32)
	// WentDown: srv went DOWN other than for maintenance (chkdown).
	WentDown(srv S)
	// Assigned: Connect was asked for a server, once per request or
	// connection whatever its retries (the backend's stot, rate,
	// lastsess: HAProxy counts a stream when it gets its backend).
	Assigned()
	// Retried: a connection to srv failed and the next attempt went to
	// srv again, or, redispatched, to another server (wretr, wredis:
	// HAProxy charges both to the server that failed).
	Retried(srv S, redispatched bool)
	// Failed: the last attempt, to srv, failed; no retry is left (econ).
	Failed(srv S)
}

// Farm is a backend's servers: the set the balancer chooses from, the
// serving slots, the queues. S is the caller's server type.
type Farm[S any] struct {
	p *model.Proxy // the backend
	// set is the servers now: those of the configuration, then the ones
	// "add server" added, without those "del server" took out.
	set       atomic.Pointer[serverSet[S]]
	dispSrv   *Server[S]    // "dispatch": takes every request, the servers none
	beconn    atomic.Int32  // requests/connections being served (%bc)
	fullconn  int           // "fullconn", or its default from the frontends' maxconn
	hashed    bool          // the balancing hashes a key: deterministic
	queue     waitQueue[S]  // requests waiting for any server (all were full)
	queued    atomic.Int32  // requests waiting in the farm's or its servers' queues
	qseq      atomic.Uint64 // arrival order across the farm's and its servers' queues
	wmu       sync.Mutex    // serializes weight and server set changes (algorithm table rebuilds)
	events    Events[S]
	now       func() int64 // unix nanoseconds, for slow start
	waiters   sync.Pool    // *waiter[S]
	allbackup bool         // "option allbackups"

	// fifoQueue: a non-empty farm queue means every server is full, so
	// new requests join it instead of overtaking (HAProxy does this for
	// roundrobin, static-rr, leastconn and first).
	fifoQueue bool
}

// Options are what a farm needs besides its proxy.
type Options[S any] struct {
	Config *model.Config // for the default fullconn
	Events Events[S]     // receives what the farm does
	Now    func() int64  // a clock in unix nanoseconds (may be coarse)
	Hash   lb.HashSpec   // the balancing hash; Kind lb.HashNone for none
	// Dispatch is the "dispatch" address's server when the proxy has
	// one: it takes every request.
	Dispatch *Server[S]
}

// NewFarm returns the farm of proxy p with servers, its configured
// servers (made with Server.Init), and o.Dispatch.
func NewFarm[S any](p *model.Proxy, servers []*Server[S], o Options[S]) *Farm[S] {
	f := &Farm[S]{p: p, fullconn: p.Fullconn, events: o.Events, now: o.Now, dispSrv: o.Dispatch,
		hashed: o.Hash.Kind != lb.HashNone, allbackup: p.Options["allbackups"]}
	f.waiters.New = func() any { return &waiter[S]{ch: make(chan *Server[S], 1)} }
	if f.fullconn == 0 {
		f.fullconn = defaultFullconn(o.Config, p)
	}
	if !f.hashed {
		f.fifoQueue = p.Balance.Algo != "random" && !strings.HasPrefix(p.Balance.Algo, "random(")
	}
	for _, s := range servers {
		s.farm = f
	}
	if f.dispSrv != nil {
		f.dispSrv.farm = f
	}
	f.set.Store(f.newSet(servers, o.Hash))
	return f
}

// serverGroup is the active or the backup servers with their algorithm.
type serverGroup struct {
	idx  []int // indexes into the set's servers
	algo lb.Algorithm
}

// serverSet is the farm's servers at one moment: never modified once
// published, replaced whole (copy on write) when a server is added or
// deleted, so that the request path reads it with one atomic load.
type serverSet[S any] struct {
	all      []*Server[S]
	owners   []S // all's owners, for ServerList
	act, bck serverGroup
	hash     lb.HashSpec
}

// group returns the group of s in the set.
func (set *serverSet[S]) group(s *Server[S]) *serverGroup {
	if s.Conf.Backup {
		return &set.bck
	}
	return &set.act
}

// newSet builds the server set of servers with fresh algorithm tables at
// the servers' current effective weights, and renumbers their slots. The
// caller holds f.wmu, or is building f.
func (f *Farm[S]) newSet(servers []*Server[S], hash lb.HashSpec) *serverSet[S] {
	set := &serverSet[S]{all: servers, owners: make([]S, len(servers)), hash: hash}
	var actW, bckW, actID, bckID []int
	for i, s := range servers {
		set.owners[i] = s.owner
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
		return func(i int) bool { return servers[g.idx[i]].Usable() }
	}
	load := func(g *serverGroup) lb.Load {
		return func(i int) (int, bool) {
			s := servers[g.idx[i]]
			return int(s.cur.Load()), s.full()
		}
	}
	if hash.Kind != lb.HashNone {
		set.act.algo = lb.NewHashed(hash, actW, actID, usable(&set.act), load(&set.act))
		set.bck.algo = lb.NewHashed(hash, bckW, bckID, usable(&set.bck), load(&set.bck))
	} else {
		algo := f.p.Balance.Algo
		set.act.algo = lb.New(algo, actW, usable(&set.act), load(&set.act))
		set.bck.algo = lb.New(algo, bckW, usable(&set.bck), load(&set.bck))
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

// ServerList returns the farm's servers now, in configuration order
// followed by the servers added at run time. The slice must not be
// modified.
func (f *Farm[S]) ServerList() []S { return f.set.Load().owners }

// BackupServers are the farm's backup servers now.
func (f *Farm[S]) BackupServers() iter.Seq[S] {
	set := f.set.Load()
	return func(yield func(S) bool) {
		for _, i := range set.bck.idx {
			if !yield(set.owners[i]) {
				return
			}
		}
	}
}

// Cur returns the requests the farm serves now.
func (f *Farm[S]) Cur() int { return int(f.beconn.Load()) }

// Queued returns the requests waiting in the farm's or its servers'
// queues.
func (f *Farm[S]) Queued() int { return int(f.queued.Load()) }

// QueueLen returns how many requests wait for any server of the farm.
func (f *Farm[S]) QueueLen() int { return int(f.queue.n.Load()) }

// Fullconn is the farm's "fullconn", configured or derived.
func (f *Farm[S]) Fullconn() int { return f.fullconn }

// Usable counts the active and backup servers that can take traffic.
func (f *Farm[S]) Usable() (active, backup int) {
	set := f.set.Load()
	for _, i := range set.act.idx {
		if set.all[i].Usable() {
			active++
		}
	}
	for _, i := range set.bck.idx {
		if set.all[i].Usable() {
			backup++
		}
	}
	return active, backup
}

// UpServers counts the active servers that are up, else the backup ones
// (nbsrv, HAProxy's be_usable_srv).
func (f *Farm[S]) UpServers() int {
	set := f.set.Load()
	n := 0
	for _, i := range set.act.idx {
		if set.all[i].up.Load() {
			n++
		}
	}
	if n == 0 {
		for _, i := range set.bck.idx {
			if set.all[i].up.Load() {
				n++
			}
		}
	}
	return n
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

// Pick chooses a server, avoiding avoid when another one is usable. Backup
// servers are used only when no active server is usable; without
// "option allbackups" only the first usable backup takes traffic. hash,
// when hashed, is the request's balancing hash. full reports that servers
// are usable but all full: the request then waits in the farm's queue.
// No server: the zero S.
func (f *Farm[S]) Pick(avoid *Server[S], hash uint32, hashed bool) (srv S, full bool) {
	s, full := f.pick(avoid, hash, hashed)
	if s != nil {
		srv = s.owner
	}
	return srv, full
}

func (f *Farm[S]) pick(avoid *Server[S], hash uint32, hashed bool) (srv *Server[S], full bool) {
	if f.dispSrv != nil {
		return f.dispSrv, false
	}
	set := f.set.Load()
	g := &set.act
	if !set.anyUsable(g) {
		g = &set.bck
		if !set.anyUsable(g) {
			return nil, false
		}
		if !f.allbackup {
			for _, i := range g.idx {
				if s := set.all[i]; s.Usable() {
					return s, false
				}
			}
		}
	}
	if f.fifoQueue && f.queue.n.Load() > 0 {
		return nil, true
	}
	av := -1
	if avoid != nil && set.group(avoid) == g {
		// A slot renumbered by a concurrent add or del only makes the
		// preference miss once.
		av = int(avoid.slot.Load())
	}
	i := -1
	if ha, ok := g.algo.(lb.Hashed); ok && hashed {
		i = ha.PickHash(av, hash)
	} else {
		i = g.algo.Pick(av)
	}
	if i < 0 {
		return nil, true
	}
	return set.all[g.idx[i]], false
}

func (set *serverSet[S]) anyUsable(g *serverGroup) bool {
	for _, i := range g.idx {
		if set.all[i].Usable() {
			return true
		}
	}
	return false
}

// Waited is what Take reports of a request's way through the queues, for
// the log.
type Waited struct {
	Redispatched bool          // a full persistent server sent it to the balancer
	Queued       time.Duration // time spent in queues (%Tw)
	Term         byte          // 's' queue timeout, 'S' queue full; 0 when not failed in a queue
}

// Take returns srv, or the server the balancer picks when srv is nil,
// holding a serving slot that the caller gives back with Release, as
// HAProxy's assign_server_and_queue: a full server chosen by persistence
// (direct) or hashing queues the request unless its "maxqueue" is
// reached; then a persistent request is redispatched with "option
// redispatch" and anything else gets a 503. When every server is full the
// request waits in the farm's queue for the first free slot. A queued
// request gives up after "timeout queue" (else "timeout connect"). w, when
// not nil, receives the time spent queued, the redispatch, and the cause
// of a queue failure. No server: the zero S and the HTTP status to answer.
func (f *Farm[S]) Take(srv *Server[S], direct bool, avoid *Server[S], hash uint32, hashed bool, w *Waited) (S, int) {
	s, status := f.take(srv, direct, avoid, hash, hashed, Priority{}, w)
	if s == nil {
		var none S
		return none, status
	}
	return s.owner, 0
}

func (f *Farm[S]) take(srv *Server[S], direct bool, avoid *Server[S], hash uint32, hashed bool, prio Priority, w *Waited) (*Server[S], int) {
	timeout := f.p.Timeouts.Queue
	if timeout <= 0 {
		timeout = f.p.Timeouts.Connect
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	var queueOn *Server[S] // nil: the farm's queue
	for {
		picked := srv == nil
		if picked {
			var full bool
			srv, full = f.pick(avoid, hash, hashed)
			if srv == nil {
				if !full {
					return nil, 503
				}
				break
			}
		}
		if srv.tryTake(false) {
			if picked {
				f.events.Balanced(srv.owner)
			}
			return srv, 0
		}
		if mq := srv.Conf.Maxqueue; mq > 0 && int(srv.queue.n.Load()) >= mq {
			if direct && f.p.Redispatch {
				srv, direct = nil, false
				if w != nil {
					w.Redispatched = true
				}
				continue
			}
			if w != nil {
				w.Term = 'S' // HAProxy's "SQ": the queue was full
			}
			return nil, 503
		}
		queueOn = srv
		break
	}
	start := time.Now()
	got := f.wait(queueOn, timeout, prio)
	if w != nil {
		w.Queued += time.Since(start)
		if got == nil {
			w.Term = 's' // "sQ": timeout queue expired
		}
	}
	if got == nil {
		return nil, 503
	}
	return got, 0
}

// The runtime API's answers to "add server" and "del server", in haproxy
// 2.6's words.
var (
	ErrStaticLB       = errors.New("Backend must use a dynamic load balancing to support dynamic servers.")
	ErrServerExists   = errors.New("Already exists a server with the same name in backend.")
	ErrIDUsed         = errors.New("'id' is already used by another server of the backend.")
	ErrDelNotMaint    = errors.New("Only servers in maintenance mode can be deleted.")
	ErrDelReferenced  = errors.New("This server cannot be removed at runtime due to other configuration elements pointing to it.")
	ErrDelConnections = errors.New("Server still has connections attached to it, cannot remove it.")
)

// Dynamic tells whether the farm's balancing algorithm lets servers be
// added at run time: the ones whose weights can change (HAProxy's
// BE_LB_PROP_DYN).
func (f *Farm[S]) Dynamic() bool {
	_, ok := f.set.Load().act.algo.(lb.Dynamic)
	return ok && f.dispSrv == nil
}

// Add puts s (made with Server.Init) in the farm, as "add server" does.
// s.Conf.ID 0 takes the lowest id free in the farm; another one is kept
// (ForcedID) when free.
func (f *Farm[S]) Add(s *Server[S]) error {
	if !f.Dynamic() {
		return ErrStaticLB
	}
	f.wmu.Lock()
	defer f.wmu.Unlock()
	cur := f.set.Load()
	used := map[int]bool{}
	for _, o := range cur.all {
		if o.Name == s.Name {
			return ErrServerExists
		}
		used[o.Conf.ID] = true
	}
	sc := s.Conf
	if sc.ID == 0 {
		sc.ID = 1
		for used[sc.ID] {
			sc.ID++
		}
	} else {
		sc.ForcedID = true
		if used[sc.ID] {
			return ErrIDUsed
		}
	}
	s.farm = f
	next := make([]*Server[S], len(cur.all), len(cur.all)+1)
	copy(next, cur.all)
	f.set.Store(f.newSet(append(next, s), cur.hash))
	return nil
}

// Remove takes s out of the farm ("del server"): only a server in
// maintenance, that no other server tracks nor a use-server rule names,
// with no connection nor queued request, as haproxy 2.6 requires.
func (f *Farm[S]) Remove(s *Server[S]) error {
	if s.admin.Load()&AdminMaintAny == 0 {
		return ErrDelNotMaint
	}
	f.wmu.Lock()
	defer f.wmu.Unlock()
	cur := f.set.Load()
	for _, o := range cur.all {
		if o != s && o.Conf.Tracked == s.Conf {
			return ErrDelReferenced
		}
	}
	for _, u := range f.p.UseServers {
		if u.Server == s.Conf {
			return ErrDelReferenced
		}
	}
	if s.cur.Load() > 0 || s.queue.n.Load() > 0 {
		return ErrDelConnections
	}
	next := make([]*Server[S], 0, len(cur.all))
	for _, o := range cur.all {
		if o != s {
			next = append(next, o)
		}
	}
	f.set.Store(f.newSet(next, cur.hash))
	s.deleted.Store(true)
	return nil
}
