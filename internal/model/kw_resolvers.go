package model

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/config"
)

// Resolvers is a "resolvers <name>" section: the DNS servers and timers
// that servers with "resolvers <name>" follow at run time.
//
//	resolvers mydns
//	    nameserver dns1 10.0.0.53:53
//	    hold valid 10s
//	    timeout resolve 1s
type Resolvers struct {
	Pos         config.Pos
	Name        string
	Nameservers []Nameserver
	// Hold periods, HAProxy's defaults: valid 10s (how long an answer is
	// used before asking again), nx/timeout/refused/other 30s (how long the
	// last valid answer survives that error), obsolete 0 (how long a record
	// gone from an answer keeps its server).
	HoldValid, HoldNX, HoldTimeout, HoldRefused, HoldOther, HoldObsolete time.Duration
	ResolveRetries                                                       int           // queries sent before a timeout is declared; default 3
	TimeoutResolve                                                       time.Duration // how often resolutions are considered; default 1s
	TimeoutRetry                                                         time.Duration // wait for an answer before sending again; default 1s
	AcceptedPayloadSize                                                  int           // EDNS0 UDP payload size announced; default 512
}

// Nameserver is a "nameserver <name> <ip>:<port>" line (or one found by
// "parse-resolv-conf", named after its position in resolv.conf).
type Nameserver struct {
	Pos  config.Pos
	Name string
	Addr string // ip:port
}

