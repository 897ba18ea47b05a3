package stream

import (
	"fmt"
	"sync/atomic"
	"time"

	"dhproxy/internal/backend"
	"dhproxy/internal/check"
	"dhproxy/internal/conn"
	"dhproxy/internal/h2"
	"dhproxy/internal/model"
)

// Counters are the statistics of a frontend, backend or server, as
// HAProxy's "show stat" reports them. The request path only adds to
// atomics: no lock, no allocation. Readers (the stats outputs) load each
// field on its own, so a row is not a snapshot, as in HAProxy.
type Counters struct {
	Smax        atomic.Int32 // highest concurrent sessions
	Stot        atomic.Int64 // sessions (frontend: connections accepted; backend/server: sessions served)
	LBTot       atomic.Int64 // sessions given to a server by the balancer (lbtot)
	Bin         atomic.Int64 // bytes from clients
	Bout        atomic.Int64 // bytes to clients
	ReqTot      atomic.Int64 // HTTP requests
	Hrsp        [6]atomic.Int64
	Ereq        atomic.Int64 // request errors (frontend)
	Econ        atomic.Int64 // connection errors to a server
	Eresp       atomic.Int64 // response errors from a server
	Wretr       atomic.Int64 // retries
	Wredis      atomic.Int64 // redispatches
	CliAbrt     atomic.Int64
	SrvAbrt     atomic.Int64
	Intercepted atomic.Int64 // requests answered by the proxy itself (stats, metrics, return, redirect)
	Dreq        atomic.Int64 // requests denied by http-request rules
	Dresp       atomic.Int64 // responses denied by http-response rules
	Dcon        atomic.Int64 // connections rejected by tcp-request connection rules
	Dses        atomic.Int64 // sessions rejected by tcp-request session rules
	Wrew        atomic.Int64 // header rewrites that did not fit the buffer
	Eint        atomic.Int64 // internal errors (a failed rewrite in strict mode)
	// CacheLookups and CacheHits: requests the http-request cache-use
	// rules of this proxy looked up, and answered from the cache.
	CacheLookups atomic.Int64
	CacheHits    atomic.Int64
	Qmax         atomic.Int32
	Chkfail      atomic.Int64 // failed checks while the server was up
	Chkdown      atomic.Int64 // UP to DOWN transitions
	Last         atomic.Int64 // unix seconds of the last session (lastsess)
	// Compression (frontends and backends): body bytes given to the
	// compressor, bytes it produced, bytes sent through identity,
	// responses compressed whole.
	CompIn, CompOut, CompByp, CompRsp atomic.Int64
	rate                              rateCounter // sessions per second
	reqRate                           rateCounter // HTTP requests per second (frontends)
	times                             timeStats   // qtime, ctime, rtime, ttime (backends, servers)

	// The ssl stats module: TLS handshakes that made a new session
	// (frontends: with clients; backends and servers: with servers), those
	// that resumed one, those that failed.
	SSLSess, SSLReused, SSLFailed atomic.Int64

	// The h1 module (frontends and backends): HTTP/1 connections and
	// streams (requests) in total, bytes received and sent on those
	// connections (frontends: from and to clients; backends: from and to
	// servers). Open connections and streams are gauges: H1OpenConns and
	// H1OpenStreams on frontends, derived on backends (H1Open).
	H1Conns, H1Streams, H1BytesIn, H1BytesOut atomic.Int64
	H1OpenConns, H1OpenStreams                atomic.Int64

	// The h2 stats module (frontends: client connections; backends:
	// server connections), counted by internal/h2.
	H2 h2.Counters
}

// HTTP response classes, the hrsp_* columns.
const (
	Hrsp1xx = iota
	Hrsp2xx
	Hrsp3xx
	Hrsp4xx
	Hrsp5xx
	HrspOther
)

// session notes a new session while cur are running.
func (c *Counters) session(cur int32) {
	raiseTo(&c.Smax, cur)
	c.assigned()
}

// assigned counts a new session: stot, its rate, lastsess.
func (c *Counters) assigned() {
	c.Stot.Add(1)
	now := conn.CoarseNow() / int64(time.Second)
	c.rate.add(conn.CoarseNow() / int64(time.Millisecond))
	if c.Last.Load() != now {
		c.Last.Store(now)
	}
}

