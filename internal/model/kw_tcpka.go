package model

import (
	"strconv"
	"time"

	"dhproxy/internal/config"
)

// clitcpka-cnt|idle|intvl and srvtcpka-cnt|idle|intvl: the TCP keepalive
// probes of each side (TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL).
func init() {
	for _, side := range []struct {
		prefix string
		cap    Cap
		field  func(*Proxy) *TCPKeepAlive
	}{
		{"clitcpka", CapFE, func(p *Proxy) *TCPKeepAlive { return &p.CliTCPKA }},
		{"srvtcpka", CapBE, func(p *Proxy) *TCPKeepAlive { return &p.SrvTCPKA }},
	} {
		// On the wrong side HAProxy only warns, so a configuration it
		// loads loads here too.
		wrongSide := func(b *builder, p *Proxy, l config.Line) bool {
			if p.Cap&(side.cap|CapDef) != 0 {
				return false
			}
			b.warnf(l, "%s will be ignored because %s '%s' has no %s capability", l.Args[0], sectionWord(p), p.Name, map[Cap]string{CapFE: "frontend", CapBE: "backend"}[side.cap])
			return true
		}
		registerProxy(side.prefix+"-cnt", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
			if !b.wantArgs(l, 1, 1, l.Args[0]+" <count>") || wrongSide(b, p, l) {
				return
			}
			if n, ok := b.intArg(l, 1); ok {
				side.field(p).Count = n // 0: the system's
			}
		})
		for _, kw := range []string{"-idle", "-intvl"} {
			registerProxy(side.prefix+kw, CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
				if !b.wantArgs(l, 1, 1, l.Args[0]+" <timeout>") || wrongSide(b, p, l) {
					return
				}
				d, err := keepAliveTime(l.Args[1])
				if err != nil {
					b.errorf(l, "'%s': %v.", l.Args[0], err)
					return
				}
				if kw == "-idle" {
					side.field(p).Idle = d
				} else {
					side.field(p).Intvl = d
				}
			})
		}
	}
}

// keepAliveTime reads a keepalive time: seconds without a unit, as
// HAProxy reads them. The socket options count in seconds: a shorter
// time is one second; 0 leaves the system's.
func keepAliveTime(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		s = strconv.Itoa(n) + "s"
	}
	d, err := parseDuration(s)
	if err == nil && d > 0 && d < time.Second {
		d = time.Second
	}
	return d, err
}
