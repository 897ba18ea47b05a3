package model

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"dhproxy/internal/config"
)

// LogForward is a "log-forward <name>" section: a syslog relay. Messages
// received on its binds (TCP, RFC 6587 framing) and dgram-binds (UDP) are
// parsed (RFC 5424 or RFC 3164 header) and sent again to its log targets,
// each in its own format.
//
//	log-forward sylog-loadb
//	    dgram-bind 127.0.0.1:1514
//	    bind 127.0.0.1:1514
//	    log 10.0.0.1:514 format rfc5424 local0
type LogForward struct {
	Pos        config.Pos
	Name       string
	Binds      []*Bind     // "bind": TCP listeners
	DgramBinds []DgramBind // "dgram-bind": UDP sockets
	Logs       []LogTarget // "log" lines ("log global" is resolved by the sender)
	// Maxconn bounds the TCP connections served at once (haproxy's
	// default for this section: 10); Backlog is the accept queue.
	Maxconn, Backlog int
	TimeoutClient    time.Duration // idle TCP connections are closed after it; 0: never
}

// DgramBind is one UDP address of a "dgram-bind" line.
type DgramBind struct {
	Pos     config.Pos
	Network string // udp, udp4 or udp6
	Addr    netip.AddrPort
}

var logForwardKeywords = []string{"bind", "dgram-bind", "log", "maxconn", "backlog", "timeout"}

func (b *builder) buildLogForward(s *config.Section) {
	if len(s.Args) == 0 || s.Args[0] == "" {
		b.d.Errorf(s.Pos, "missing name for log-forward section; write 'log-forward <name>'.")
		return
	}
	f := &LogForward{Pos: s.Pos, Name: s.Args[0], Maxconn: 10}
	if len(s.Args) > 1 {
		b.d.Errorf(s.Pos, "'log-forward' cannot handle unexpected argument '%s'.", s.Args[1])
		return
	}
	if err := checkName(f.Name); err != "" {
		b.d.Errorf(s.Pos, "character '%s' is not permitted in 'log-forward' name '%s'.", err, f.Name)
		return
	}
	if other := b.cfg.LogForwardSection(f.Name); other != nil {
		b.d.Errorf(s.Pos, "log-forward section '%s' has the same name as another log-forward section declared at %s; rename one of them.", f.Name, other.Pos)
	}
	if other := b.cfg.frontends[f.Name]; other != nil {
		b.d.Errorf(s.Pos, "log forward section '%s' has the same name as %s '%s' declared at %s; rename one of them.", f.Name, sectionWord(other), f.Name, other.Pos)
	} else if other := b.cfg.backends[f.Name]; other != nil {
		b.d.Errorf(s.Pos, "log forward section '%s' has the same name as %s '%s' declared at %s; rename one of them.", f.Name, sectionWord(other), f.Name, other.Pos)
	}
	b.cfg.LogForwards = append(b.cfg.LogForwards, f)
	for _, l := range s.Lines {
		neg := false
		if l.Args[0] == "no" && len(l.Args) > 1 && l.Args[1] == "log" {
			neg, l = true, config.Line{Pos: l.Pos, Args: l.Args[1:]}
		}
		switch l.Args[0] {
		case "bind":
			b.logForwardBind(f, l)
		case "dgram-bind":
			b.logForwardDgramBind(f, l)
		case "log":
			if neg {
				f.Logs = nil
			} else if t, ok := parseLogTarget(b, l, true); ok {
				f.Logs = append(f.Logs, t)
			}
		case "maxconn", "backlog":
			if len(l.Args) < 2 || l.Args[1] == "" {
				b.errorf(l, "'%s' expects an integer argument.", l.Args[0])
				continue
			}
			if len(l.Args) > 2 {
				b.errorf(l, "'%s' cannot handle unexpected argument '%s'.", l.Args[0], l.Args[2])
				continue
			}
			n, err := parseCount(l.Args[1])
			if err != nil {
				b.errorf(l, "'%s': %v.", l.Args[0], err)
				continue
			}
			if l.Args[0] == "maxconn" {
				f.Maxconn = n
			} else {
				f.Backlog = n
			}
		case "timeout":
			if len(l.Args) < 2 || l.Args[1] != "client" {
				b.errorf(l, "unknown keyword '%s' in log-forward section; only 'timeout client' is.", strings.Join(l.Args[:min(2, len(l.Args))], " "))
				continue
			}
			if len(l.Args) < 3 || l.Args[2] == "" {
				b.errorf(l, "missing timeout client value.")
				continue
			}
			d, err := parseDuration(l.Args[2])
			if err != nil {
				b.errorf(l, "'timeout client': %v.", err)
				continue
			}
			f.TimeoutClient = d
		default:
			b.errorf(l, "unknown keyword '%s' in log-forward section%s", l.Args[0], suggest(l.Args[0], logForwardKeywords))
		}
	}
	if len(f.Binds) == 0 && len(f.DgramBinds) == 0 {
		b.d.Warnf(s.Pos, "log-forward '%s' has no 'bind' nor 'dgram-bind' directive: it receives nothing.", f.Name)
	}
}

