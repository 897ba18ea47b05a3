package model

import (
	"strconv"

	"dhproxy/internal/config"
)

// tuneArg is the shape of a tune.* keyword's argument.
type tuneArg uint8

const (
	tuneInt    tuneArg = iota // a decimal integer between min and max
	tuneOptInt                // the same, or nothing
	tuneOnOff                 // "on" or "off"
	tuneTime                  // a time value ("5s", "100ms")
	tuneNone                  // no argument
)

// tuneSetting is one tune.* keyword HAProxy 2.6 documents (configuration
// manual section 3.2) that has no effect in dhproxy: its argument is checked
// as HAProxy checks it, then a warning says why nothing changes.
type tuneSetting struct {
	arg      tuneArg
	min, max int64
	why      string
}

const (
	whyBuffers = "dhproxy draws its buffers from a shared pool without a count limit"
	whyComp    = "dhproxy compresses with Go's compress/flate, whose window size and memory level are fixed"
	whyLua     = "dhproxy has no Lua engine"
	whyQUIC    = "dhproxy has no QUIC support"
	whySSL     = "Go's crypto/tls has no such setting"
	whyPoller  = "dhproxy's accept loops and scheduling are Go's, not HAProxy's poller and task scheduler"
	whyPools   = "dhproxy keeps one pool of idle server connections per backend, shared by every thread and purged after 5 s, with no descriptor-ratio limits"
	whySockBuf = "dhproxy leaves socket buffer sizes to the kernel"
	whyVars    = "dhproxy does not bound the memory of variables per scope"
	whyNoLimit = "dhproxy does not use this limit"
)

const maxInt32 = 1<<31 - 1

var tuneSettings = map[string]tuneSetting{
	"tune.buffers.limit":                       {tuneInt, 0, maxInt32, whyBuffers},
	"tune.buffers.reserve":                     {tuneInt, 0, maxInt32, whyBuffers},
	"tune.fail-alloc":                          {tuneOptInt, 0, 100, "it is a HAProxy memory debugging aid"},
	"tune.fd.edge-triggered":                   {tuneOnOff, 0, 0, whyPoller},
	"tune.http.cookielen":                      {tuneInt, 0, maxInt32, "'capture cookie' is not implemented yet"},
	"tune.http.logurilen":                      {tuneInt, 0, maxInt32, "log lines always keep up to 1023 bytes of the request line, HAProxy's default"},
	"tune.idle-pool.shared":                    {tuneOnOff, 0, 0, whyPools},
	"tune.idletimer":                           {tuneTime, 0, 65535, whyPoller},
	"tune.listener.multi-queue":                {tuneOnOff, 0, 0, whyPoller},
	"tune.lua.forced-yield":                    {tuneOptInt, 0, maxInt32, whyLua},
	"tune.lua.maxmem":                          {tuneInt, 0, maxInt32, whyLua},
	"tune.lua.service-timeout":                 {tuneTime, 0, maxInt32, whyLua},
	"tune.lua.session-timeout":                 {tuneTime, 0, maxInt32, whyLua},
	"tune.lua.task-timeout":                    {tuneTime, 0, maxInt32, whyLua},
	"tune.maxaccept":                           {tuneInt, -1, maxInt32, whyPoller},
	"tune.maxpollevents":                       {tuneInt, 0, maxInt32, whyPoller},
	"tune.pattern.cache-size":                  {tuneInt, 0, maxInt32, "dhproxy's ACL matching has no lookup cache"},
	"tune.peers.max-updates-at-once":           {tuneInt, 1, maxInt32, "'peers' sections are not implemented yet"},
	"tune.pipesize":                            {tuneInt, 0, maxInt32, "dhproxy does not splice through pipes"},
	"tune.pool-high-fd-ratio":                  {tuneInt, 0, 100, whyPools},
	"tune.pool-low-fd-ratio":                   {tuneInt, 0, 100, whyPools},
	"tune.quic.frontend.conn-tx-buffers.limit": {tuneInt, 0, maxInt32, whyQUIC},
	"tune.quic.frontend.max-idle-timeout":      {tuneTime, 0, maxInt32, whyQUIC},
	"tune.quic.frontend.max-streams-bidi":      {tuneInt, 0, maxInt32, whyQUIC},
	"tune.quic.retry-threshold":                {tuneInt, 0, maxInt32, whyQUIC},
	"tune.rcvbuf.client":                       {tuneInt, 0, maxInt32, whySockBuf},
	"tune.rcvbuf.server":                       {tuneInt, 0, maxInt32, whySockBuf},
	"tune.recv_enough":                         {tuneInt, 0, maxInt32, whyPoller},
	"tune.runqueue-depth":                      {tuneInt, 0, maxInt32, whyPoller},
	"tune.sched.low-latency":                   {tuneOnOff, 0, 0, whyPoller},
	"tune.sndbuf.client":                       {tuneInt, 0, maxInt32, whySockBuf},
	"tune.sndbuf.server":                       {tuneInt, 0, maxInt32, whySockBuf},
	"tune.ssl.cachesize":                       {tuneInt, 0, maxInt32, "Go's crypto/tls resumes sessions by tickets only (tls-ticket-keys, tune.ssl.lifetime), it has no session-ID cache"},
	"tune.ssl.capture-buffer-size":             {tuneInt, 0, maxInt32, whySSL},
	"tune.ssl.capture-cipherlist-size":         {tuneInt, 0, maxInt32, whySSL + " (and HAProxy 2.7 removes this name: use tune.ssl.capture-buffer-size)"},
	"tune.ssl.default-dh-param":                {tuneInt, 1024, maxInt32, whySSL},
	"tune.ssl.force-private-cache":             {tuneNone, 0, 0, whySSL},
	"tune.ssl.hard-maxrecord":                  {tuneInt, 0, maxInt32, whySSL},
	"tune.ssl.keylog":                          {tuneOnOff, 0, 0, whySSL},
	"tune.ssl.maxrecord":                       {tuneInt, 0, maxInt32, whySSL},
	"tune.ssl.ssl-ctx-cache-size":              {tuneInt, 0, maxInt32, whySSL},
	"tune.vars.global-max-size":                {tuneInt, 0, maxInt32, whyVars},
	"tune.vars.proc-max-size":                  {tuneInt, 0, maxInt32, whyVars},
	"tune.vars.reqres-max-size":                {tuneInt, 0, maxInt32, whyVars},
	"tune.vars.sess-max-size":                  {tuneInt, 0, maxInt32, whyVars},
	"tune.vars.txn-max-size":                   {tuneInt, 0, maxInt32, whyVars},
	"tune.zlib.memlevel":                       {tuneInt, 1, 9, whyComp},
	"tune.zlib.windowsize":                     {tuneInt, 8, 15, whyComp},
}

