package model

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"dhproxy/internal/config"
	"dhproxy/internal/sample"
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
	case "realm", "auth":
		if len(s.HTTPRequest) > 0 {
			b.errorf(l, "proxy '%s': stats 'auth'/'realm' and 'http-request' can't be used at the same time.", p.Name)
			return
		}
		if sub == "realm" {
			s.Realm = l.Args[2]
			break
		}
		if !strings.Contains(l.Args[2], ":") {
			b.errorf(l, "'stats auth' expects <user>:<password>.")
			return
		}
		s.Auth = append(s.Auth, l.Args[2])
	case "http-request":
		if len(s.Auth) > 0 || s.Realm != "" {
			b.errorf(l, "proxy '%s': stats 'auth'/'realm' and 'http-request' can't be used at the same time.", p.Name)
			return
		}
		r, ok := parseStatsRule(b, p, l)
		if !ok {
			return
		}
		s.HTTPRequest = append(s.HTTPRequest, r)
	case "admin":
		if len(l.Args) < 4 || l.Args[2] != "if" && l.Args[2] != "unless" {
			b.errorf(l, "'stats admin' requires either 'if' or 'unless' followed by a condition.")
			return
		}
		c, warns, err := p.ACLs.ParseCond(b.comp, l.Args[2:], sample.PhaseReq, "stats admin rule")
		if err != nil {
			b.errorf(l, "error detected while parsing a 'stats admin' condition : %v.", err)
			return
		}
		for _, w := range warns {
			b.warnf(l, "%s.", w)
		}
		s.Admin = append(s.Admin, c)
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
	switch sub {
	case "enable", "uri", "realm", "auth", "refresh", "hide-version", "show-legends", "show-node", "show-desc", "scope", "admin", "http-request":
	default:
		b.notYetOnce(l, "'stats "+sub+"'", "this stats page option")
	}
}

// StatsSocket is a "stats socket" line of the global section: the runtime
// API's listening address.
type StatsSocket struct {
	Pos     config.Pos
	Network string // "unix" or "tcp"
	Addr    string // socket path, or ip:port
	Mode    uint32 // unix socket permissions; 0: left as created
	Level   string // user, operator or admin (default admin, as HAProxy)
	// ExposeFD is "expose-fd listeners": "_getsocks" hands the listening
	// sockets to a new process started with -x.
	ExposeFD bool
}

func init() {
	registerGlobal("stats", parseGlobalStats)
}

// CLIAddrs lists the stats sockets as haproxy's HAPROXY_CLI does:
// "unix@path", "ipv4@ip:port" or "ipv6@[ip]:port", separated by semicolons.
func (g *Global) CLIAddrs() string {
	var out []string
	for _, s := range g.StatsSockets {
		if s.Network == "unix" {
			out = append(out, "unix@"+s.Addr)
			continue
		}
		host, port, _ := splitHostPort(s.Addr)
		if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() && !ip.Is4In6() {
			out = append(out, "ipv6@["+ip.String()+"]:"+port)
		} else {
			out = append(out, "ipv4@"+s.Addr)
		}
	}
	return strings.Join(out, ";")
}

