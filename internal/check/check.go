// Package check runs server health checks as HAProxy does: one scheduler
// per server (this file), one rule engine that every check option compiles
// to (tcpcheck.go), and HAProxy's rise/fall state machine and log wording,
// which operators grep for.
package check

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dhproxy/internal/model"
)

// Target is one server to check.
type Target struct {
	Proxy, Server string // names for log lines: "be1/srv1"
	Addr          string // host:port to check; empty means Addr(Backend, Conf)
	// CurAddr, when set, gives the server's address at each check (it
	// follows DNS): host:port, "" while it has none (no check then). The
	// "port" option still replaces the port; an "addr" option wins.
	CurAddr func() string
	// Spread is the global "spread-checks": each interval varies at random
	// by up to this percent either way.
	Spread int
	// MaxSpread is the global "max-spread-checks": the first checks all
	// start within it (0: no bound).
	MaxSpread time.Duration
	// PP2Proxy is the global "pp2-never-send-local": a send-proxy-v2
	// server's checks send a PROXY command with the check connection's
	// addresses, not LOCAL (HAProxy before 2.2).
	PP2Proxy bool
	Conf     *model.Server // check, inter, fastinter, downinter, rise, fall, port, addr, backup, weight
	Backend  *model.Proxy  // option httpchk, option log-health-checks, timeouts
	// ServerAddr reports the server's address now, which "set server
	// addr" may have changed from Conf.Addr; nil: Conf.Addr.
	ServerAddr func() string

	// SetUp is called from the check goroutine on every state change: the
	// runtime flips its lock-free flag there.
	SetUp func(up bool)
	// ActiveServers counts the backend's usable active and backup servers
	// for the "N active and M backup servers left" wording. When nil, the
	// checks count themselves: servers of Backend without checks are up
	// unless disabled, servers of weight 0 do not count (as in HAProxy).
	ActiveServers func() (active, backup int)
	// Sessions reports the server's current sessions and queued requests
	// for the "N sessions active, ... M remaining in queue" wording; nil
	// means 0 and 0.
	Sessions func() (active, queued int)

	// SetDrain is called when the server stops or resumes taking new
	// load-balanced traffic while staying up: "http-check disable-on-404"
	// (NOLB) and the agent's "drain".
	SetDrain func(drain bool)
	// SetInheritedMaint tells a tracking server that the server it tracks
	// (or one further up its chain) entered or left maintenance.
	SetInheritedMaint func(maint bool)
	// SetWeightPct receives the agent's "NN%" (100 at start).
	SetWeightPct func(pct int)
	// SetMaxconn receives the agent's "maxconn:N".
	SetMaxconn func(n int)
	// ShutdownSessions ends the server's sessions (on-marked-down
	// shutdown-sessions); ShutdownBackupSessions ends those of the
	// backend's backup servers (on-marked-up shutdown-backup-sessions).
	ShutdownSessions, ShutdownBackupSessions func()
	// Passive, when the server has "observe", is where the traffic reports
	// its outcomes (see NewPassive).
	Passive *Passive
	// Logf, when set, receives this server's messages instead of Start's
	// logf: HAProxy sends them to the backend's own log targets.
	Logf func(level, msg string)

	// For "http-check send-state": the node name ("node", else the host
	// name) and the backend's current connections.
	Node         string
	BackendConns func() int

	// Report, when set, receives every health check result with the
	// rise/fall counter after it (the stats' check_* columns).
	Report func(r Result, health, rise, fall int)
	// ReportAgent is Report for the agent check (the agent_* columns).
	ReportAgent func(r Result, health, rise, fall int)
	// AgentAdmin, when set, is given an agent's "maint", "drain" or
	// "ready" first: the server's forced administrative state, as the
	// runtime API's "set server ... state" sets it.
	AgentAdmin func(word string)
	// Running, when set, is told when a check (or the agent check) starts
	// and when it is over: the stats mark it in progress meanwhile.
	Running func(agent, running bool)
	// Admin, when set, is bound by Start to the server's state machine so
	// that the runtime API's maintenance and drain go through it.
	Admin *Admin
}