// ResolversSection returns the resolvers section named name, or nil.
func (c *Config) ResolversSection(name string) *Resolvers {
	for _, r := range c.Resolvers {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// resolvConf is read by "parse-resolv-conf"; tests point it elsewhere.
var resolvConf = "/etc/resolv.conf"

var resolversKeywords = []string{"nameserver", "parse-resolv-conf", "hold", "resolve_retries", "timeout", "accepted_payload_size"}

func (b *builder) buildResolvers(s *config.Section) {
	if len(s.Args) == 0 || s.Args[0] == "" {
		b.d.Errorf(s.Pos, "missing name for resolvers section; write 'resolvers <name>'.")
		return
	}
	r := &Resolvers{Pos: s.Pos, Name: s.Args[0],
		HoldValid: 10 * time.Second, HoldNX: 30 * time.Second, HoldTimeout: 30 * time.Second,
		HoldRefused: 30 * time.Second, HoldOther: 30 * time.Second,
		ResolveRetries: 3, TimeoutResolve: time.Second, TimeoutRetry: time.Second, AcceptedPayloadSize: 512}
	if err := checkName(r.Name); err != "" {
		b.d.Errorf(s.Pos, "character '%s' is not permitted in 'resolvers' name '%s'.", err, r.Name)
		return
	}
	if other := b.cfg.ResolversSection(r.Name); other != nil {
		b.d.Errorf(s.Pos, "resolvers '%s' has same name as another resolvers (declared at %s); rename one of them.", r.Name, other.Pos)
		return
	}
	b.cfg.Resolvers = append(b.cfg.Resolvers, r)
	for _, l := range s.Lines {
		switch l.Args[0] {
		case "nameserver":
			b.parseNameserver(r, l)
		case "parse-resolv-conf":
			b.parseResolvConf(r, l)
		case "hold":
			b.parseHold(r, l)
		case "resolve_retries":
			if !b.wantArgs(l, 1, 1, "resolve_retries <nb>") {
				continue
			}
			n, err := parseCount(l.Args[1])
			if err != nil || n < 1 {
				b.errorf(l, "'resolve_retries' expects a positive integer, not '%s'.", l.Args[1])
				continue
			}
			r.ResolveRetries = n
		case "timeout":
			b.parseResolversTimeout(r, l)
		case "accepted_payload_size":
			if !b.wantArgs(l, 1, 1, "accepted_payload_size <nb>") {
				continue
			}
			n, err := strconv.Atoi(l.Args[1])
			if err != nil || n < 512 || n > 65535 {
				b.errorf(l, "'accepted_payload_size' must be between 512 and 65535, not '%s'.", l.Args[1])
				continue
			}
			r.AcceptedPayloadSize = n
		case "resolution_pool_size":
			b.warnf(l, "resolution_pool_size directive is now deprecated and has been ignored.")
		default:
			b.errorf(l, "unknown keyword '%s' in 'resolvers' section%s", l.Args[0], suggest(l.Args[0], resolversKeywords))
		}
	}
}

func (b *builder) parseNameserver(r *Resolvers, l config.Line) {
	if len(l.Args) < 3 || l.Args[1] == "" || l.Args[2] == "" {
		b.errorf(l, "'nameserver' expects <name> and <addr>[:<port>] as arguments.")
		return
	}
	name := l.Args[1]
	if err := checkName(name); err != "" {
		b.errorf(l, "character '%s' is not permitted in nameserver name '%s'.", err, name)
		return
	}
	for _, ns := range r.Nameservers {
		if ns.Name == name {
			b.errorf(l, "nameserver '%s' has same name as another nameserver (declared at %s).", name, ns.Pos)
			return
		}
	}
	raw := b.addr(l.Args[2])
	a := strings.TrimPrefix(strings.TrimPrefix(raw, "udp@"), "udp4@")
	a = strings.TrimPrefix(strings.TrimPrefix(a, "udp6@"), "ipv4@")
	a = strings.TrimPrefix(a, "ipv6@")
	if strings.HasPrefix(a, "tcp@") {
		b.errorf(l, "'nameserver %s' : DNS over TCP is not supported by dhproxy yet; use a UDP address.", name)
		return
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		b.errorf(l, "'nameserver %s' : missing port specification in '%s'; write <ip>:<port>, e.g. '127.0.0.1:53'.", name, raw)
		return
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		b.errorf(l, "'nameserver %s' : invalid address '%s' in '%s'; a nameserver is an IP address.", name, host, raw)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		b.errorf(l, "'nameserver %s' : invalid port '%s' in '%s'; use 1 to 65535.", name, port, raw)
		return
	}
	r.Nameservers = append(r.Nameservers, Nameserver{Pos: l.Pos, Name: name, Addr: net.JoinHostPort(ip.String(), port)})
}

// parseResolvConf adds resolv.conf's nameservers, as HAProxy does, named
// "resolvconf<N>" from 1 on.
func (b *builder) parseResolvConf(r *Resolvers, l config.Line) {
	f, err := os.Open(resolvConf)
	if err != nil {
		b.errorf(l, "failed to open '%s': %v.", resolvConf, err)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) < 2 || w[0] != "nameserver" {
			continue
		}
		ip, err := netip.ParseAddr(w[1])
		if err != nil {
			b.warnf(l, "%s: nameserver '%s' is not an IP address; skipped.", resolvConf, w[1])
			continue
		}
		n++
		r.Nameservers = append(r.Nameservers, Nameserver{Pos: l.Pos, Name: fmt.Sprintf("resolvconf%d", n), Addr: net.JoinHostPort(ip.Unmap().String(), "53")})
	}
	if n == 0 {
		b.warnf(l, "no nameserver found in '%s'.", resolvConf)
	}
}

func (b *builder) parseHold(r *Resolvers, l config.Line) {
	if !b.wantArgs(l, 2, 2, "hold <nx|other|refused|timeout|valid|obsolete> <time>") {
		return
	}
	d, err := parseDuration(l.Args[2])
	if err != nil {
		b.errorf(l, "'hold %s': %v.", l.Args[1], err)
		return
	}
	switch l.Args[1] {
	case "valid":
		r.HoldValid = d
	case "nx":
		r.HoldNX = d
	case "timeout":
		r.HoldTimeout = d
	case "refused":
		r.HoldRefused = d
	case "other":
		r.HoldOther = d
	case "obsolete":
		r.HoldObsolete = d
	default:
		b.errorf(l, "'hold' expects 'nx', 'other', 'refused', 'timeout', 'valid' or 'obsolete', not '%s'.", l.Args[1])
	}
}

func (b *builder) parseResolversTimeout(r *Resolvers, l config.Line) {
	if !b.wantArgs(l, 2, 2, "timeout <resolve|retry> <time>") {
		return
	}
	d, err := parseDuration(l.Args[2])
	if err == nil && d == 0 {
		err = fmt.Errorf("'%s' must be greater than zero", l.Args[2])
	}
	if err != nil {
		b.errorf(l, "'timeout %s': %v.", l.Args[1], err)
		return
	}
	switch l.Args[1] {
	case "resolve":
		r.TimeoutResolve = d
	case "retry":
		r.TimeoutRetry = d
	default:
		b.errorf(l, "'timeout' in a resolvers section expects 'resolve' or 'retry', not '%s'.", l.Args[1])
	}
}

func init() {
	serverOptions["resolvers"] = serverOpt{1, func(s *Server, v string) error { s.Resolvers = v; return nil }, ""}
	serverOptions["resolve-prefer"] = serverOpt{1, func(s *Server, v string) error {
		if v != "ipv4" && v != "ipv6" {
			return fmt.Errorf("'%s' is not 'ipv4' or 'ipv6'", v)
		}
		s.ResolvePrefer = v
		return nil
	}, ""}
	serverOptions["resolve-net"] = serverOpt{1, func(s *Server, v string) error {
		s.ResolveNets = nil
		for _, n := range strings.Split(v, ",") {
			p, err := netip.ParsePrefix(n)
			if err != nil {
				return fmt.Errorf("'%s' is not a network; write e.g. '10.0.0.0/8,fd00::/8'", n)
			}
			s.ResolveNets = append(s.ResolveNets, p.Masked())
		}
		return nil
	}, ""}
	serverOptions["resolve-opts"] = serverOpt{1, func(s *Server, v string) error {
		for _, o := range strings.Split(v, ",") {
			switch o {
			case "allow-dup-ip":
				s.ResolveAllowDup = true
			case "prevent-dup-ip":
				s.ResolveAllowDup = false
			case "ignore-weight":
				s.ResolveIgnoreWeight = true
			default:
				return fmt.Errorf("'%s' is not 'allow-dup-ip', 'ignore-weight' or 'prevent-dup-ip'", o)
			}
		}
		return nil
	}, ""}
	registerProxy("server-template", CapBE, parseServerTemplate)
}

// parseServerTemplate reads "server-template <prefix> <num|range>
// <fqdn>[:<port>] [params*]": servers <prefix>1..N (or the range's
// numbers) that DNS answers fill at run time. An fqdn starting with '_' is
// an SRV record (e.g. _http._tcp.svc.example), whose answers also give the
// servers their ports and weights.
func parseServerTemplate(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 3, -1, "server-template <prefix> <num | range> <fqdn>[:<port>] [params*]") {
		return
	}
	prefix := l.Args[1]
	lo, hi, ok := templateRange(l.Args[2])
	if !ok {
		b.errorf(l, "'server-template %s': invalid range '%s'; write a count (e.g. '5') or a range (e.g. '1-5').", prefix, l.Args[2])
		return
	}
	addr, unix, err := parseServerAddr(b.addr(l.Args[3]))
	if err == nil && unix {
		err = fmt.Errorf("'%s' is a UNIX socket; servers made from DNS need an <fqdn>[:<port>]", l.Args[3])
	}
	if err != nil {
		b.errorf(l, "'server-template %s': %v.", prefix, err)
		return
	}
	host, _, _ := net.SplitHostPort(addr)
	if _, err := netip.ParseAddr(host); err != nil && !isHostName(host) {
		b.errorf(l, "'server-template %s': '%s' is neither an IP address nor a host name.", prefix, host)
		return
	}
	for i := lo; i <= hi; i++ {
		s := p.DefaultServer
		s.Options = nil
		if s.TLS != nil {
			c := *s.TLS
			s.TLS = &c
		}
		s.Pos, s.Name, s.Addr, s.Template = l.Pos, prefix+strconv.Itoa(i), addr, prefix
		if err := checkName(s.Name); err != "" {
			b.errorf(l, "character '%s' is not permitted in server name '%s'.", err, s.Name)
			return
		}
		for _, o := range p.Servers {
			if o.Name == s.Name {
				b.errorf(l, "server '%s' already exists in %s '%s' (declared at %s); give the template another prefix.", s.Name, sectionWord(p), p.Name, o.Pos)
				return
			}
		}
		b.applyServerOptions(l, &s, l.Args[4:])
		if strings.HasPrefix(host, "_") {
			s.SRV = host
		}
		p.Servers = append(p.Servers, &s)
	}
}

