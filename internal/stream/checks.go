package stream

import (
	"fmt"
	"os"

	"dhproxy/internal/check"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
)

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
		shutdownBackups := false
		for _, s := range b.Servers {
			h := &s.Conf.Health
			shutdownBackups = shutdownBackups || (!s.Conf.Backup && h.ShutdownBackupOnUp)
			if h.ShutdownOnDown {
				s.health.tracked.Store(true)
			}
		}
		for _, s := range b.Servers {
			if shutdownBackups && s.Conf.Backup {
				s.health.tracked.Store(true)
			}
			if (!s.Conf.Check && !s.Conf.Health.Agent) || s.Conf.Disabled {
				continue
			}
			s.health.passive = check.NewPassive(s.Conf)
			ts = append(ts, check.Target{
				Proxy: p.Name, Server: s.Name, Conf: s.Conf, Backend: p,
				SetUp:         s.up.Store,
				SetDrain:      s.health.drain.Store,
				SetWeightPct:  func(pct int) { s.health.agentPct.Store(int32(pct) + 1) },
				SetMaxconn:    func(n int) { s.health.maxconn.Store(int32(n)) },
				ActiveServers: b.usableCounts,
				Sessions:      func() (int, int) { return int(s.cur.Load()), 0 },
				Passive:       s.health.passive,

				ShutdownSessions:       func() { s.health.sessions.shutdown() },
				ShutdownBackupSessions: b.shutdownBackupSessions,

				Node:         node,
				BackendConns: func() int { return int(b.beconn.Load()) },
			})
		}
	}
	return ts
}

// usableCounts counts the active and backup servers that can take traffic.
func (b *Backend) usableCounts() (active, backup int) {
	for _, i := range b.active {
		if b.Servers[i].usable() {
			active++
		}
	}
	for _, i := range b.backup {
		if b.Servers[i].usable() {
			backup++
		}
	}
	return active, backup
}

// shutdownBackupSessions ends the sessions on the backend's backup servers,
// once an active server with "on-marked-up shutdown-backup-sessions" is up.
func (b *Backend) shutdownBackupSessions() {
	for _, i := range b.backup {
		b.Servers[i].health.sessions.shutdown()
	}
}

// startChecks starts the health checks and returns what stops them. As in
// HAProxy, a server's health events go to its backend's log targets (its
// "log" lines, "log global" meaning the global ones; none without) and to
// stderr.
func (rt *Runtime) startChecks() (stop func()) {
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
			if l, err = logging.New(rt.cfg.Global.Logs, p.Logs, rt.cfg.Global.LogTag, logHostname(&rt.cfg.Global)); err != nil {
				rt.logEvent(nil)("alert", fmt.Sprintf("backend '%s': health events are not logged: %v", p.Name, err))
			} else {
				own = append(own, l)
			}
		}
		loggers[p] = l
		targets[i].Logf = rt.logEvent(l)
	}
	stopChecks := check.Start(targets, rt.logEvent(nil))
	return func() {
		stopChecks()
		for _, l := range own {
			l.Close()
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
