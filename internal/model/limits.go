package model

import (
	"runtime"

	"dhproxy/internal/config"
)

// The global keywords that size the process's descriptors: "maxpipes",
// "ulimit-n" and "[no] strict-limits".
func init() {
	registerGlobal("maxpipes", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "maxpipes <number>") {
			g.MaxPipes, _ = b.intArg(l, 1)
		}
	})
	registerGlobal("ulimit-n", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "ulimit-n <number>") {
			g.UlimitN, _ = b.intArg(l, 1)
		}
	})
	registerGlobal("strict-limits", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 0, 0, "strict-limits") {
			g.NoStrictLimits = false
		}
	})
	// In the global section "no" only negates strict-limits.
	registerGlobal("no", func(b *builder, g *Global, l config.Line) {
		if len(l.Args) != 2 || l.Args[1] != "strict-limits" {
			b.errorf(l, "'no' in the 'global' section only applies to 'strict-limits'.")
			return
		}
		g.NoStrictLimits = true
	})
}

// MaxPipes is the size of dhproxy's pipe pool: "maxpipes", or HAProxy's
// default over the proxies that splice, which in dhproxy are the mode tcp
// ones (HAProxy splices only with "option splice-*"). Without a global
// maxconn, half of fdLimit stands for it.
func (c *Config) MaxPipes(fdLimit int) int {
	if c.Global.MaxPipes > 0 {
		return c.Global.MaxPipes
	}
	return c.idealPipes(func(p *Proxy) bool { return p.Mode == ModeTCP }, fdLimit/2)
}

// HAProxyPipes is the pipe count HAProxy reserves descriptors for:
// "maxpipes", or its default over the proxies with an "option splice-*".
func (c *Config) HAProxyPipes() int {
	if c.Global.MaxPipes > 0 {
		return c.Global.MaxPipes
	}
	return c.idealPipes(func(p *Proxy) bool {
		return p.Options["splice-auto"] || p.Options["splice-request"] || p.Options["splice-response"]
	}, 0)
}

// idealPipes is HAProxy's compute_ideal_maxpipes: a quarter of the sessions
// that may splice at once (frontends count their maxconn, backends their
// fullconn or the global maxconn), bounded by the global maxconn, for
// which noMaxconn stands when there is none.
func (c *Config) idealPipes(splices func(*Proxy) bool, noMaxconn int) int {
	maxconn := c.Global.Maxconn
	if maxconn == 0 {
		maxconn = noMaxconn
	}
	var fe, be int
	unlimited := false
	for _, p := range c.Proxies {
		if p.Disabled || !splices(p) {
			continue
		}
		if p.IsFrontend() {
			fe += p.Maxconn
			unlimited = unlimited || p.Maxconn == 0
		}
		if p.IsBackend() {
			if p.Fullconn > 0 {
				be += p.Fullconn
			} else {
				be += c.Global.Maxconn
				unlimited = unlimited || c.Global.Maxconn == 0
			}
		}
	}
	pipes := max(fe, be)
	if unlimited || pipes > maxconn {
		pipes = maxconn
	}
	if pipes >= 4 {
		pipes /= 4
	}
	return pipes
}

// Threads is "nbthread", or HAProxy's default: one per CPU.
func (c *Config) Threads() int {
	if c.Global.Nbthread > 0 {
		return c.Global.Nbthread
	}
	return runtime.NumCPU()
}

// MaxSock is HAProxy's global.maxsock, the descriptors a global maxconn
// needs: ten spare, one per listening socket and per health check (two per
// agent check), ten sessions per stats socket, two per connection, two per
// pipe, and per thread one poller and a wake-up pipe. 0 without a global
// maxconn.
func (c *Config) MaxSock(maxPipes int) int {
	if c.Global.Maxconn == 0 {
		return 0
	}
	n := 10
	for _, p := range c.Proxies {
		if p.Disabled {
			continue
		}
		if p.IsFrontend() {
			n += len(p.Binds)
		}
		if p.IsBackend() {
			for _, s := range p.Servers {
				if s.Check {
					n++
				}
				if s.Health.Agent {
					n += 2
				}
			}
		}
	}
	n += len(c.Global.StatsSockets) * (1 + statsSocketMaxconn)
	n += 2 * c.Global.Maxconn
	n += 2 * maxPipes
	n += 3 * c.Threads()
	return n
}

// statsSocketMaxconn is HAProxy's default "maxconn" of a stats socket.
const statsSocketMaxconn = 10