// response counts an HTTP response of status st into hrsp_*.
func (c *Counters) response(st int) {
	c.ReqTot.Add(1)
	cls := HrspOther
	if st >= 100 && st < 600 {
		cls = st/100 - 1
	}
	c.Hrsp[cls].Add(1)
}

func raiseTo(m *atomic.Int32, v int32) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}

// Rate returns the sessions of the last full second and the highest seen.
func (c *Counters) Rate() (cur, max int) {
	return c.rate.read(time.Now().UnixMilli())
}

// ReqRate is Rate for HTTP requests, counted on frontends.
func (c *Counters) ReqRate() (cur, max int) {
	return c.reqRate.read(time.Now().UnixMilli())
}

// rateCounter is HAProxy's one-second frequency counter: a period starts
// with the first event after a quiet one, the events of the current
// period and of the previous one are kept, and the maximum is the highest
// count a period reached.
type rateCounter struct {
	tick atomic.Int64 // start of the current period, unix ms
	cur  atomic.Int32
	prev atomic.Int32
	max  atomic.Int32
}

const ratePeriod = 1000 // ms

func (r *rateCounter) add(nowMs int64) {
	for {
		t := r.tick.Load()
		if nowMs-t < ratePeriod {
			raiseTo(&r.max, r.cur.Add(1))
			return
		}
		// Rotate: the next period follows on, unless a whole quiet period
		// passed, which forgets the previous count and starts now.
		next, keep := t+ratePeriod, true
		if nowMs-next >= ratePeriod {
			next, keep = nowMs, false
		}
		if r.tick.CompareAndSwap(t, next) {
			n := r.cur.Swap(0)
			if !keep {
				n = 0
			}
			r.prev.Store(n)
		}
	}
}

// read reports the events of the last second as HAProxy's read_freq_ctr:
// the current period's plus the previous one's in proportion to the part
// of it still inside the last second.
func (r *rateCounter) read(nowMs int64) (cur, max int) {
	c, p := int64(r.cur.Load()), int64(r.prev.Load())
	elapsed := nowMs - r.tick.Load()
	if elapsed >= ratePeriod {
		elapsed -= ratePeriod
		p, c = c, 0
		if elapsed >= ratePeriod {
			p = 0
		}
	}
	return int(c + p*(ratePeriod-elapsed)/ratePeriod), int(r.max.Load())
}

// account adds the request just finished to the frontend's, backend's and
// server's counters: one call per request, from the facts the log line
// gathers anyway. bin and bout are the request's and response's sizes as
// %U and %B count them (haproxy 2.6 counts what its channels carried, HTX
// blocks), the tracked entries' bytes too; the h1 module's are the
// connection's.
func (s *httpSession) account() {
	l := &s.lg
	fe := &s.fe.Stats
	nread, nwritten := s.fdCounts()
	in, out := nread-s.seenIn, nwritten-s.seenOut
	s.seenIn, s.seenOut = nread, nwritten
	fe.H1BytesIn.Add(in)
	fe.H1BytesOut.Add(out)
	in, out = l.bytesIn, l.bytesOut
	s.endTracking(in, out)
	fe.Bin.Add(in)
	fe.Bout.Add(out)
	if ln := s.ln; ln != nil {
		ln.Stats.Bin.Add(in)
		ln.Stats.Bout.Add(out)
	}
	if l.status >= 0 || !l.head.IsZero() {
		// A parsed request counts on the frontend even when no response
		// went out (the client left), as in HAProxy.
		if l.status >= 0 {
			fe.response(l.status)
		} else {
			fe.ReqTot.Add(1)
		}
		if l.head.IsZero() { // a parsed request was counted on arrival
			fe.reqRate.add(conn.CoarseNow() / int64(time.Millisecond))
		}
	}
	if l.srv == nil && (l.status == 400 || l.status == 408) && !s.tx.Denied || l.badBody {
		fe.Ereq.Add(1) // a denied request is a dreq only, whatever its status
	}
	var bc, sc *Counters
	if l.be != nil {
		bc = &l.be.Stats
		bc.Bin.Add(in)
		bc.Bout.Add(out)
		if l.status >= 0 {
			bc.response(l.status)
		}
	}
	if bc != nil && !l.connected.IsZero() {
		bc.H1Streams.Add(1) // the request went out on a server connection
	}
	if l.srv != nil {
		sc = &l.srv.Stats
		sc.Bin.Add(in)
		sc.Bout.Add(out)
		if l.status >= 0 && !l.badBody {
			sc.response(l.status)
		}
	}
	if t := l.tried; sc == nil && t != nil {
		// a failed connect: haproxy charges the bytes to the server tried
		t.Stats.Bin.Add(in)
		t.Stats.Bout.Add(out)
	}
	accountEnd(bc, sc, l.term)
	if sc != nil && !l.connected.IsZero() && !l.resp.IsZero() {
		ended := l.ended
		if ended.IsZero() {
			ended = time.Now()
		}
		addTimes(bc, sc, true, l.queued, since(l.head, l.connected)-l.queued,
			since(l.connected, l.resp), since(s.accept, ended))
	}
}

