package check

import (
	"fmt"
	"net"
	"strings"
	"sync"

	"dhproxy/internal/model"
)

// A server's state as HAProxy keeps it: operational (running, stopping
// i.e. NOLB, stopped) from the health check, the agent and the passive
// observation; administrative (maintenance, drain) from the agent; and the
// agent's weight percentage. Every change goes through the backend's group
// so that the "N active and M backup servers left" counts are consistent.

// group holds the states of one backend's servers, to count those left.
type group struct {
	mu      sync.Mutex
	be      *model.Proxy
	members []*member
}

type member struct {
	conf *model.Server
	t    Target // callbacks; zero for servers without checks

	running   bool // up: not stopped by a check
	stopping  bool // NOLB: up, but no new load-balanced traffic (disable-on-404)
	maint     bool // agent "maint"
	drain     bool // agent "drain"
	weightPct int  // agent "NN%"

	// Tracking ("track"): the server followed (via) and those following
	// this one; a tracker's maintenance or drain inherited from via.
	via      *member
	trackers []*member
	imaint   bool
	idrain   bool

	check, agent *checker
	g            *group
	logf         func(level, msg string)
}

func newGroup(be *model.Proxy) *group {
	g := &group{be: be}
	if be != nil {
		for _, s := range be.Servers {
			g.members = append(g.members, &member{conf: s, running: !s.Disabled, weightPct: 100})
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
	m := &member{conf: s, running: !s.Disabled, weightPct: 100}
	g.members = append(g.members, m)
	return m
}

// effWeight is the weight the balancer gives the server.
func (m *member) effWeight() int { return m.conf.Weight * m.weightPct / 100 }

// usable tells whether the server takes new load-balanced traffic.
func (m *member) usable() bool {
	return m.running && !m.stopping && !m.maint && !m.drain && !m.imaint && !m.idrain && m.effWeight() > 0
}

// counts must be called with mu held.
func (g *group) counts() (active, backup int) {
	for _, m := range g.members {
		if !m.usable() {
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

// countsFor uses the runtime's counts when it gives them.
func (g *group) countsFor(m *member) (active, backup int) {
	if m.t.ActiveServers != nil {
		return m.t.ActiveServers()
	}
	return g.counts()
}

func (m *member) sessions() (int, int) {
	if m.t.Sessions != nil {
		return m.t.Sessions()
	}
	return 0, 0
}

// publish hands the state to the runtime; mu must be held.
func (m *member) publish() {
	if m.t.SetUp != nil {
		m.t.SetUp(m.running && !m.maint && !m.imaint)
	}
	if m.t.SetDrain != nil {
		m.t.SetDrain(m.stopping || m.drain || m.idrain)
	}
	if m.t.SetInheritedMaint != nil {
		m.t.SetInheritedMaint(m.imaint)
	}
}

func (m *member) name() string { return m.t.Proxy + "/" + m.t.Server }

// prefix is "Server be/srv" or "Backup Server be/srv".
func (m *member) prefix() string {
	if m.conf.Backup {
		return "Backup Server " + m.name()
	}
	return "Server " + m.name()
}

// change runs f on m under the lock, publishes the new state and returns
// the counts before and after, for the log lines.
func (g *group) change(m *member, f func() bool) (changed bool, before, after [2]int, sess, queued int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	before[0], before[1] = g.countsFor(m)
	if !f() {
		return false, before, before, 0, 0
	}
	m.publish()
	after[0], after[1] = g.countsFor(m)
	sess, queued = m.sessions()
	return true, before, after, sess, queued
}

// noServerLeft logs HAProxy's emergency when the last usable server went.
func (g *group) noServerLeft(m *member, before, after [2]int) {
	if after[0]+after[1] == 0 && before[0]+before[1] > 0 {
		m.logf("emerg", fmt.Sprintf("%s %s has no server available!", proxyWord(g.be), m.t.Proxy))
	}
}

// propagate hands m's state down its tracking chains, with haproxy's "via"
// log lines, after m's own line.
func (m *member) propagate() {
	for _, t := range m.trackers {
		t.follow()
	}
}

// follow takes the state of the server m tracks.
func (m *member) follow() {
	v := m.via
	v.g.mu.Lock() // v may be in another backend: its state under its own lock
	running, stopping := v.running, v.stopping
	imaint, idrain := v.maint || v.imaint, v.drain || v.idrain
	v.g.mu.Unlock()
	var was member // m before, read under the lock
	ok, before, after, sess, queued := m.g.change(m, func() bool {
		was = *m
		if running == m.running && stopping == m.stopping && imaint == m.imaint && idrain == m.idrain {
			return false
		}
		m.running, m.stopping, m.imaint, m.idrain = running, stopping, imaint, idrain
		return true
	})
	if !ok {
		return
	}
	via := " via " + v.name()
	switch {
	case m.imaint && !was.imaint:
		if was.running && !was.maint {
			m.logf("alert", m.prefix()+" is going DOWN for maintenance"+via+leftTail(after, sess, queued))
		} else {
			m.logf("notice", m.prefix()+" was DOWN and now enters maintenance"+via+".")
		}
	case !m.imaint && was.imaint:
		state := "DOWN"
		if m.running {
			state = "UP/READY"
		}
		m.logf("notice", fmt.Sprintf("%s is %s (leaving maintenance).", m.prefix(), state))
	case m.imaint:
	case !m.running && was.running:
		m.logf("alert", m.prefix()+" is DOWN"+via+leftTail(after, sess, queued))
	case m.running && !was.running:
		m.logf("notice", m.prefix()+" is UP"+via+onlineTail(after, queued))
	case m.stopping && !was.stopping:
		m.logf("notice", m.prefix()+" is stopping"+via+onlineTail(after, queued))
	}
	m.g.noServerLeft(m, before, after)
	m.propagate()
}

func leftTail(after [2]int, sess, queued int) string {
	return fmt.Sprintf(". %d active and %d backup servers left.%s %d sessions active, %d requeued, %d remaining in queue.", after[0], after[1], onBackup(after), sess, 0, queued)
}

func onlineTail(after [2]int, queued int) string {
	return fmt.Sprintf(". %d active and %d backup servers online.%s %d sessions requeued, %d total in queue.", after[0], after[1], onBackup(after), 0, queued)
}

func onBackup(c [2]int) string {
	if c[1] > 0 && c[0] == 0 {
		return " Running on backup."
	}
	return ""
}

func withReason(b *strings.Builder, res *Result) {
	if res != nil {
		res.appendReason(b)
	}
}

// setStopped marks the server DOWN (srv_set_stopped).
func (g *group) setStopped(c *checker, res *Result) {
	m := c.m
	ok, before, after, sess, queued := g.change(m, func() bool {
		if !m.running || m.maint {
			return false
		}
		m.running, m.stopping = false, false
		return true
	})
	if !ok {
		return
	}
	var b strings.Builder
	b.WriteString(m.prefix() + " is DOWN")
	withReason(&b, res)
	b.WriteString(leftTail(after, sess, queued))
	c.logf("alert", b.String())
	g.noServerLeft(m, before, after)
	if m.conf.Health.ShutdownOnDown && m.t.ShutdownSessions != nil {
		m.t.ShutdownSessions()
	}
	m.propagate()
}

// setRunning marks the server UP when its checks agree (check_notify_success
// and srv_set_running).
func (g *group) setRunning(c *checker, res *Result) {
	m := c.m
	weighted := false
	ok, _, after, _, queued := g.change(m, func() bool {
		if m.maint || (m.running && !m.stopping) {
			return false
		}
		if m.check != nil && m.check.health < m.check.rise {
			return false
		}
		if m.agent != nil && m.agent.health < m.agent.rise {
			return false
		}
		if c.agent && m.stopping {
			return false // only the health check leaves NOLB
		}
		m.running, m.stopping = true, false
		weighted = m.effWeight() > 0
		return true
	})
	if !ok {
		return
	}
	var b strings.Builder
	b.WriteString(m.prefix() + " is UP")
	withReason(&b, res)
	b.WriteString(onlineTail(after, queued))
	c.logf("notice", b.String())
	// "only if the server is not in backup state and ... has an effective
	// weight > 0" (HAProxy's manual).
	if !m.conf.Backup && weighted && m.conf.Health.ShutdownBackupOnUp && m.t.ShutdownBackupSessions != nil {
		m.t.ShutdownBackupSessions()
	}
	m.propagate()
}

// setStopping puts a running server in NOLB (srv_set_stopping).
func (g *group) setStopping(c *checker, res *Result) {
	m := c.m
	ok, before, after, _, queued := g.change(m, func() bool {
		if m.maint || !m.running || m.stopping {
			return false
		}
		if m.check != nil && m.check.health < m.check.rise {
			return false
		}
		if m.agent != nil && m.agent.health < m.agent.rise {
			return false
		}
		m.stopping = true
		return true
	})
	if !ok {
		return
	}
	var b strings.Builder
	b.WriteString(m.prefix() + " is stopping")
	withReason(&b, res)
	b.WriteString(onlineTail(after, queued))
	c.logf("notice", b.String())
	g.noServerLeft(m, before, after)
	m.propagate()
}

// setAdmin applies the agent's "maint", "drain" or "ready" (or the runtime
// API's) to m.
func (g *group) setAdmin(m *member, word string) {
	viaRunning := true // a tracking server leaves maintenance in its chain's state
	if v := m.via; v != nil {
		v.g.mu.Lock()
		viaRunning = v.running
		v.g.mu.Unlock()
	}
	var line, level string
	ok, before, after, sess, queued := g.change(m, func() bool {
		switch word {
		case "maint":
			if m.maint {
				return false
			}
			m.maint = true
			if m.check != nil {
				m.check.health = 0 // maintenance pauses the health check, failed
			}
			if m.running {
				level, line = "alert", m.prefix()+" is going DOWN for maintenance"
			} else {
				level, line = "notice", m.prefix()+" was DOWN and now enters maintenance"
			}
		case "drain":
			if m.drain {
				return false
			}
			m.drain = true
			level, line = "notice", m.prefix()+" enters drain state"
		default: // ready
			switch {
			case m.maint:
				m.maint = false
				m.drain = false
				if m.check != nil {
					// Up again, but the first failed check takes it down.
					m.check.health = m.check.rise
				}
				m.running = (m.agent == nil || m.agent.health >= m.agent.rise) && viaRunning
				state := "DOWN"
				if m.running {
					state = "UP/READY"
				}
				level, line = "notice", fmt.Sprintf("%s is %s (leaving forced maintenance).", m.prefix(), state)
			case m.drain:
				m.drain = false
				state := "DOWN"
				if m.running {
					state = "UP"
				}
				level, line = "notice", fmt.Sprintf("%s is %s (leaving forced drain).", m.prefix(), state)
			default:
				return false
			}
		}
		return true
	})
	if !ok {
		return
	}
	switch word {
	case "maint":
		if strings.HasSuffix(line, "maintenance") && strings.Contains(line, "going DOWN") {
			line += leftTail(after, sess, queued)
		} else {
			line += "."
		}
	case "drain":
		line += onlineTail(after, queued)
	}
	m.logf(level, line)
	g.noServerLeft(m, before, after)
	m.propagate()
}

// setWeightPct applies the agent's "NN%".
func (g *group) setWeightPct(c *checker, pct int) {
	m := c.m
	ok, before, after, _, _ := g.change(m, func() bool {
		if m.weightPct == pct {
			return false
		}
		m.weightPct = pct
		if m.t.SetWeightPct != nil {
			m.t.SetWeightPct(pct)
		}
		return true
	})
	if ok {
		g.noServerLeft(m, before, after)
	}
}

// serverState is the X-Haproxy-Server-State value of "http-check
// send-state" (HAProxy's httpchk_build_status_header): the check's view of
// the server, its address, its weight out of the backend's total and its
// connections. mu must be held.
func (c *checker) serverState() string {
	m := c.m
	var st string
	full := c.rise + c.fall - 1
	switch {
	case m.running && !m.maint:
		word := "UP"
		if m.stopping {
			word = "NOLB"
		}
		st = word
		if c.health != full {
			st = fmt.Sprintf("%s %d/%d", word, c.health-c.rise+1, c.fall)
		}
	case c.health > 0:
		st = fmt.Sprintf("DOWN %d/%d", c.health, c.rise)
	default:
		st = "DOWN"
	}
	host, port, err := net.SplitHostPort(m.conf.Addr)
	switch {
	case m.conf.Unix:
		host, port = "unix", "" // as haproxy names a UNIX socket
	case err != nil:
		host, port = m.conf.Addr, ""
	}
	weight := 0
	if !m.drain && !m.maint {
		weight = min(m.effWeight(), 256)
	}
	total := 0
	for _, backup := range []bool{false, true} {
		for _, o := range c.g.members {
			if o.conf.Backup == backup && o.usable() {
				total += min(o.effWeight(), 256)
			}
		}
		if total > 0 {
			break
		}
	}
	sess, queued := m.sessions()
	beConns := 0
	if m.t.BackendConns != nil {
		beConns = m.t.BackendConns()
	}
	return fmt.Sprintf("%s; address=%s; port=%s; name=%s; node=%s; weight=%d/%d; scur=%d/%d; qcur=%d",
		st, host, port, m.name(), m.t.Node, weight, total, sess, beConns, queued)
}
