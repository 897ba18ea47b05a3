package stream

import (
	"fmt"
	"os"
	"strings"
	"time"

	"dhproxy/internal/alert"
	"dhproxy/internal/backend"
	"dhproxy/internal/check"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
)

// mailDrainDeadline bounds how long a stopping proxy waits for the e-mail
// alerts still queued (a DOWN mail raised just before the stop included).
const mailDrainDeadline = 5 * time.Second

func hasEmailAlerts(proxies []*model.Proxy) bool {
	for _, p := range proxies {
		if p.EmailAlert.Mailers != nil {
			return true
		}
	}
	return false
}

// serverEvent tells which proxy a health message is about and the level
// HAProxy mails it at: state changes ("[Backup ]Server be/srv is DOWN...",
// logged at alert, or UP at notice) keep their level; the check results
// of "option log-health-checks" ("Health check for [backup ]server
// be/srv ...", logged at notice) are mailed at info. Other messages
// ("backend be has no server available!") concern no server and are not
// mailed, as in HAProxy. Proxy names cannot contain '/', so the name ends
// at the first one.
func serverEvent(level, msg string) (proxy, mailLevel string, ok bool) {
	rest, found := "", false
	for _, prefix := range []string{"Server ", "Backup Server "} {
		if rest, found = strings.CutPrefix(msg, prefix); found {
			mailLevel = level
			break
		}
	}
	if !found && level == "notice" { // not the "internal error" ones, at crit
		for _, prefix := range []string{"Health check for server ", "Health check for backup server "} {
			if rest, found = strings.CutPrefix(msg, prefix); found {
				mailLevel = "info"
				break
			}
		}
	}
	if !found {
		return "", "", false
	}
	if proxy, _, ok = strings.Cut(rest, "/"); !ok {
		return "", "", false
	}
	return proxy, mailLevel, true
}

// checkTargets lists the servers to health-check, in configuration order
// (the order spreads the first checks over the interval), with the
// callbacks through which the checks change what the balancer sees.
func (rt *Runtime) checkTargets() []check.Target {
	var ts []check.Target
	node := rt.cfg.Global.Node
	if node == "" {
		node, _ = os.Hostname() // HAProxy's default "node"
	}
	for _, p := range rt.cfg.Proxies {
		b := rt.backends[p.Name]
		if b == nil || b.P != p {
			continue
		}
		for _, s := range b.Servers {
			if (!s.Conf.Check && !s.Conf.Health.Agent && s.Conf.Tracked == nil) || s.Conf.Disabled {
				continue
			}
			s.checksStarted = s.Conf.Tracked == nil // a tracker runs no check of its own
			t := b.checkTarget(s, node)
			t.Spread = rt.cfg.Global.SpreadChecks
			t.MaxSpread = rt.cfg.Global.MaxSpreadChecks
			t.PP2Proxy = rt.cfg.Global.PP2NeverSendLocal
			ts = append(ts, t)
		}
	}
	return ts
}

// checkTarget is the health check target of s, with the callbacks through
// which its checks change what the balancer sees.
func (b *Backend) checkTarget(s *Server, node string) check.Target {
	s.health.passive = check.NewPassive(s.Conf)
	var curAddr func() string
	if s.dns != nil {
		curAddr = s.checkAddr
	}
	return check.Target{
		CurAddr:    curAddr,
		ServerAddr: s.AddrPort,
		Proxy:      b.P.Name, Server: s.Name, Conf: s.Conf, Backend: b.P,
		SetUp: s.SetUp,
		// A drain the runtime API set before the checks started (no
		// state machine to go through yet) outlives their first state.
		SetDrain:     func(d bool) { s.SetDrain(d || s.AdminState()&backend.AdminDrain != 0) },
		SetWeightPct: func(pct int) { s.SetWeightPercent(pct) },
		SetInheritedMaint: func(maint bool) {
			if maint {
				s.SetAdmin(backend.AdminInheritMaint)
			} else {
				s.ClearAdmin(backend.AdminInheritMaint)
			}
		},
		SetMaxconn:    s.SetMaxconn,
		ActiveServers: b.Usable,
		Sessions:      func() (int, int) { return s.Cur(), 0 },
		Passive:       s.health.passive,

		ShutdownSessions:       func() { s.health.sessions.shutdown() },
		ShutdownBackupSessions: b.shutdownBackupSessions,

		Node:         node,
		BackendConns: b.Cur,
		Report:       s.recordCheck,
		ReportAgent:  s.recordAgent,
		AgentAdmin: func(word string) {
			switch word {
			case "maint":
				s.SetAdmin(backend.AdminMaint)
			case "drain":
				s.SetAdmin(backend.AdminDrain)
			default: // ready: out of forced maintenance and drain
				s.ClearAdmin(backend.AdminMaint | backend.AdminDrain)
			}
		},
		Running: func(agent, running bool) {
			if agent {
				s.agentRunning.Store(running)
			} else {
				s.checkRunning.Store(running)
			}
		},
		Admin: &s.adminCtl,
	}
}

