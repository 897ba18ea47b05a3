package model

import (
	"fmt"
	"strings"
)

// resolveServerTracking links each "track" server to the server it
// follows, with haproxy's checks: the proxy and server exist, the server
// has no check of its own, and the chain ends at a server with a health
// check or an agent, without looping.
func (b *builder) resolveServerTracking() {
	for _, p := range b.cfg.Proxies {
		for _, s := range p.Servers {
			if s.Track == "" {
				continue
			}
			pname, sname := p.Name, s.Track
			if i := strings.IndexByte(s.Track, '/'); i >= 0 {
				pname, sname = s.Track[:i], s.Track[i+1:]
			}
			tp := b.cfg.backends[pname]
			if tp == nil {
				b.d.Errorf(s.Pos, "'server %s/%s' : unable to find required proxy '%s' for tracking.", p.Name, s.Name, pname)
				continue
			}
			var ts *Server
			for _, o := range tp.Servers {
				if o.Name == sname {
					ts = o
					break
				}
			}
			if ts == nil {
				b.d.Errorf(s.Pos, "'server %s/%s' : unable to find required server '%s' for tracking.", p.Name, s.Name, sname)
				continue
			}
			if s.Check {
				b.d.Errorf(s.Pos, "'server %s/%s' : unable to enable checks and tracking at the same time!", p.Name, s.Name)
				continue
			}
			s.Tracked, s.TrackedProxy = ts, tp
		}
	}
	var faulty []*Server
	for _, p := range b.cfg.Proxies {
		for _, s := range p.Servers {
			if s.Tracked == nil {
				continue
			}
			if msg, ok := trackChainFault(p, s); !ok {
				if msg != "" {
					b.d.Errorf(s.Pos, "'server %s/%s' : %s", p.Name, s.Name, msg)
				}
				faulty = append(faulty, s)
			}
		}
	}
	for _, s := range faulty {
		s.Tracked, s.TrackedProxy = nil, nil
	}
}

// trackChainFault follows s's tracking chain: ok when it ends at a server
// with a check or an agent; else why not, "" when a server further down
// the chain has its own error already.
func trackChainFault(p *Proxy, s *Server) (msg string, ok bool) {
	first := s.TrackedProxy.Name + "/" + s.Tracked.Name
	seen := map[*Server]bool{s: true}
	for cur := s.Tracked; ; cur = cur.Tracked {
		if seen[cur] {
			return fmt.Sprintf("unable to track %s as it belongs to a tracking chain looping back to %s/%s.", first, p.Name, s.Name), false
		}
		seen[cur] = true
		if cur.Tracked != nil {
			continue
		}
		switch {
		case cur.Track != "":
			return "", false // its own line is in error
		case !cur.Check && !cur.Health.Agent:
			if cur == s.Tracked {
				return fmt.Sprintf("unable to use %s for tracking as it does not have any check nor agent enabled.", first), false
			}
			return "", false
		}
		return "", true
	}
}