// Admin sets a checked server's administrative state from outside the
// checks (the runtime API), with the same log lines as the agent's words,
// and pauses its health check or its agent ("disable health|agent").
type Admin struct {
	set       atomic.Pointer[func(word string)] // bound by Start, possibly while in use
	healthOff atomic.Bool
	agentOff  atomic.Bool
}

// Set applies "maint", "drain" or "ready"; false when the server has no
// running check to apply it to.
func (a *Admin) Set(word string) bool {
	if a == nil {
		return false
	}
	set := a.set.Load()
	if set == nil {
		return false
	}
	(*set)(word)
	return true
}

// Pause stops (off) or resumes the health check, or the agent check when
// agent is true: a paused check runs no probe and changes nothing, as
// HAProxy's "disable health" and "disable agent" leave the server's state
// as it is.
func (a *Admin) Pause(agent, off bool) {
	if agent {
		a.agentOff.Store(off)
	} else {
		a.healthOff.Store(off)
	}
}

// Paused tells whether the health check (or the agent) is paused.
func (a *Admin) Paused(agent bool) bool {
	if a == nil {
		return false
	}
	if agent {
		return a.agentOff.Load()
	}
	return a.healthOff.Load()
}

// Defaults of the server keywords, for targets built without the model's
// defaults.
const (
	defaultInter = 2 * time.Second
	defaultRise  = 2
	defaultFall  = 3
)

// interThreshold is HAProxy's SRV_CHK_INTER_THRES: checks faster than this
// do not stretch the start-up spreading of the others.
const interThreshold = time.Second

// Start launches one goroutine per target whose server has "check" (and
// one more for "agent-check") and is not disabled, and returns a function
// that stops them all and waits for them. Servers start UP, as in HAProxy:
// one failed check takes a server that has not passed one yet DOWN, after
// which rise successes bring it back and, once fully up, fall failures take
// it down.
//
// logf receives every message with the syslog severity HAProxy sends it
// with ("emerg", "crit", "alert", "notice"); Stderr tells how haproxy -db
// shows the same message on its standard error.
func Start(targets []Target, logf func(level, msg string)) (stop func()) {
	if logf == nil {
		logf = func(string, string) {}
	}
	groups := map[*model.Proxy]*group{}
	var cs []*checker
	var trackers []*member
	for _, t := range targets {
		if t.Conf == nil || t.Conf.Disabled || (!t.Conf.Check && !t.Conf.Health.Agent && t.Conf.Tracked == nil) {
			continue
		}
		g := groups[t.Backend]
		if g == nil || t.Backend == nil {
			g = newGroup(t.Backend)
			groups[t.Backend] = g
		}
		m := g.member(t.Conf)
		m.t, m.g = t, g
		lf := logf
		if t.Logf != nil {
			lf = t.Logf
		}
		m.logf = lf
		if t.Conf.Tracked != nil {
			trackers = append(trackers, m)
			if t.Admin != nil {
				set := func(word string) { g.setAdmin(m, word) }
				t.Admin.set.Store(&set)
			}
			continue
		}
		if t.Conf.Check {
			c, err := newChecker(t, lf)
			if err != nil {
				lf("crit", err.Error())
			} else {
				c.g, c.m = g, m
				m.check = c
				cs = append(cs, c)
				if t.Admin != nil {
					set := func(word string) { g.setAdmin(m, word) }
					t.Admin.set.Store(&set)
				}
			}
		}
		if t.Conf.Health.Agent {
			a, err := newAgent(t, lf)
			if err != nil {
				lf("alert", err.Error())
				continue
			}
			a.g, a.m = g, m
			m.agent = a
			cs = append(cs, a)
		}
	}

	// A tracker follows the member of the server it tracks (checked, or a
	// tracker in turn): the configuration refused chains that end elsewhere.
	for _, m := range trackers {
		tg := groups[m.conf.TrackedProxy]
		if tg == nil {
			continue // the tracked server is disabled: m stays as it is
		}
		for _, v := range tg.members {
			if v.conf == m.conf.Tracked && v.g != nil {
				m.via = v
				v.trackers = append(v.trackers, m)
			}
		}
	}

	// Spread the first checks over the shortest interval, in target order,
	// as HAProxy's start_checks() does with the servers of all proxies.
	var minInter time.Duration
	for _, c := range cs {
		if i := c.interval(); i >= interThreshold && (minInter == 0 || i < minInter) {
			minInter = i
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, c := range cs {
		delay := startDelay(minInter, c.interval(), c.t.MaxSpread, i, len(cs))
		wg.Add(1)
		go c.loop(ctx, &wg, delay)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
		})
	}
}

