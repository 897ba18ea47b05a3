package model

import (
	"strconv"

	"dhproxy/internal/config"
)

func init() {
	// "rate-limit sessions <rate>": the frontend accepts at most rate new
	// sessions per second; those beyond wait in the socket's backlog.
	registerProxy("rate-limit", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if len(l.Args) < 2 || l.Args[1] != "sessions" {
			got := ""
			if len(l.Args) > 1 {
				got = l.Args[1]
			}
			b.errorf(l, "'rate-limit' only supports 'sessions' (got '%s')", got)
			return
		}
		if len(l.Args) != 3 {
			b.errorf(l, "'rate-limit sessions' expects an integer value (in sessions/second)")
			return
		}
		n, err := strconv.ParseUint(l.Args[2], 10, 31)
		if err != nil {
			b.errorf(l, "'rate-limit sessions' : '%s' is not a number of sessions per second", l.Args[2])
			return
		}
		if p.Cap == CapBE {
			b.warnf(l, "rate-limit sessions will be ignored because backend '%s' has no frontend capability", p.Name)
			return
		}
		p.RateLimitSessions = int(n)
	})
}