// parseGlobalStats reads "stats socket <path|ipv4@ip:port|ipv6@...> [mode
// M] [level L] [...]", "stats timeout <t>" and "stats maxconn <n>".
func parseGlobalStats(b *builder, g *Global, l config.Line) {
	if len(l.Args) < 2 {
		b.errorf(l, "'stats' in 'global' expects 'socket', 'timeout' or 'maxconn'.")
		return
	}
	switch l.Args[1] {
	case "socket":
		if len(l.Args) < 3 {
			b.errorf(l, "'stats socket' expects a socket path or an address.")
			return
		}
		s := StatsSocket{Pos: l.Pos, Network: "unix", Addr: b.addr(l.Args[2]), Level: "admin"}
		switch {
		case strings.HasPrefix(s.Addr, "ipv4@"), strings.HasPrefix(s.Addr, "ipv6@"), strings.HasPrefix(s.Addr, "tcp@"):
			s.Network, s.Addr = "tcp", s.Addr[strings.IndexByte(s.Addr, '@')+1:]
		case strings.HasPrefix(s.Addr, "unix@"):
			s.Addr = s.Addr[len("unix@"):]
		case !strings.HasPrefix(s.Addr, "/") && strings.Contains(s.Addr, ":"):
			s.Network = "tcp"
		case !strings.HasPrefix(s.Addr, "/"):
			// haproxy reads a name that is not a path as a host without
			// its port; a relative socket path needs "unix@".
			b.errorf(l, "'stats socket' : missing port specification in '%s'.", l.Args[2])
			return
		}
		if s.Network == "tcp" {
			host, port, err := splitHostPort(s.Addr)
			if err != nil || port == "" {
				b.errorf(l, "'stats socket' : missing port specification in '%s'.", l.Args[2])
				return
			} else if _, _, err := parsePortRange(port); err != nil || strings.Contains(port, "-") {
				b.errorf(l, "'stats socket' : invalid port '%s' in '%s'; use 1 to 65535.", port, l.Args[2])
				return
			}
			// "ipv6@::1:9999" as haproxy reads it: the last colon starts the port.
			s.Addr = net.JoinHostPort(host, port)
		}
		for i := 3; i < len(l.Args); i++ {
			opt := l.Args[i]
			if i+1 >= len(l.Args) && (opt == "mode" || opt == "level" || opt == "user" || opt == "group" || opt == "uid" || opt == "gid" || opt == "process") {
				b.errorf(l, "'stats socket' option '%s' expects an argument.", opt)
				return
			}
			switch opt {
			case "mode":
				m, err := strconv.ParseUint(l.Args[i+1], 8, 32)
				if err != nil {
					b.errorf(l, "'stats socket' 'mode' expects an octal mode, got '%s'.", l.Args[i+1])
					return
				}
				s.Mode = uint32(m)
				i++
			case "level":
				lv := l.Args[i+1]
				if lv != "user" && lv != "operator" && lv != "admin" {
					b.errorf(l, "'level' only supports 'user', 'operator', and 'admin'.")
					return
				}
				s.Level = lv
				i++
			case "user", "group", "uid", "gid", "process":
				b.notYetOnce(l, "'stats socket' option '"+opt+"'", "this runtime API option")
				i++
			case "expose-fd":
				if i+1 >= len(l.Args) || l.Args[i+1] != "listeners" {
					b.errorf(l, "'stats socket' 'expose-fd' only supports 'listeners'.")
					return
				}
				s.ExposeFD = true
				i++
			default:
				b.notYetOnce(l, "'stats socket' option '"+opt+"'", "this runtime API option")
			}
		}
		g.StatsSockets = append(g.StatsSockets, s)
	case "timeout":
		if len(l.Args) != 3 {
			b.errorf(l, "'stats timeout' expects a timeout value.")
			return
		}
		d, err := parseDuration(l.Args[2])
		if err != nil || d <= 0 {
			b.errorf(l, "'stats timeout' expects a positive delay, got '%s'.", l.Args[2])
			return
		}
		g.StatsTimeout = d
	case "maxconn":
		n := 0
		if len(l.Args) == 3 {
			n, _ = strconv.Atoi(l.Args[2])
		}
		if n <= 0 {
			b.errorf(l, "'stats maxconn' expects a positive value.")
			return
		}
		g.StatsMaxconn = n
	case "bind-process":
		b.notYetOnce(l, "'stats "+l.Args[1]+"'", "this runtime API option")
	default:
		b.errorf(l, "'stats' in 'global' expects 'socket', 'timeout' or 'maxconn'.")
	}
}

// parseStatsRule reads "stats http-request allow|deny|auth [realm R]
// [if|unless COND]".
func parseStatsRule(b *builder, p *Proxy, l config.Line) (StatsRule, bool) {
	args := l.Args[2:]
	if len(args) == 0 || args[0] != "allow" && args[0] != "deny" && args[0] != "auth" {
		b.errorf(l, "'stats http-request' expects 'allow', 'deny' or 'auth [realm <realm>]', followed by an optional 'if' or 'unless' condition.")
		return StatsRule{}, false
	}
	r := StatsRule{Action: args[0]}
	args = args[1:]
	if r.Action == "auth" && len(args) >= 2 && args[0] == "realm" {
		r.Realm, args = args[1], args[2:]
	}
	if len(args) == 0 {
		return r, true
	}
	if args[0] != "if" && args[0] != "unless" {
		b.errorf(l, "'stats http-request %s': unexpected '%s'; expects an 'if' or 'unless' condition.", r.Action, args[0])
		return StatsRule{}, false
	}
	c, warns, err := p.ACLs.ParseCond(b.comp, args, sample.PhaseReq, "stats http-request rule")
	if err != nil {
		b.errorf(l, "error detected while parsing a 'stats http-request' condition : %v.", err)
		return StatsRule{}, false
	}
	for _, w := range warns {
		b.warnf(l, "%s.", w)
	}
	r.Cond = c
	return r, true
}
