package model

import (
	"net"
	"strings"

	"dhproxy/internal/config"
)

// peers sections (HAProxy's configuration manual 3.5): the processes that
// share stick tables, one of them this one (the "local peer", named by -L,
// "localpeer" or the host name). A table says "peers <section>" to be
// shared; a "table" line of the section declares one that proxies name as
// "<section>/<table>".
//
//	peers mypeers
//	    peer lb1 10.0.0.1:10000
//	    peer lb2 10.0.0.2:10000
//	backend app
//	    stick-table type ip size 100k expire 30m peers mypeers

// Peers is a "peers <name>" section.
type Peers struct {
	Pos      config.Pos
	Name     string
	Disabled bool    // "disabled": no listener, no synchronization
	Peers    []*Peer // "peer" and "server" lines, in order
	Bind     string  // "bind" address: the local peer's, with "server <local>" lines
	BindPos  config.Pos
	// Tables are the section's "table" lines, each a section of its own
	// named "<peers>/<table>" that holds only the table.
	Tables []*Proxy
	// Set by ResolvePeers: the local peer (nil: the section is removed).
	Local *Peer
}

// Peer is a "peer <name> <addr>" or "server <name> [<addr>]" line.
type Peer struct {
	Pos    config.Pos
	Name   string
	Addr   string // host:port; empty on a "server" line of the local peer
	Server bool   // written as "server"
}

func init() {
	registerGlobal("localpeer", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "localpeer <name>") {
			g.LocalPeer = l.Args[1]
		}
	})
}

var peersKeywords = []string{"bind", "default-bind", "default-server", "disabled", "log", "peer", "server", "table"}

