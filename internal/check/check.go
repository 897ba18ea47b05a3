// Package check runs server health checks as HAProxy does: one scheduler
// per server (this file), one rule engine that every check option compiles
// to (tcpcheck.go), and HAProxy's rise/fall state machine and log wording,
// which operators grep for.
package check

import (
	"context"
	"fmt"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"dhproxy/internal/model"
)

// Target is one server to check.
type Target struct {
	Proxy, Server string        // names for log lines: "be1/srv1"
	Addr          string        // host:port to check; empty means Addr(Backend, Conf)
	Conf          *model.Server // check, inter, fastinter, downinter, rise, fall, port, addr, backup, weight
	Backend       *model.Proxy  // option httpchk, option log-health-checks, timeouts

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

// Start launches one goroutine per target whose server has "check" and is
// not disabled, and returns a function that stops them all and waits for
// them. Servers start UP, as in HAProxy: one failed check takes a server
// that has not passed one yet DOWN, after which rise successes bring it
// back and, once fully up, fall failures take it down.
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
	for _, t := range targets {
		if t.Conf == nil || !t.Conf.Check || t.Conf.Disabled {
			continue
		}
		c, err := newChecker(t, logf)
		if err != nil {
			logf("crit", err.Error())
			continue
		}
		g := groups[t.Backend]
		if g == nil || t.Backend == nil {
			g = newGroup(t.Backend)
			groups[t.Backend] = g
		}
		c.g, c.m = g, g.member(t.Conf)
		cs = append(cs, c)
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
		delay := max(minInter, c.interval()) * time.Duration(i) / time.Duration(len(cs))
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

// checker is one server's health check; only its goroutine touches it,
// except m.up which its group guards.
type checker struct {
	t      Target
	name   string // "be/srv"
	addr   string
	rules  *ruleset
	tm     timing
	logHC  bool // option log-health-checks
	backup bool
	weight int

	inter, fastInter, downInter time.Duration
	rise, fall                  int

	// health runs from 0 to rise+fall-1, as in HAProxy: at rise or more the
	// server is up, at rise+fall-1 it is fully up.
	health int
	status Status // of the last check, to report changes only

	g    *group
	m    *member
	logf func(level, msg string)
}

func newChecker(t Target, logf func(level, msg string)) (*checker, error) {
	s := t.Conf
	addr := t.Addr
	if addr == "" {
		var err error
		if addr, err = Addr(t.Backend, s); err != nil {
			return nil, err
		}
	}
	// Resolve once: no name lookups on every check.
	if ta, err := net.ResolveTCPAddr("tcp", addr); err == nil {
		addr = ta.String()
	}
	c := &checker{
		t:         t,
		name:      t.Proxy + "/" + t.Server,
		addr:      addr,
		rules:     compile(t.Backend),
		backup:    s.Backup,
		weight:    s.Weight,
		inter:     s.Inter,
		fastInter: s.FastInter,
		downInter: s.DownInter,
		rise:      s.Rise,
		fall:      s.Fall,
		status:    StatusINI,
		logf:      logf,
	}
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
	if be := t.Backend; be != nil {
		c.tm.connect, c.tm.check = be.Timeouts.Connect, be.Timeouts.Check
		c.logHC = be.Options["log-health-checks"]
	}
	return c, nil
}

// interval is the delay before the next check, HAProxy's srv_getinter():
// inter when fully up, downinter when down, fastinter in between.
func (c *checker) interval() time.Duration {
	switch {
	case c.health == c.rise+c.fall-1:
		return c.inter
	case !c.m.up && c.health == 0:
		return or(c.downInter, c.inter)
	}
	return or(c.fastInter, c.inter)
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// loop runs the checks until ctx ends; each interval counts from the end of
// the previous check, as in HAProxy.
func (c *checker) loop(ctx context.Context, wg *sync.WaitGroup, delay time.Duration) {
	defer wg.Done()
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.once(ctx)
		if ctx.Err() != nil {
			return
		}
		t.Reset(c.interval())
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
	res, ok := c.rules.run(ctx, c.addr, c.tm)
	if !ok {
		return
	}
	c.process(res)
}

// process applies a result to the rise/fall counter (HAProxy's
// set_server_check_status) and changes the server's state when the counter
// crosses a bound.
func (c *checker) process(res Result) {
	report := res.Status != c.status
	c.status = res.Status
	full := c.rise + c.fall - 1
	passed := res.Status.Passed()
	if passed {
		if c.health < full {
			report = true
			c.health++
			if c.health >= c.rise {
				c.health = full
			}
		}
	} else if c.health > 0 {
		report = true
		c.health--
		if c.health < c.rise {
			c.health = 0
		}
	}
	if c.logHC && report {
		c.logf("notice", c.checkLine(res))
	}
	switch {
	case !passed && c.health == 0 && c.m.up:
		c.setState(false, res)
	case passed && c.health >= c.rise && !c.m.up:
		c.setState(true, res)
	}
}

func (c *checker) checkLine(res Result) string {
	var b strings.Builder
	b.WriteString("Health check for ")
	if c.backup {
		b.WriteString("backup ")
	}
	verdict := "failed"
	if res.Status.Passed() {
		verdict = "succeeded"
	}
	fmt.Fprintf(&b, "server %s %s", c.name, verdict)
	res.appendReason(&b)
	if c.health >= c.rise {
		state := "UP"
		if c.weight == 0 {
			state = "DRAIN"
		}
		fmt.Fprintf(&b, ", status: %d/%d %s.", c.health-c.rise+1, c.fall, state)
	} else {
		fmt.Fprintf(&b, ", status: %d/%d DOWN.", c.health, c.rise)
	}
	return b.String()
}

// setState flips the server and logs the change with the servers left, as
// HAProxy's srv_update_status does. The reason is left out when
// log-health-checks already reported it.
func (c *checker) setState(up bool, res Result) {
	var actBefore, bckBefore, act, bck, sess, queued int
	func() {
		c.g.mu.Lock()
		defer c.g.mu.Unlock()
		actBefore, bckBefore = c.counts()
		c.m.up = up
		if c.t.SetUp != nil {
			c.t.SetUp(up)
		}
		act, bck = c.counts()
		if c.t.Sessions != nil {
			sess, queued = c.t.Sessions()
		}
	}()

	var b strings.Builder
	if c.backup {
		b.WriteString("Backup ")
	}
	word := "DOWN"
	if up {
		word = "UP"
	}
	fmt.Fprintf(&b, "Server %s is %s", c.name, word)
	if !c.logHC {
		res.appendReason(&b)
	}
	onBackup := ""
	if bck > 0 && act == 0 {
		onBackup = " Running on backup."
	}
	if up {
		fmt.Fprintf(&b, ". %d active and %d backup servers online.%s %d sessions requeued, %d total in queue.", act, bck, onBackup, 0, queued)
		c.logf("notice", b.String())
		return
	}
	fmt.Fprintf(&b, ". %d active and %d backup servers left.%s %d sessions active, %d requeued, %d remaining in queue.", act, bck, onBackup, sess, 0, queued)
	c.logf("alert", b.String())
	if act+bck == 0 && actBefore+bckBefore > 0 {
		c.logf("emerg", fmt.Sprintf("%s %s has no server available!", proxyWord(c.t.Backend), c.t.Proxy))
	}
}

func (c *checker) counts() (active, backup int) {
	if c.t.ActiveServers != nil {
		return c.t.ActiveServers()
	}
	return c.g.counts()
}

// proxyWord is HAProxy's proxy_type_str(): a listen section is a "proxy".
func proxyWord(p *model.Proxy) string {
	if p != nil && p.IsFrontend() {
		return "proxy"
	}
	return "backend"
}

// group holds the states of one backend's servers, to count those left.
type group struct {
	mu      sync.Mutex
	members []*member
}

type member struct {
	conf *model.Server
	up   bool
}

func newGroup(be *model.Proxy) *group {
	g := &group{}
	if be != nil {
		for _, s := range be.Servers {
			g.members = append(g.members, &member{conf: s, up: !s.Disabled})
		}
	}
	return g
}

// member returns s's entry, adding it when the backend does not list it.
func (g *group) member(s *model.Server) *member {
	for _, m := range g.members {
		if m.conf == s {
			return m
		}
	}
	m := &member{conf: s, up: !s.Disabled}
	g.members = append(g.members, m)
	return m
}

// counts must be called with mu held.
func (g *group) counts() (active, backup int) {
	for _, m := range g.members {
		if !m.up || m.conf.Weight == 0 {
			continue
		}
		if m.conf.Backup {
			backup++
		} else {
			active++
		}
	}
	return active, backup
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