// logForwardBind reads a TCP "bind" line with the proxies' parser; the
// options that change what the stream carries (TLS, PROXY protocol, h2)
// have no meaning for the relay yet and are refused.
func (b *builder) logForwardBind(f *LogForward, l config.Line) {
	p := &Proxy{Cap: CapFE, Name: f.Name}
	parseBindLine(b, p, l)
	for _, bd := range p.Binds {
		if bd.TLS != nil || bd.AcceptProxy || bd.H2 {
			b.errorf(l, "bind options 'ssl', 'accept-proxy' and 'proto' are not supported in a log-forward section by dhproxy; receive syslog over plain TCP.")
			return
		}
		if bd.Network != "tcp" && bd.Network != "tcp4" && bd.Network != "tcp6" {
			b.errorf(l, "'bind %s': a log-forward section listens on TCP addresses only in dhproxy (ip:port).", l.Args[1])
			return
		}
	}
	f.Binds = append(f.Binds, p.Binds...)
}

// logForwardDgramBind reads "dgram-bind [udp@|udp4@|udp6@|ipv4@|ipv6@]<addr>:<port>[,...]".
func (b *builder) logForwardDgramBind(f *LogForward, l config.Line) {
	if len(l.Args) < 2 || l.Args[1] == "" {
		b.errorf(l, "'dgram-bind' expects [<address>]:<port>[,...] as argument.")
		return
	}
	if len(l.Args) > 2 {
		b.errorf(l, "unknown keyword '%s' in 'log-forward' section; dhproxy takes no option on a dgram-bind line.", l.Args[2])
		return
	}
	for _, a := range strings.Split(l.Args[1], ",") {
		binds, err := parseDgramAddr(b.addr(a))
		if err != nil {
			b.errorf(l, "'dgram-bind %s' : %v.", a, err)
			continue
		}
		for i := range binds {
			binds[i].Pos = l.Pos
		}
		f.DgramBinds = append(f.DgramBinds, binds...)
	}
}

func parseDgramAddr(a string) ([]DgramBind, error) {
	network := "udp"
	if prefix, rest, ok := strings.Cut(a, "@"); ok {
		switch prefix {
		case "udp", "udp4", "udp6":
			network = prefix
		case "ipv4":
			network = "udp4"
		case "ipv6":
			network = "udp6"
		default:
			return nil, fmt.Errorf("address family '%s@' is not supported; use ip:port, udp@, udp4@, udp6@, ipv4@ or ipv6@", prefix)
		}
		a = rest
	}
	host, ports, err := splitHostPort(a)
	if err != nil {
		return nil, err
	}
	ip := netip.IPv6Unspecified()
	if network == "udp4" {
		ip = netip.IPv4Unspecified()
	}
	if host != "" {
		if ip, err = netip.ParseAddr(host); err != nil {
			return nil, fmt.Errorf("'%s' is not an IP address", host)
		}
	}
	from, to, err := parsePortRange(ports)
	if err != nil {
		return nil, err
	}
	var out []DgramBind
	for port := from; port <= to; port++ {
		out = append(out, DgramBind{Network: network, Addr: netip.AddrPortFrom(ip, uint16(port))})
	}
	return out, nil
}

// LogForwardSection returns the log-forward section named name, or nil.
func (c *Config) LogForwardSection(name string) *LogForward {
	for _, f := range c.LogForwards {
		if f.Name == name {
			return f
		}
	}
	return nil
}
