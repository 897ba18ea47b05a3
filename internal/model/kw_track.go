package model

import (
	"dhproxy/internal/rules"
	"slices"
)

// track-sc* rules name a table ("table NAME", else the section's own):
// each is checked here, once every section is known, so that a rule never
// counts into a table that does not exist.

// stickTableNamed returns the section holding the table called name: a
// backend's, else a frontend's of that name, as the stick rules resolve it.
func (b *builder) stickTableNamed(name string) *Proxy {
	if tp := b.cfg.peerTables[name]; tp != nil {
		return tp
	}
	tp := b.cfg.backends[name]
	if f := b.cfg.frontends[name]; tp == nil || tp.StickTable == nil && f != nil {
		tp = f
	}
	if tp == nil || tp.StickTable == nil {
		return nil
	}
	return tp
}

// resolveTrack checks the tables of p's track-sc* rules and marks them used.
func (b *builder) resolveTrack(p *Proxy, used map[*Proxy]bool) {
	for _, list := range [2][]*rules.Rule{p.HTTPRequestRules, p.HTTPResponseRules} {
		for _, r := range list {
			if r.Action != rules.TrackSC {
				continue
			}
			pos := p.Pos
			if r.Table == "" {
				if p.StickTable == nil {
					b.d.Errorf(pos, "%s '%s': a 'track-sc%d' rule has no table: this section has no 'stick-table'; add one or name another with 'table <name>'.", sectionWord(p), p.Name, r.SC)
					continue
				}
				used[p] = true
				continue
			}
			tp := b.stickTableNamed(r.Table)
			if tp == nil {
				b.d.Errorf(pos, "%s '%s': 'track-sc%d ... table %s': no section named '%s' has a 'stick-table'.", sectionWord(p), p.Name, r.SC, r.Table, r.Table)
				continue
			}
			used[tp] = true
		}
	}
	for _, r := range slices.Concat(p.TCPRequest.Connection, p.TCPRequest.Session, p.TCPRequest.Content) {
		if r.Track == nil {
			continue
		}
		if r.Track.Table == "" {
			if p.StickTable == nil {
				b.d.Errorf(r.Pos, "'tcp-request track-sc%d': this section has no 'stick-table'; add one or name another with 'table <name>'.", r.Track.SC)
				continue
			}
			used[p] = true
			continue
		}
		tp := b.stickTableNamed(r.Track.Table)
		if tp == nil {
			b.d.Errorf(r.Pos, "'tcp-request connection track-sc%d ... table %s': no section named '%s' has a 'stick-table'.", r.Track.SC, r.Track.Table, r.Track.Table)
			continue
		}
		used[tp] = true
	}
}
