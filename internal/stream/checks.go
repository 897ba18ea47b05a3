package stream

import (
	"fmt"
	"os"
	"strings"
	"time"

	"dhproxy/internal/alert"
	"dhproxy/internal/check"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
)

// mailDrainDeadline bounds how long a stopping proxy waits for the e-mail
// alerts still queued (a DOWN mail raised just before the stop included).
const mailDrainDeadline = 5 * time.Second

// startChecks starts the health checks and the e-mail alerts their server
// state changes raise ("email-alert" proxies); the returned function stops
// the checks, then gives the queued mails mailDrainDeadline.
func (rt *Runtime) startChecks() (stop func()) {
	var mails *alert.Sender
	var haproxy *alert.HAProxy
	logf := rt.logEvent
	if hasEmailAlerts(rt.cfg.Proxies) {
		mails = alert.NewSender(rt.logEvent)
		haproxy = alert.NewHAProxy(rt.cfg, mails)
		logf = func(level, msg string) {
			rt.logEvent(level, msg)
			if proxy, mailLevel, ok := serverEvent(level, msg); ok {
				haproxy.ServerEvent(proxy, mailLevel, msg)
			}
		}
	}
	stopChecks := check.Start(rt.checkTargets(), logf)
	return func() {
		stopChecks()
		if mails != nil {
			mails.Close(mailDrainDeadline)
		}
	}
}

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
// (the order spreads the first checks over the interval).
func (rt *Runtime) checkTargets() []check.Target {
	var ts []check.Target
	for _, p := range rt.cfg.Proxies {
		b := rt.backends[p.Name]
		if b == nil || b.P != p {
			continue
		}
		for _, s := range b.Servers {
			if !s.Conf.Check || s.Conf.Disabled {
				continue
			}
			ts = append(ts, check.Target{
				Proxy: p.Name, Server: s.Name, Conf: s.Conf, Backend: p,
				SetUp:         s.SetUp,
				ActiveServers: b.usableCounts,
				Sessions:      func() (int, int) { return int(s.cur.Load()), 0 },
			})
		}
	}
	return ts
}

// usableCounts counts the active and backup servers that can take traffic.
func (b *Backend) usableCounts() (active, backup int) {
	for _, i := range b.active {
		if s := b.Servers[i]; s.up.Load() && s.Conf.Weight > 0 {
			active++
		}
	}
	for _, i := range b.backup {
		if s := b.Servers[i]; s.up.Load() && s.Conf.Weight > 0 {
			backup++
		}
	}
	return active, backup
}

// logEvent reports a health event the way haproxy -db shows it on stderr,
// unless the global section says "quiet".
func (rt *Runtime) logEvent(level, msg string) {
	if rt.events != nil {
		if lv, ok := logging.ParseLevel(level); ok {
			rt.events.Send(lv, []byte(msg))
		}
	}
	if rt.cfg.Global.Quiet {
		return
	}
	tag, text := check.Stderr(level, msg)
	fmt.Fprintf(os.Stderr, "%-11s(%d) : %s\n", "["+tag+"]", os.Getpid(), text)
}