// startDelay is when the i-th of n checks first runs: spread over the
// shortest interval (its own when longer), at most maxSpread when set
// ("max-spread-checks").
func startDelay(minInter, inter, maxSpread time.Duration, i, n int) time.Duration {
	span := max(minInter, inter)
	if maxSpread > 0 {
		span = min(span, maxSpread)
	}
	return span * time.Duration(i) / time.Duration(n)
}

// checker is one server's health check, or its agent check; only its
// goroutine touches it, except what its member holds, which the group's
// mutex guards.
type checker struct {
	t      Target
	agent  bool   // an agent check: "Agent check for ..." lines, agent rules
	name   string // "be/srv"
	addr   string
	rules  *ruleset
	ext    *extCheck // "option external-check": a program instead of the rules
	tm     timing
	tls    *tls.Config // checks of an "ssl" server run over TLS
	proto  string      // check-proto, or the server's proto for an HTTP check
	logHC  bool        // option log-health-checks
	backup bool

	inter, fastInter, downInter time.Duration
	rise, fall                  int

	// health runs from 0 to rise+fall-1, as in HAProxy: at rise or more the
	// check is passing, at rise+fall-1 it is fully passing. The group's
	// mutex guards it: the agent and the passive observation change it.
	health int
	status Status // of the last check, to report changes only
	// sooner brings the next check to fastinter after the passive
	// observation's verdict (nil without "observe").
	sooner chan struct{}

	g    *group
	m    *member
	logf func(level, msg string)
}

func newChecker(t Target, logf func(level, msg string)) (*checker, error) {
	s := t.Conf
	addr := t.Addr
	if t.CurAddr != nil && s.Options["addr"] == "" {
		t.CurAddr = checkedAt(t.CurAddr, s.Port)
	} else {
		t.CurAddr = nil
		if addr == "" {
			var err error
			if addr, err = Addr(t.Backend, s); err != nil {
				return nil, err
			}
		}
		addr = resolve(addr)
	}
	c := &checker{
		t:         t,
		name:      t.Proxy + "/" + t.Server,
		addr:      addr,
		backup:    s.Backup,
		inter:     s.Inter,
		fastInter: s.FastInter,
		downInter: s.DownInter,
		rise:      s.Rise,
		fall:      s.Fall,
		status:    StatusINI,
		logf:      logf,
	}
	c.rules = compile(t.Backend, checkSendsProxy(s))
	c.tls = checkTLS(s, c.rules.http)
	c.proto = s.CheckProto
	if c.proto == "" && c.rules.http {
		c.proto = s.Proto // only an HTTP check inherits it, as in haproxy 2.6
	}
	c.rules.proxyV2 = s.SendProxy.Version == 2
	c.rules.proxyV2Addrs = t.PP2Proxy
	c.defaults()
	if t.Backend != nil && t.Backend.Check.Kind == "external-check" {
		c.ext = newExtCheck(t, c.inter)
	}
	if t.Passive != nil {
		c.sooner = make(chan struct{}, 1)
		t.Passive.checker.Store(c)
	}
	return c, nil
}