// accountBadRequest counts on the frontend a request refused before it was
// parsed (400, 408; a connection closed before its first request counts
// as a 400): a request, its response class and a request error, as
// HAProxy's HTTP multiplexer reports them.
func (s *httpSession) accountBadRequest() {
	fe := &s.fe.Stats
	fe.response(s.lg.status)
	fe.Ereq.Add(1)
	// The h1 module counts the bytes (haproxy's 400 included) and, when
	// request bytes came, a stream; a connection closed before sending
	// anything has none.
	nread, nwritten := s.fdCounts()
	in, out := nread-s.seenIn, nwritten-s.seenOut
	s.seenIn, s.seenOut = nread, nwritten
	fe.H1BytesIn.Add(in)
	fe.H1BytesOut.Add(out)
	if in > 0 {
		fe.H1Streams.Add(1)
	}
	if s.ln != nil {
		s.ln.Stats.Ereq.Add(1)
	}
	fe.reqRate.add(conn.CoarseNow() / int64(time.Millisecond))
}

// accountEnd counts how a request or connection ended on its backend and
// server (either may be nil). Retries and redispatches are counted as
// they happen (farmEvents).
func accountEnd(bc, sc *Counters, term [2]byte) {
	for _, c := range [2]*Counters{bc, sc} {
		if c == nil {
			continue
		}
		switch {
		case term[0] == 'C':
			c.CliAbrt.Add(1)
		case term[0] == 'S' && term[1] == 'C':
			c.Econ.Add(1)
		case (term[0] == 'S' || term[0] == 's') && term[1] == 'H':
			c.Eresp.Add(1)
		case term[0] == 'S' && term[1] == 'D':
			c.SrvAbrt.Add(1)
		}
	}
}

// CheckState is the last health check result of a server, for the stats.
type CheckState struct {
	Status   string // L4OK, L7STS, ...
	Code     int    // HTTP status of a layer 7 check, 0 when none
	HasCode  bool   // the status carries Code (an agent's is 0)
	Duration time.Duration
	Desc     string // the status's description ("Layer4 connection problem")
	Info     string // what the check found ("Connection refused")
	Health   int    // rise/fall counter: 0 down .. rise+fall-1 fully up
	Rise     int
	Fall     int
}

// recordCheck keeps a health check result for the stats.
func (s *Server) recordCheck(r check.Result, health, rise, fall int) {
	st := &CheckState{Status: r.Status.String(), Code: r.Code, Duration: r.Duration,
		Desc: r.Status.Description(), Info: r.Info, Health: health, Rise: rise, Fall: fall}
	if !r.Status.Passed() && s.Up() {
		s.Stats.Chkfail.Add(1)
	}
	s.check.Store(st)
}

// Check returns the last health check result, nil before the first one.
func (s *Server) Check() *CheckState { return s.check.Load() }

// recordAgent keeps an agent check result for the stats. Failing to reach
// the agent is no check failure of the server (chkfail).
func (s *Server) recordAgent(r check.Result, health, rise, fall int) {
	s.agent.Store(&CheckState{Status: r.Status.String(), Code: r.Code, HasCode: r.Status.HasCode(), Duration: r.Duration,
		Desc: r.Status.Description(), Info: r.Info, Health: health, Rise: rise, Fall: fall})
}

