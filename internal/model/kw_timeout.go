package model

import (
	"time"

	"dhproxy/internal/config"
)

// timeoutFields maps "timeout X" to its field; the side says where it is allowed.
var timeoutFields = map[string]struct {
	caps  Cap
	field func(*Timeouts) *time.Duration
}{
	"connect":         {CapBE | CapDef, func(t *Timeouts) *time.Duration { return &t.Connect }},
	"client":          {CapFE | CapDef, func(t *Timeouts) *time.Duration { return &t.Client }},
	"server":          {CapBE | CapDef, func(t *Timeouts) *time.Duration { return &t.Server }},
	"http-request":    {CapFE | CapBE | CapDef, func(t *Timeouts) *time.Duration { return &t.HTTPRequest }},
	"http-keep-alive": {CapFE | CapBE | CapDef, func(t *Timeouts) *time.Duration { return &t.HTTPKeepAlive }},
	"queue":           {CapBE | CapDef, func(t *Timeouts) *time.Duration { return &t.Queue }},
	"tunnel":          {CapBE | CapDef, func(t *Timeouts) *time.Duration { return &t.Tunnel }},
	"client-fin":      {CapFE | CapDef, func(t *Timeouts) *time.Duration { return &t.ClientFin }},
	"server-fin":      {CapBE | CapDef, func(t *Timeouts) *time.Duration { return &t.ServerFin }},
	"check":           {CapBE | CapDef, func(t *Timeouts) *time.Duration { return &t.Check }},
	"tarpit":          {CapFE | CapBE | CapDef, func(t *Timeouts) *time.Duration { return &t.Tarpit }},
}

// The HAProxy 1.4 spellings, refused by HAProxy 2.1+; dhproxy still reads them.
var oldTimeouts = map[string]string{"contimeout": "connect", "clitimeout": "client", "srvtimeout": "server"}

func init() {
	registerProxy("timeout", CapFE|CapBE|CapDef, parseTimeout)
	for old, modern := range oldTimeouts {
		modern := modern
		registerProxy(old, CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
			b.warnf(l, "'%s' is deprecated (removed in HAProxy 2.1); write 'timeout %s %s' instead.", l.Args[0], modern, argOr(l, 1))
			parseTimeout(b, p, config.Line{Pos: l.Pos, Args: append([]string{"timeout", modern}, l.Args[1:]...)})
		})
	}
}

func argOr(l config.Line, i int) string {
	if i < len(l.Args) {
		return l.Args[i]
	}
	return "<value>"
}

func parseTimeout(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 2, 2, "timeout <connect|client|server|http-request|http-keep-alive|queue|tunnel|client-fin|server-fin|check|tarpit> <time>") {
		return
	}
	f, ok := timeoutFields[l.Args[1]]
	if !ok {
		b.errorf(l, "'timeout %s' is not a timeout; use one of connect, client, server, http-request, http-keep-alive, queue, tunnel, client-fin, server-fin, check, tarpit.", l.Args[1])
		return
	}
	d, err := parseDuration(l.Args[2])
	if err != nil {
		b.errorf(l, "'timeout %s': %v.", l.Args[1], err)
		return
	}
	if f.caps&p.Cap == 0 {
		b.warnf(l, "'timeout %s' has no effect in a '%s' section; it applies to %s.", l.Args[1], sectionWord(p), capWords(f.caps&^CapDef))
		return
	}
	*f.field(&p.Timeouts) = d
}