// shutdownBackupSessions ends the sessions on the backend's backup servers,
// once an active server with "on-marked-up shutdown-backup-sessions" is up.
func (b *Backend) shutdownBackupSessions() {
	for s := range b.BackupServers() {
		s.health.sessions.shutdown()
	}
}

// startChecks starts the health checks and returns what stops them. As in
// HAProxy, a server's health events go to its backend's log targets (its
// "log" lines, "log global" meaning the global ones; none without) and to
// stderr, and the e-mail alerts of "email-alert" proxies are raised from
// them; stopping gives the queued mails mailDrainDeadline.
func (rt *Runtime) startChecks() (stop func()) {
	var mails *alert.Sender
	var haproxy *alert.HAProxy
	if hasEmailAlerts(rt.cfg.Proxies) {
		mails = alert.NewSender(rt.logEvent(nil))
		haproxy = alert.NewHAProxy(rt.cfg, mails)
	}
	withMail := func(logf func(level, msg string)) func(level, msg string) {
		if haproxy == nil {
			return logf
		}
		return func(level, msg string) {
			logf(level, msg)
			if proxy, mailLevel, ok := serverEvent(level, msg); ok {
				haproxy.ServerEvent(proxy, mailLevel, msg)
			}
		}
	}
	loggers := map[*model.Proxy]*logging.Logger{}
	for _, fe := range rt.frontends {
		if fe.P.IsBackend() {
			loggers[fe.P] = fe.logger // a listen section logs once for both roles
		}
	}
	var own []*logging.Logger
	targets := rt.checkTargets()
	for i := range targets {
		p := targets[i].Backend
		l, ok := loggers[p]
		if !ok && len(p.Logs) > 0 {
			var err error
			if l, err = logging.New(rt.cfg.Global.Logs, p.Logs, p.SyslogTag(&rt.cfg.Global), logHostname(&rt.cfg.Global)); err != nil {
				rt.logEvent(nil)("alert", fmt.Sprintf("backend '%s': health events are not logged: %v", p.Name, err))
			} else {
				own = append(own, l)
			}
		}
		loggers[p] = l
		targets[i].Logf = withMail(rt.logEvent(l))
	}
	stopChecks := check.Start(targets, withMail(rt.logEvent(nil)))
	return func() {
		stopChecks()
		for _, l := range own {
			l.Close()
		}
		if mails != nil {
			mails.Close(mailDrainDeadline)
		}
	}
}

// logEvent returns the sink of a backend's health events: its logger (nil:
// none) and stderr, the way haproxy -db shows them, unless the global
// section says "quiet".
func (rt *Runtime) logEvent(l *logging.Logger) func(level, msg string) {
	return func(level, msg string) {
		if l != nil {
			if lv, ok := logging.ParseLevel(level); ok {
				l.Send(lv, []byte(msg))
			}
		}
		if rt.cfg.Global.Quiet {
			return
		}
		tag, text := check.Stderr(level, msg)
		fmt.Fprintf(os.Stderr, "%-11s(%d) : %s\n", "["+tag+"]", os.Getpid(), text)
	}
}