// templateRange reads "N" (1..N) or "A-B".
func templateRange(v string) (lo, hi int, ok bool) {
	a, c, isRange := strings.Cut(v, "-")
	if !isRange {
		n, err := strconv.Atoi(v)
		return 1, n, err == nil && n >= 1 && n <= 1<<16
	}
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(c)
	return x, y, err1 == nil && err2 == nil && x >= 0 && x <= y && y-x < 1<<16
}

// resolveResolvers records the servers' host names and links their
// "resolvers" to the section.
func (b *builder) resolveResolvers(p *Proxy) {
	for _, s := range p.Servers {
		if host, _, err := net.SplitHostPort(s.Addr); err == nil && s.SRV == "" && !s.Unix {
			if _, err := netip.ParseAddr(host); err != nil {
				s.FQDN = host // resolved at start, or followed with "resolvers"
			}
		}
		if s.Resolvers == "" {
			if s.SRV != "" {
				b.d.Errorf(s.Pos, "'server-template %s' in %s '%s' names the SRV record '%s' but no 'resolvers'; add 'resolvers <name>'.", s.Template, sectionWord(p), p.Name, s.SRV)
				return
			}
			continue
		}
		r := b.cfg.ResolversSection(s.Resolvers)
		if r == nil {
			b.d.Errorf(s.Pos, "'server %s/%s' : unable to find required resolvers '%s'; declare 'resolvers %s'.", p.Name, s.Name, s.Resolvers, s.Resolvers)
			continue
		}
		if len(r.Nameservers) == 0 {
			b.d.Errorf(r.Pos, "resolvers '%s' has no nameserver; add 'nameserver <name> <ip>:<port>' or 'parse-resolv-conf'.", r.Name)
		}
		s.ResolversRef = r
	}
}