// CheckInProgress tells whether a health check (agent: the agent check)
// of s is under way.
func (s *Server) CheckInProgress(agent bool) bool {
	if agent {
		return s.agentRunning.Load()
	}
	return s.checkRunning.Load()
}

// Agent returns the last agent check result, nil before the first one.
func (s *Server) Agent() *CheckState { return s.agent.Load() }

// Backend returns the backend s belongs to.
func (s *Server) Backend() *Backend { return s.backend }

// Maxconn is fe's connection limit, its own or the global one; 0: none.
func (fe *Frontend) Maxconn() int {
	if n := fe.limit.Max(); n > 0 {
		return n
	}
	return fe.rt.GlobalMaxconn()
}

// Cur returns the client connections of fe.
func (fe *Frontend) Cur() int { return int(fe.feconn.Load()) }

// ProxyView is a proxy of the running configuration with its runtime parts:
// FE for a frontend or listen, BE for a backend or listen.
type ProxyView struct {
	P  *model.Proxy
	FE *Frontend
	BE *Backend
}

// Proxies lists the running proxies in configuration order.
func (rt *Runtime) Proxies() []ProxyView {
	fes := map[*model.Proxy]*Frontend{}
	for _, fe := range rt.frontends {
		fes[fe.P] = fe
	}
	var out []ProxyView
	for _, p := range rt.cfg.Proxies {
		v := ProxyView{P: p, FE: fes[p]}
		if b := rt.backends[p.Name]; b != nil && b.P == p {
			v.BE = b
		}
		if v.FE != nil || v.BE != nil {
			out = append(out, v)
		}
	}
	return out
}

// Config returns the configuration rt runs.
func (rt *Runtime) Config() *model.Config { return rt.cfg }

// Connections returns the client connections being served.
func (rt *Runtime) Connections() int { return int(rt.actconn.Load()) }

// ConnRate is the process's accepted connections over the last second and
// the highest such rate (show info ConnRate/MaxConnRate).
func (rt *Runtime) ConnRate() (cur, max int) { return rt.connRate.read(time.Now().UnixMilli()) }

// SetMaint puts s in or out of forced maintenance ("disable server",
// "set server b/s state maint|ready"): no traffic at all, health checks
// paused, with HAProxy's log lines. A checked server goes through its
// check state machine, which logs and pauses the checks.
func (rt *Runtime) SetMaint(s *Server, on bool) {
	if on {
		if s.SetAdmin(backend.AdminMaint)&backend.AdminMaintAny != 0 {
			return
		}
		if s.adminCtl.Set("maint") {
			return
		}
		b := s.backend
		was := s.Up()
		s.SetUp(false)
		line := s.prefix() + " was DOWN and now enters maintenance."
		if was {
			a, k := b.Usable()
			line = fmt.Sprintf("%s is going DOWN for maintenance. %d active and %d backup servers left. %d sessions active, 0 requeued, 0 remaining in queue.",
				s.prefix(), a, k, s.Cur())
		}
		rt.logEvent(nil)("alert", line)
		return
	}
	old := s.ClearAdmin(backend.AdminMaintAny | backend.AdminDrain)
	if old&backend.AdminMaintAny == 0 {
		if old&backend.AdminDrain != 0 {
			rt.SetDrainAdmin(s, false)
		}
		return
	}
	if s.adminCtl.Set("ready") {
		return
	}
	s.SetDrain(false)
	s.SetUp(true)
	rt.logEvent(nil)("notice", s.prefix()+" is UP/READY (leaving forced maintenance).")
}

// SetDrainAdmin puts s in or out of forced drain ("set server b/s state
// drain|ready").
func (rt *Runtime) SetDrainAdmin(s *Server, on bool) {
	if on {
		s.SetAdmin(backend.AdminDrain)
		if !s.adminCtl.Set("drain") {
			s.SetDrain(true)
			rt.logEvent(nil)("notice", s.prefix()+" enters drain state.")
		}
		return
	}
	s.ClearAdmin(backend.AdminDrain)
	if !s.adminCtl.Set("ready") {
		s.SetDrain(false)
		rt.logEvent(nil)("notice", s.prefix()+" is UP (leaving forced drain).")
	}
}