// checkedAt applies the "port" option to a changing address.
func checkedAt(cur func() string, port int) func() string {
	if port <= 0 {
		return cur
	}
	p := strconv.Itoa(port)
	return func() string {
		a := cur()
		if a == "" {
			return ""
		}
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			host = a
		}
		return net.JoinHostPort(host, p)
	}
}

// resolve looks the host up once: no name lookups on every check.
func resolve(addr string) string {
	if strings.HasPrefix(addr, unixPrefix) {
		return addr
	}
	if ta, err := net.ResolveTCPAddr("tcp", addr); err == nil {
		return ta.String()
	}
	return addr
}

func (c *checker) defaults() {
	if c.inter <= 0 {
		c.inter = defaultInter
	}
	if c.rise <= 0 {
		c.rise = defaultRise
	}
	if c.fall <= 0 {
		c.fall = defaultFall
	}
	c.health = c.rise
	c.tm = timing{inter: c.inter}
	if c.t.Conf != nil {
		c.tm.netns = c.t.Conf.Namespace
		c.tm.userTimeout = int(c.t.Conf.UserTimeout / time.Millisecond)
	}
	if be := c.t.Backend; be != nil {
		c.tm.connect, c.tm.check = be.Timeouts.Connect, be.Timeouts.Check
		if src := be.SourceFor(c.t.Conf); src.IsValid() {
			c.tm.source = net.TCPAddrFromAddrPort(src)
		}
		c.logHC = be.Options["log-health-checks"]
	}
}

// interval is the delay before the next check, HAProxy's srv_getinter():
// inter when fully up, downinter when down, fastinter in between. An agent
// check always runs at its own interval.
func (c *checker) interval() time.Duration {
	if c.agent {
		return c.inter
	}
	c.g.mu.Lock()
	health, running := c.health, c.m != nil && c.m.running
	c.g.mu.Unlock()
	switch {
	case health == c.rise+c.fall-1:
		return c.inter
	case !running && health == 0:
		return or(c.downInter, c.inter)
	}
	return or(c.fastInter, c.inter)
}

// spread adds HAProxy's "spread-checks" randomness to an interval: up to
// pct percent of it, either way, so checks of many servers drift apart.
func spread(d time.Duration, pct int) time.Duration {
	if pct <= 0 {
		return d
	}
	r := d * time.Duration(pct) / 100
	return d - r + rand.N(2*r+1)
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// loop runs the checks until ctx ends; each interval counts from the end of
// the previous check, as in HAProxy. Passive observation verdicts are
// applied between checks and may bring the next check closer.
func (c *checker) loop(ctx context.Context, wg *sync.WaitGroup, delay time.Duration) {
	defer wg.Done()
	t := time.NewTimer(delay)
	defer t.Stop()
	next := time.Now().Add(delay)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.sooner:
			if fi := c.fastInter; fi > 0 && time.Until(next) > fi {
				t.Reset(fi)
				next = time.Now().Add(fi)
			}
			continue
		case <-t.C:
		}
		c.once(ctx)
		if ctx.Err() != nil {
			return
		}
		d := spread(c.interval(), c.t.Spread)
		t.Reset(d)
		next = time.Now().Add(d)
	}
}

