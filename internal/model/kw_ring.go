package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/config"
	"dhproxy/internal/logging/logtarget"
)

// Ring is a "ring <name>" section: an in-memory buffer of log lines that
// "log ring@<name>" targets write to, "show events <name>" reads and its
// servers receive over TCP.
//
//	ring buf
//	    format rfc5424
//	    size 32764
//	    server syslog 10.0.0.1:601 log-proto octet-count
type Ring struct {
	Pos         config.Pos
	Name        string
	Description string // "description", else the name
	Format      string // the lines' header ("raw" by default)
	Size        int    // bytes the buffer holds (default 16384)
	MaxLen      int    // a line is cut to this many bytes (default 16384)
	// TimeoutConnect bounds a connection to a server; TimeoutServer is
	// accepted (haproxy 2.6 never times out a ring's server either).
	TimeoutConnect, TimeoutServer time.Duration
	Servers                       []RingServer
}

// RingServer is a "server" line of a ring section.
type RingServer struct {
	Pos        config.Pos
	Name, Addr string // host:port
	OctetCount bool   // "log-proto octet-count": "<len> <line>" frames; else "<line>\n"
}

// DefaultRingSize is haproxy's BUFSIZE, a ring's default size and maxlen.
const DefaultRingSize = 16384

// RingSection returns the ring named name, or nil.
func (c *Config) RingSection(name string) *Ring {
	for _, r := range c.Rings {
		if r.Name == name {
			return r
		}
	}
	return nil
}

func (b *builder) buildRing(s *config.Section) {
	if len(s.Args) == 0 || s.Args[0] == "" {
		b.d.Errorf(s.Pos, "missing ring name.")
		return
	}
	r := &Ring{Pos: s.Pos, Name: s.Args[0], Description: s.Args[0], Format: "raw", Size: DefaultRingSize, MaxLen: DefaultRingSize}
	if err := checkName(r.Name); err != "" {
		b.d.Errorf(s.Pos, "invalid ring name '%s' (character '%s' is not permitted).", r.Name, err)
		return
	}
	if other := b.cfg.RingSection(r.Name); other != nil {
		b.d.Errorf(s.Pos, "sink named '%s' already exists (ring declared at %s).", r.Name, other.Pos)
		return
	}
	b.cfg.Rings = append(b.cfg.Rings, r)
	for _, l := range s.Lines {
		arg := argOr(l, 1)
		switch l.Args[0] {
		case "description":
			if len(l.Args) < 2 {
				b.errorf(l, "missing ring description text.")
				continue
			}
			r.Description = strings.Join(l.Args[1:], " ")
		case "format":
			if !validFormat(arg) {
				b.errorf(l, "unknown format '%s'; use one of %s.", arg, strings.Join(logtarget.Formats, ", "))
				continue
			}
			r.Format = arg
		case "size", "maxlen":
			n, err := strconv.Atoi(arg)
			if err != nil || n <= 0 {
				b.errorf(l, "invalid size '%s' for new sink buffer.", arg)
				continue
			}
			if l.Args[0] == "maxlen" {
				r.MaxLen = n
			} else if n < r.Size {
				b.warnf(l, "ignoring new size '%d' that is smaller than current size '%d' for ring '%s'.", n, r.Size, r.Name)
			} else {
				r.Size = n
			}
		case "timeout":
			if len(l.Args) != 3 || (l.Args[1] != "connect" && l.Args[1] != "server" && l.Args[1] != "client") {
				b.errorf(l, "'timeout' expects 'connect' or 'server' and a time, e.g. 'timeout connect 5s'.")
				continue
			}
			d, err := parseDuration(l.Args[2])
			if err != nil {
				b.errorf(l, "'timeout %s': %v.", l.Args[1], err)
				continue
			}
			switch l.Args[1] {
			case "connect":
				r.TimeoutConnect = d
			case "server":
				r.TimeoutServer = d
			}
		case "server":
			b.ringServer(r, l)
		default:
			b.errorf(l, "unknown statement '%s'%s", l.Args[0], suggest(l.Args[0], []string{"description", "format", "maxlen", "server", "size", "timeout"}))
		}
	}
}

