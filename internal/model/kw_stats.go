package model

import (
	"strings"

	"dhproxy/internal/config"
)

// statsWords are the "stats" sub-keywords a proxy accepts, with argument counts (-1: any).
var statsWords = map[string]int{
	"enable": 0, "uri": 1, "realm": 1, "auth": 1, "refresh": 1, "scope": 1, "hide-version": 0,
	"show-legends": 0, "show-node": -1, "show-desc": -1, "show-modules": 0, "admin": -1, "http-request": -1,
	"bind-process": 1,
}

func init() {
	registerProxy("stats", CapFE|CapBE|CapDef, parseStats)
}

func parseStats(b *builder, p *Proxy, l config.Line) {
	if len(l.Args) < 2 {
		b.errorf(l, "'stats' expects a sub-keyword: enable, uri, realm, auth, refresh, scope, hide-version, show-legends, show-node, show-desc, admin.")
		return
	}
	sub := l.Args[1]
	n, ok := statsWords[sub]
	if !ok {
		if sub == "socket" || sub == "timeout" || sub == "maxconn" {
			b.errorf(l, "'stats %s' belongs in the 'global' section.", sub)
		} else {
			b.errorf(l, "unknown 'stats' sub-keyword '%s'.", sub)
		}
		return
	}
	if n >= 0 && len(l.Args)-2 != n {
		b.errorf(l, "'stats %s' expects %d argument(s).", sub, n)
		return
	}
	if p.Stats == nil {
		p.Stats = &Stats{}
	}
	s := p.Stats
	s.Enabled = true
	switch sub {
	case "uri":
		s.URI = l.Args[2]
	case "realm":
		s.Realm = l.Args[2]
	case "auth":
		if !strings.Contains(l.Args[2], ":") {
			b.errorf(l, "'stats auth' expects <user>:<password>.")
			return
		}
		s.Auth = append(s.Auth, l.Args[2])
	case "refresh":
		d, err := parseDuration(l.Args[2])
		if err != nil {
			b.errorf(l, "'stats refresh': %v.", err)
			return
		}
		s.Refresh = d
	default:
		s.Other = append(s.Other, append([]string(nil), l.Args[1:]...))
	}
	b.notYetOnce(l, "'stats'", "the statistics page")
}