func (s *Server) prefix() string {
	if s.Conf.Backup {
		return "Backup Server " + s.backend.P.Name + "/" + s.Name
	}
	return "Server " + s.backend.P.Name + "/" + s.Name
}

// ClearMax resets the highest values seen ("clear counters").
func (c *Counters) ClearMax() {
	c.Smax.Store(0)
	c.Qmax.Store(0)
	c.rate.max.Store(0)
	c.reqRate.max.Store(0)
	for i := range c.times.max {
		c.times.max[i].Store(0)
	}
}

// ClearAll resets every counter ("clear counters all").
func (c *Counters) ClearAll() {
	c.ClearMax()
	for _, a := range []*atomic.Int64{&c.Stot, &c.LBTot, &c.Bin, &c.Bout, &c.ReqTot, &c.Ereq, &c.Econ, &c.Eresp,
		&c.Wretr, &c.Wredis, &c.CliAbrt, &c.SrvAbrt, &c.Intercepted, &c.Dreq, &c.Dresp, &c.Dcon, &c.Dses, &c.Chkfail, &c.Chkdown,
		&c.H1Conns, &c.H1Streams, &c.H1BytesIn, &c.H1BytesOut, &c.CacheLookups, &c.CacheHits} {
		a.Store(0)
	}
	for i := range c.Hrsp {
		c.Hrsp[i].Store(0)
	}
	c.H2.Clear()
	for i := range c.times.sum {
		c.times.sum[i].Store(0)
	}
}

// timeStatsSamples is the window of HAProxy's qtime/ctime/rtime/ttime
// moving averages (TIME_STATS_SAMPLES).
const timeStatsSamples = 1024

// timeStats are the per-request times of a backend or server, in ms:
// HAProxy's sliding-window sums (read with swrateAvg) and maxima.
type timeStats struct {
	sum [4]atomic.Uint32 // queue, connect, response, total
	max [4]atomic.Int32
}

// add records one request's times. samples is the request (HTTP) or
// connection count so far: until it exceeds the window the sums only
// accumulate, as HAProxy's swrate_add_dynamic with n = 0.
func (t *timeStats) add(samples int64, v [4]int32) {
	n := uint32(0)
	if samples > timeStatsSamples {
		n = timeStatsSamples
	}
	for i := range v {
		for {
			old := t.sum[i].Load()
			next := old + uint32(v[i])
			if n != 0 {
				next -= (old + n - 1) / n
			}
			if t.sum[i].CompareAndSwap(old, next) {
				break
			}
		}
		raiseTo(&t.max[i], v[i])
	}
}

// Time indexes of TimeAvg and TimeMax.
const (
	TimeQueue = iota
	TimeConnect
	TimeResponse
	TimeTotal
)

// TimeAvg is the average in ms of time i over the last 1024 requests, or
// over all of them while fewer were counted (samples), computed as
// HAProxy's stats do.
func (c *Counters) TimeAvg(i int, samples int64) int64 {
	w := uint32(timeStatsSamples)
	if samples > 0 && samples < timeStatsSamples {
		w = uint32(samples)
	}
	return int64((c.times.sum[i].Load() + w - 1) / w)
}

// TimeMax is the highest time i seen, in ms.
func (c *Counters) TimeMax(i int) int64 { return int64(c.times.max[i].Load()) }

// addTimes records the timers of a request or connection that reached a
// server (HAProxy's stream_update_time_stats): the %Tw %Tc %Tr %Tt of its
// log line; a mode tcp connection has no response time.
func addTimes(bc, sc *Counters, http bool, queue, connect, resp, total time.Duration) {
	v := [4]int32{ms(queue), ms(connect), ms(resp), ms(total)}
	for _, c := range [2]*Counters{sc, bc} {
		if c == nil {
			continue
		}
		samples := c.LBTot.Load()
		if http {
			samples = c.ReqTot.Load()
		}
		c.times.add(samples, v)
	}
}

func ms(d time.Duration) int32 {
	if d < 0 {
		return 0
	}
	return int32(d / time.Millisecond)
}