func validFormat(f string) bool {
	for _, v := range logtarget.Formats {
		if v == f {
			return true
		}
	}
	return false
}

// ringServer reads "server <name> <addr>:<port> [log-proto legacy|octet-count]".
func (b *builder) ringServer(r *Ring, l config.Line) {
	if len(l.Args) < 3 {
		b.errorf(l, "'server' expects <name> and <addr>[:<port>] as arguments.")
		return
	}
	srv := RingServer{Pos: l.Pos, Name: l.Args[1], Addr: b.addr(l.Args[2])}
	host, port, err := splitHostPort(strings.TrimPrefix(strings.TrimPrefix(srv.Addr, "tcp@"), "ipv4@"))
	if err != nil || host == "" {
		b.errorf(l, "'server %s/%s' : '%s' is not <addr>:<port>.", r.Name, srv.Name, l.Args[2])
		return
	}
	if _, _, err := parsePortRange(port); err != nil || strings.Contains(port, "-") {
		b.errorf(l, "'server %s/%s' : invalid port '%s'.", r.Name, srv.Name, port)
		return
	}
	srv.Addr = host + ":" + port
	if strings.Contains(host, ":") {
		srv.Addr = "[" + host + "]:" + port
	}
	for i := 3; i < len(l.Args); i++ {
		switch l.Args[i] {
		case "log-proto":
			switch argOr(l, i+1) {
			case "legacy":
			case "octet-count":
				srv.OctetCount = true
			default:
				b.errorf(l, "'server %s/%s' : 'log-proto' expects one of 'legacy' or 'octet-count' but got '%s'.", r.Name, srv.Name, argOr(l, i+1))
				return
			}
			i++
		default:
			b.errorf(l, "'server %s/%s' : option '%s' is not supported on a ring's server by dhproxy (it takes 'log-proto').", r.Name, srv.Name, l.Args[i])
			return
		}
	}
	r.Servers = append(r.Servers, srv)
}

// implicitRing makes the ring haproxy 2.6 creates for a "log tcp@<addr>"
// line (the target then logs to it): named "ring#<n>" in the order of the
// lines, its lines take the target's format and go to one legacy-framed
// ("<line>\n") server. Rings from defaults lines are shared by the proxies
// that inherit them, as haproxy's are.
func (b *builder) implicitRing(pos config.Pos, addr, format string) *Ring {
	r := &Ring{Pos: pos, Name: fmt.Sprintf("ring#%d", len(b.implicitRings)+1),
		Description: fmt.Sprintf("created from logserver declared into '%s' at line %d", pos.File, pos.Line),
		Format:      format, Size: DefaultRingSize, MaxLen: DefaultRingSize,
		Servers: []RingServer{{Pos: pos, Name: addr, Addr: addr}}}
	b.implicitRings = append(b.implicitRings, r)
	return r
}

// resolveRingTargets checks that every "log ring@<name>" names a ring
// section (declared anywhere in the files, as haproxy allows).
func (b *builder) resolveRingTargets() {
	// haproxy creates the implicit rings after the sections' ones
	b.cfg.Rings = append(b.cfg.Rings, b.implicitRings...)
	check := func(logs []LogTarget) {
		for _, t := range logs {
			if name, ok := strings.CutPrefix(t.Address, "ring@"); ok && b.cfg.RingSection(name) == nil {
				b.d.Errorf(t.Pos, "'log %s': no ring section named '%s'; declare 'ring %s'.", t.Address, name, name)
			}
		}
	}
	check(b.cfg.Global.Logs)
	for _, p := range b.cfg.Proxies {
		check(p.Logs)
	}
	for _, f := range b.cfg.LogForwards {
		check(f.Logs)
	}
}
