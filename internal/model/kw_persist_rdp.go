package model

import (
	"strings"

	"dhproxy/internal/config"
)

// "persist rdp-cookie[(<name>)]": a mode tcp connection whose RDP cookie
// names a server's IPv4 address and port goes to that server
// (internal/stream/rdp_persist.go).

func init() {
	registerProxy("persist", CapFE|CapBE|CapDef, parsePersist)
}

func parsePersist(b *builder, p *Proxy, l config.Line) {
	if len(l.Args) < 2 {
		b.errorf(l, "missing persist method (write 'persist rdp-cookie').")
		return
	}
	method := l.Args[1]
	if !strings.HasPrefix(method, "rdp-cookie") {
		b.errorf(l, "unknown persist method '%s' (haproxy 2.6 has only 'rdp-cookie' and 'rdp-cookie(<name>)').", method)
		return
	}
	name := "msts"
	if rest := method[len("rdp-cookie"):]; rest != "" {
		inner, ok := strings.CutPrefix(rest, "(")
		if ok {
			inner, ok = strings.CutSuffix(inner, ")")
		}
		if !ok || inner == "" {
			b.errorf(l, "'persist rdp-cookie(name)' requires an rdp cookie name.")
			return
		}
		name = inner
	}
	if p.Cap&(CapBE|CapDef) == 0 {
		b.warnf(l, "'persist' is ignored in a frontend: persistence is the backend's (put it in the backend or listen section).")
		return
	}
	p.PersistRDPCookie = name
}