// once runs one check; a panic is logged and the next check runs as planned
// rather than killing the process or silently ending the server's checks.
func (c *checker) once(ctx context.Context) {
	defer func() {
		if r := recover(); r != nil {
			c.logf("crit", fmt.Sprintf("Health check for server %s: internal error: %v\n%s", c.name, r, debug.Stack()))
		}
	}()
	c.g.mu.Lock()
	env := runEnv{notDown: c.m.running, tls: c.tls, proto: c.proto}
	paused := c.m.maint && !c.agent || c.t.Admin.Paused(c.agent) // maintenance pauses the health check
	if c.rules.sendState {
		env.state = c.serverState()
	}
	c.g.mu.Unlock()
	addr := c.addr
	if c.t.CurAddr != nil {
		addr = c.t.CurAddr()
	}
	if paused || addr == "" {
		return
	}
	if c.t.CurAddr == nil {
		addr = c.currentAddr()
	}
	if c.t.Running != nil {
		c.t.Running(c.agent, true)
		defer c.t.Running(c.agent, false)
	}
	var res Result
	var ok bool
	if c.ext != nil {
		cur := 0
		if c.t.Sessions != nil {
			cur, _ = c.t.Sessions()
		}
		res = c.ext.run(ctx, addr, cur)
		ok = ctx.Err() == nil
	} else {
		res, ok = c.rules.run(ctx, addr, c.tm, env)
	}
	if !ok {
		return
	}
	if c.agent {
		c.processAgent(res)
		return
	}
	c.process(res)
}

// process applies a result to the rise/fall counter (HAProxy's
// set_server_check_status) and changes the server's state when the counter
// crosses a bound.
func (c *checker) process(res Result) {
	c.g.mu.Lock()
	report := res.Status != c.status
	c.status = res.Status
	full := c.rise + c.fall - 1
	if res.Status.Passed() && c.t.Passive != nil {
		c.t.Passive.errs.Store(0)
	}
	switch {
	case res.Status.Passed():
		// A conditional pass cannot make the first step up.
		if c.health < full && (res.Status != StatusL7OKC || c.health > 0) {
			report = true
			c.health++
			if c.health >= c.rise {
				c.health = full
			}
		}
	case c.health > 0 && (!c.agent || res.Status.HasCode()):
		// Failing to reach an agent does not count against the server.
		report = true
		c.health--
		if c.health < c.rise {
			c.health = 0
		}
	}
	line := ""
	if c.logHC && report {
		line = c.checkLine(res)
	}
	health := c.health
	c.g.mu.Unlock()
	toStats := c.t.Report
	if c.agent {
		toStats = c.t.ReportAgent
	}
	if toStats != nil {
		toStats(res, health, c.rise, c.fall)
	}
	if line != "" {
		c.logf("notice", line)
	}
	switch {
	case !res.Status.Passed():
		c.notifyFailure(res)
	case res.Status == StatusL7OKC:
		c.notifyStopping(res)
	default:
		c.notifySuccess(res)
	}
}

// checkLine must be called with the group's mutex held.
func (c *checker) checkLine(res Result) string {
	var b strings.Builder
	if c.agent {
		b.WriteString("Agent check for ")
	} else {
		b.WriteString("Health check for ")
	}
	if c.backup {
		b.WriteString("backup ")
	}
	verdict := "failed"
	switch {
	case res.Status == StatusL7OKC:
		verdict = "conditionally succeeded"
	case res.Status.Passed():
		verdict = "succeeded"
	}
	fmt.Fprintf(&b, "server %s %s", c.name, verdict)
	res.appendReason(&b)
	if c.health >= c.rise {
		state := "UP"
		if c.m.effWeight() == 0 {
			state = "DRAIN"
		}
		fmt.Fprintf(&b, ", status: %d/%d %s.", c.health-c.rise+1, c.fall, state)
	} else {
		fmt.Fprintf(&b, ", status: %d/%d DOWN.", c.health, c.rise)
	}
	return b.String()
}

// reason returns res for the state lines, or nil when log-health-checks
// already reported it.
func (c *checker) reason(res Result) *Result {
	if c.logHC {
		return nil
	}
	return &res
}

