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
}

// MaxPipes is the size of dhproxy's pipe pool: "maxpipes", or HAProxy's
// default over the proxies that splice, which in dhproxy are the mode tcp
// ones (HAProxy splices only with "option splice-*"). Without a global
// maxconn, half of fdLimit stands for it.
func (c *Config) MaxPipes(fdLimit int) int {
	if c.Global.NoSplice {
		return 0 // "nosplice": every byte goes through a buffer
	}
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
	return c.idealPipes(haproxySplices, 0)
}

// haproxySplices reports whether HAProxy splices p's data.
func haproxySplices(p *Proxy) bool {
	return p.Options["splice-auto"] || p.Options["splice-request"] || p.Options["splice-response"]
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
// needs: the fixed ones (fixedSocks), two per connection and two per pipe.
// 0 without a global maxconn.
func (c *Config) MaxSock(maxPipes int) int {
	if c.Global.Maxconn == 0 {
		return 0
	}
	return c.fixedSocks() + 2*c.Global.Maxconn + 2*maxPipes
}

// fixedSocks is the part of HAProxy's maxsock that does not depend on
// maxconn: ten spare, one per listening socket and per health check (two
// per agent check), one per stats socket plus the runtime API's "stats
// maxconn" once, and per thread one poller and a wake-up pipe.
func (c *Config) fixedSocks() int {
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
	// The runtime API frontend exists once any "stats" line made it.
	n += len(c.Global.StatsSockets)
	if len(c.Global.StatsSockets) > 0 || c.Global.StatsTimeout > 0 || c.Global.StatsMaxconn > 0 {
		n += c.Global.CLIMaxconn()
	}
	n += 3 * c.Threads()
	return n
}

// IdealMaxconn is HAProxy 2.6's global maxconn when none is configured
// (compute_ideal_maxconn): the descriptors of fdLimit (the larger of the
// soft and hard limits at start) left after the fixed ones, two per
// connection, less two per splicing pipe when their count is known, else
// half a pipe per connection; never below HAProxy's DEFAULT_MAXCONN of 100.
// Like HAProxy it ignores "maxpipes", which may then not fit.
func (c *Config) IdealMaxconn(fdLimit int) int {
	remain := fdLimit - c.fixedSocks()
	pipes, unlimited := c.splicePipesNoMaxconn() // "maxpipes" is not counted
	var n int
	if unlimited {
		n = 2 * remain / 5
	} else {
		if 2*pipes < remain {
			remain -= 2 * pipes
		}
		n = remain / 2
	}
	return max(n, defaultMaxconn)
}

// defaultMaxconn is HAProxy's DEFAULT_MAXCONN, the least implicit maxconn.
const defaultMaxconn = 100

// splicePipesNoMaxconn is HAProxy's compute_ideal_maxpipes before a global
// maxconn exists: unlimited when a splicing frontend has no maxconn or a
// splicing backend no fullconn, else a quarter of their sessions.
func (c *Config) splicePipesNoMaxconn() (pipes int, unlimited bool) {
	var fe, be int
	for _, p := range c.Proxies {
		if p.Disabled || !haproxySplices(p) {
			continue
		}
		if p.IsFrontend() {
			if p.Maxconn == 0 {
				return 0, true
			}
			fe += p.Maxconn
		}
		if p.IsBackend() {
			if p.Fullconn == 0 {
				return 0, true
			}
			be += p.Fullconn
		}
	}
	pipes = max(fe, be)
	if pipes >= 4 {
		pipes /= 4
	}
	return pipes, false
}

// CLIMaxconn is "stats maxconn", or HAProxy's default of 10 runtime API
// sessions at once.
func (g *Global) CLIMaxconn() int {
	if g.StatsMaxconn > 0 {
		return g.StatsMaxconn
	}
	return 10
}
