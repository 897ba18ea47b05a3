package model

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"dhproxy/internal/config"
	"dhproxy/internal/sample"
)

func init() {
	registerProxy("dynamic-cookie-key", CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if b.wantArgs(l, 1, 1, "dynamic-cookie-key <string>") {
			p.DynamicCookieKey = l.Args[1]
		}
	})
}

// dynamicCookies gives the servers of a backend with "cookie ... dynamic"
// and a "dynamic-cookie-key" their cookie, unless they have one: the XXH64
// of key, address bytes and port (4 bytes, big-endian) as 16 hex digits,
// as HAProxy computes it, so that several load balancers agree. Without a
// key, or for a server named by a host name, there is no cookie (HAProxy
// says nothing either).
func (b *builder) dynamicCookies() {
	for _, p := range b.cfg.Proxies {
		if p.Cookie == nil || !p.Cookie.Dynamic || p.DynamicCookieKey == "" {
			continue
		}
		for _, s := range p.Servers {
			if s.Cookie != "" {
				continue
			}
			ap, err := netip.ParseAddrPort(s.Addr)
			if err != nil {
				continue
			}
			s.Cookie = dynamicCookie(p.DynamicCookieKey, ap)
		}
	}
}

func dynamicCookie(key string, ap netip.AddrPort) string {
	buf := append([]byte(key), ap.Addr().Unmap().AsSlice()...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(ap.Port()))
	return fmt.Sprintf("%016x", sample.XXH64(buf, 0))
}