// notifyFailure takes the server down once the counter reached 0 (HAProxy's
// check_notify_failure). An agent only does so when it said so: failing to
// reach the agent is not a reason, the health check tests connectivity.
func (c *checker) notifyFailure(res Result) {
	if c.agent && res.Status != StatusL7STS {
		return
	}
	c.g.mu.Lock()
	down := c.health == 0
	c.g.mu.Unlock()
	if down {
		c.g.setStopped(c, c.reason(res))
	}
}

// notifySuccess brings the server up when every check it has agrees and it
// is not in maintenance (check_notify_success).
func (c *checker) notifySuccess(res Result) {
	c.g.setRunning(c, c.reason(res))
}

// notifyStopping puts a passing server in NOLB (check_notify_stopping).
func (c *checker) notifyStopping(res Result) {
	if c.agent {
		return
	}
	c.g.setStopping(c, c.reason(res))
}

// proxyWord is HAProxy's proxy_type_str(): a listen section is a "proxy".
func proxyWord(p *model.Proxy) string {
	if p != nil && p.IsFrontend() {
		return "proxy"
	}
	return "backend"
}

// Stderr returns how haproxy -db shows on its standard error a message that
// was passed to logf with level: the tag of its "[TAG]    (pid) : " prefix
// and the text. Server state changes and per-check lines are warnings there;
// "has no server available!" is an alert and quotes the proxy name.
func Stderr(level, msg string) (tag, text string) {
	switch level {
	case "emerg":
		if word, rest, ok := strings.Cut(msg, " "); ok {
			if name, tail, ok := strings.Cut(rest, " "); ok && tail == "has no server available!" {
				return "ALERT", word + " '" + name + "' " + tail
			}
		}
		return "ALERT", msg
	case "crit":
		return "ALERT", msg
	}
	return "WARNING", msg
}

// checkSendsProxy tells whether the checks of s start with a PROXY
// header: check-send-proxy, or send-proxy on a server whose checks go to
// its own address and port (as HAProxy's init_srv_check).
func checkSendsProxy(s *model.Server) bool {
	_, otherAddr := s.Options["addr"]
	return s.Health.SendProxy || (s.SendProxy.Version > 0 && s.Port == 0 && !otherAddr)
}

// checkTLS is the TLS configuration health checks use: an "ssl" server's,
// unless the checks go to another port or address without "check-ssl"
// (HAProxy's rule), offering check-alpn's protocols, else the server's.
func checkTLS(s *model.Server, http bool) *tls.Config {
	if s.TLSConfig == nil {
		return nil
	}
	_, otherAddr := s.Options["addr"]
	if (s.Port != 0 || otherAddr) && !s.TLS.CheckSSL {
		return nil
	}
	alpn := s.TLSConfig.NextProtos
	if s.TLS.CheckALPN != "" {
		alpn = strings.Split(s.TLS.CheckALPN, ",")
	}
	if !http {
		// Only HTTP checks can speak HTTP/2: "h2" is not offered for others.
		alpn = slices.DeleteFunc(slices.Clone(alpn), func(p string) bool { return p == "h2" })
	}
	if s.TLS.CheckSNI != "" || !slices.Equal(alpn, s.TLSConfig.NextProtos) {
		cfg := s.TLSConfig.Clone()
		if s.TLS.CheckSNI != "" {
			cfg.ServerName = s.TLS.CheckSNI
		}
		cfg.NextProtos = alpn
		return cfg
	}
	return s.TLSConfig
}

// currentAddr is the address to check: the configured one, or the one
// derived from the server's new address when the runtime API changed it
// (the "addr" and "port" check options still take precedence).
func (c *checker) currentAddr() string {
	if c.t.Addr != "" || c.t.ServerAddr == nil || c.t.Conf.Unix {
		return c.addr // a UNIX socket server keeps its address
	}
	now := c.t.ServerAddr()
	if now == c.t.Conf.Addr {
		return c.addr
	}
	conf := *c.t.Conf
	conf.Addr = now
	a, err := Addr(c.t.Backend, &conf)
	if err != nil {
		return c.addr
	}
	return resolve(a)
}
