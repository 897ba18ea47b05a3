package stream

import (
	"fmt"
	"os"

	"dhproxy/internal/check"
	"dhproxy/internal/logging"
)

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