func init() {
	for name, t := range tuneSettings {
		registerGlobal(name, func(b *builder, g *Global, l config.Line) {
			if t.check(b, l) {
				b.warnf(l, "'%s' has no effect in dhproxy: %s.", name, t.why)
			}
		})
	}
	// HAProxy reads tune.ssl.lifetime in seconds when no unit is given.
	registerGlobal("tune.ssl.lifetime", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "tune.ssl.lifetime <timeout>") {
			return
		}
		v := l.Args[1]
		if v != "" && v[len(v)-1] >= '0' && v[len(v)-1] <= '9' {
			v += "s"
		}
		d, err := parseDuration(v)
		if err != nil || d <= 0 {
			b.errorf(l, "'tune.ssl.lifetime %s': expects a positive time value (seconds by default).", l.Args[1])
			return
		}
		g.SSLBind.Lifetime = d
	})
	registerGlobal("tune.bufsize", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "tune.bufsize <bytes>") {
			return
		}
		n, err := parseSize(l.Args[1])
		if err != nil || n < 1024 || n > 1<<24 {
			b.errorf(l, "'tune.bufsize %s': expects a size between 1k and 16m.", l.Args[1])
			return
		}
		g.BufSize = n
	})
	registerGlobal("tune.maxrewrite", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "tune.maxrewrite <bytes>") {
			if n, err := parseSize(l.Args[1]); err == nil {
				g.MaxRewrite = n
			} else {
				b.errorf(l, "'tune.maxrewrite': %v.", err)
			}
		}
	})
	// HTTP/2 connection settings (internal/h2), with haproxy 2.6's ranges.
	for name, t := range map[string]struct {
		set      func(*Global, uint32)
		min, max int64
	}{
		"tune.h2.header-table-size":      {func(g *Global, v uint32) { g.H2.HeaderTableSize = v }, 4096, 65536},
		"tune.h2.initial-window-size":    {func(g *Global, v uint32) { g.H2.InitialWindowSize = v }, 0, maxInt32},
		"tune.h2.max-concurrent-streams": {func(g *Global, v uint32) { g.H2.MaxConcurrentStreams = v }, 0, maxInt32},
		"tune.h2.max-frame-size":         {func(g *Global, v uint32) { g.H2.MaxFrameSize = v }, 16384, 16777215},
	} {
		registerGlobal(name, func(b *builder, g *Global, l config.Line) {
			if n, ok := (tuneSetting{arg: tuneInt, min: t.min, max: t.max}).value(b, l); ok {
				t.set(g, uint32(n))
			}
		})
	}
	registerGlobal("tune.comp.maxlevel", func(b *builder, g *Global, l config.Line) {
		if n, ok := (tuneSetting{arg: tuneInt, min: 1, max: 9}).value(b, l); ok {
			g.CompMaxLevel = int(n)
		}
	})
	registerGlobal("tune.http.maxhdr", func(b *builder, g *Global, l config.Line) {
		// The manual says 1..32767, but haproxy 2.6 refuses to start below
		// 5: its own error pages no longer parse.
		if n, ok := (tuneSetting{arg: tuneInt, min: 5, max: 32767}).value(b, l); ok {
			g.MaxHdr = int(n)
		}
	})
}

// check validates l's argument against t, reporting errors on l.
func (t tuneSetting) check(b *builder, l config.Line) bool {
	_, ok := t.value(b, l)
	return ok
}

// value validates l's argument against t and returns it for integers.
func (t tuneSetting) value(b *builder, l config.Line) (int64, bool) {
	name, args := l.Args[0], l.Args[1:]
	want := 1
	if t.arg == tuneNone || (t.arg == tuneOptInt && len(args) == 0) {
		want = 0
	}
	if len(args) > want {
		b.errorf(l, "'%s' cannot handle unexpected argument '%s'.", name, args[want])
		return 0, false
	}
	if want == 0 {
		return 0, true
	}
	if len(args) == 0 {
		args = []string{""}
	}
	v := args[0]
	switch t.arg {
	case tuneOnOff:
		if v != "on" && v != "off" {
			b.errorf(l, "'%s' expects either 'on' or 'off' but got '%s'.", name, v)
			return 0, false
		}
	case tuneTime:
		d, err := parseDuration(v)
		if err != nil {
			b.errorf(l, "'%s': %v.", name, err)
			return 0, false
		}
		if ms := d.Milliseconds(); ms > t.max {
			b.errorf(l, "'%s' expects a time value between 0 and %d ms.", name, t.max)
			return 0, false
		}
	default:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < t.min || n > t.max {
			b.errorf(l, "'%s' expects an integer between %d and %d, got '%s'.", name, t.min, t.max, v)
			return 0, false
		}
		return n, true
	}
	return 0, true
}