// PeersSection returns the peers section named name, or nil.
func (c *Config) PeersSection(name string) *Peers {
	for _, p := range c.PeersList {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func (b *builder) buildPeers(s *config.Section) {
	if len(s.Args) == 0 || s.Args[0] == "" {
		b.d.Errorf(s.Pos, "missing name for peers section; write 'peers <name>'.")
		return
	}
	ps := &Peers{Pos: s.Pos, Name: s.Args[0]}
	if err := checkName(ps.Name); err != "" {
		b.d.Errorf(s.Pos, "character '%s' is not permitted in 'peers' name '%s'.", err, ps.Name)
		return
	}
	if other := b.cfg.PeersSection(ps.Name); other != nil {
		b.d.Errorf(s.Pos, "peers section '%s' has the same name as another peers section declared at %s; rename one of them.", ps.Name, other.Pos)
		return
	}
	b.cfg.PeersList = append(b.cfg.PeersList, ps)
	for _, l := range s.Lines {
		switch kw := l.Args[0]; kw {
		case "peer", "server":
			b.parsePeer(ps, l)
		case "bind":
			if !b.wantArgs(l, 1, 1, "bind <address>:<port> (dhproxy takes no bind parameters in peers sections yet)") {
				continue
			}
			if _, _, err := net.SplitHostPort(l.Args[1]); err != nil {
				b.errorf(l, "'bind %s' in peers section '%s': %v; write <address>:<port>.", l.Args[1], ps.Name, err)
				continue
			}
			if ps.Bind != "" {
				b.errorf(l, "peers section '%s' already has a 'bind' line (at %s).", ps.Name, ps.BindPos)
				continue
			}
			ps.Bind, ps.BindPos = l.Args[1], l.Pos
		case "default-bind", "default-server":
			if len(l.Args) > 1 {
				b.errorf(l, "'%s %s' in a peers section: parameters of peer connections (TLS, timeouts) are not supported by dhproxy yet; remove them.", kw, strings.Join(l.Args[1:], " "))
			}
		case "disabled":
			ps.Disabled = true
		case "log":
			b.notYetOnce(l, "'log' in a peers section", "logging peer events to log servers (they go to stderr)")
		case "table":
			b.parsePeersTable(ps, l)
		default:
			b.errorf(l, "unknown keyword '%s' in 'peers' section%s", kw, suggest(kw, peersKeywords))
		}
	}
}

func (b *builder) parsePeer(ps *Peers, l config.Line) {
	kw := l.Args[0]
	usage := kw + " <peername> <ip>:<port>"
	if kw == "server" {
		usage = "server <peername> [<ip>:<port>]"
	}
	if !b.wantArgs(l, 1, -1, usage) {
		return
	}
	if len(l.Args) > 3 {
		b.errorf(l, "'%s %s': parameter '%s' is not supported on peer lines by dhproxy yet (haproxy 2.6 takes server options there; 'shard' is not one of them); remove it.", kw, l.Args[1], l.Args[3])
		return
	}
	p := &Peer{Pos: l.Pos, Name: l.Args[1], Server: kw == "server"}
	if len(l.Args) == 2 && kw == "peer" {
		b.errorf(l, "'peer %s' needs an address; usage: %s", p.Name, usage)
		return
	}
	if len(l.Args) == 3 {
		if _, _, err := net.SplitHostPort(l.Args[2]); err != nil {
			b.errorf(l, "'%s %s %s': %v; write <ip>:<port>.", kw, p.Name, l.Args[2], err)
			return
		}
		p.Addr = l.Args[2]
	}
	for _, o := range ps.Peers {
		if o.Name == p.Name {
			b.errorf(l, "peer '%s' is already declared in peers section '%s' (at %s).", p.Name, ps.Name, o.Pos)
			return
		}
	}
	ps.Peers = append(ps.Peers, p)
}

// parsePeersTable reads "table <name> type ... size ..." as a stick-table
// line of a section "<peers>/<name>" shared through ps.
func (b *builder) parsePeersTable(ps *Peers, l config.Line) {
	if !b.wantArgs(l, 3, -1, "table <tablename> type {ip | ipv6 | integer | string [len <length>]} size <size> [expire <expire>] [nopurge] [store <data_type>]*") {
		return
	}
	name := ps.Name + "/" + l.Args[1]
	for _, t := range ps.Tables {
		if t.Name == name {
			b.errorf(l, "table '%s' is already declared in peers section '%s' (at %s).", l.Args[1], ps.Name, t.Pos)
			return
		}
	}
	p := &Proxy{Pos: l.Pos, Name: name}
	stick := config.Line{Pos: l.Pos, Args: append([]string{"stick-table"}, l.Args[2:]...)}
	for _, a := range stick.Args {
		if a == "peers" {
			b.errorf(l, "'table %s': a table of a peers section is shared by that section; remove 'peers'.", l.Args[1])
			return
		}
	}
	parseStickTable(b, p, stick)
	if p.StickTable == nil {
		return
	}
	p.StickTable.Peers = ps.Name
	ps.Tables = append(ps.Tables, p)
	if b.cfg.peerTables == nil {
		b.cfg.peerTables = map[string]*Proxy{}
	}
	b.cfg.peerTables[name] = p
}

// resolveStickPeers links each "stick-table ... peers <name>" to its
// section.
func (b *builder) resolveStickPeers() {
	for _, p := range b.cfg.Proxies {
		if t := p.StickTable; t != nil && t.Peers != "" {
			if t.PeersSection = b.cfg.PeersSection(t.Peers); t.PeersSection == nil {
				b.d.Errorf(t.Pos, "Proxy '%s': unable to find sync peers '%s'; declare a 'peers %s' section.", p.Name, t.Peers, t.Peers)
			}
		}
	}
	for _, ps := range b.cfg.PeersList {
		for _, p := range ps.Tables {
			p.StickTable.PeersSection = ps
		}
	}
}

// ResolvePeers finds each section's local peer, named local (-L,
// "localpeer" or the host name). A section without it is removed, with
// HAProxy's warning: its tables are then not shared.
func (c *Config) ResolvePeers(local string, d *config.Diags) {
	c.LocalPeer = local
	for _, ps := range c.PeersList {
		ps.Local = nil
		for _, p := range ps.Peers {
			if p.Name == local {
				ps.Local = p
			}
		}
		switch l := ps.Local; {
		case l == nil:
			d.Warnf(ps.Pos, "Removing incomplete section 'peers %s' (no peer named '%s').", ps.Name, local)
			continue
		case l.Server && l.Addr != "":
			d.Errorf(l.Pos, "'server %s' is the local peer: no address was expected for it; put its address on a 'bind' line of peers section '%s'.", l.Name, ps.Name)
		case l.Server && ps.Bind == "":
			d.Errorf(l.Pos, "'server %s' is the local peer but peers section '%s' has no 'bind' line giving its address.", l.Name, ps.Name)
		case !l.Server && ps.Bind != "":
			d.Errorf(ps.BindPos, "peers section '%s': 'bind' goes with 'server' lines; the local peer '%s' is declared by a 'peer' line with its address already.", ps.Name, l.Name)
		}
		for _, p := range ps.Peers {
			if p != ps.Local && p.Addr == "" {
				d.Errorf(p.Pos, "'server %s' in peers section '%s' needs an address (only the local peer '%s' has none).", p.Name, ps.Name, local)
			}
		}
	}
}

// PeerTables are the tables of every peers section's "table" lines.
func (c *Config) PeerTables() []*Proxy {
	var out []*Proxy
	for _, ps := range c.PeersList {
		out = append(out, ps.Tables...)
	}
	return out
}

// ListenAddr is the address the local peer listens on.
func (ps *Peers) ListenAddr() string {
	if ps.Local != nil && ps.Local.Addr != "" {
		return ps.Local.Addr
	}
	return ps.Bind
}

// Active tells whether the section synchronizes: it has its local peer
// and is not disabled.
func (ps *Peers) Active() bool { return ps != nil && ps.Local != nil && !ps.Disabled }
