package model

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/config"
	"dhproxy/internal/netns"
	"dhproxy/internal/sample"
	"dhproxy/internal/tlsconf"
)

const defaultInter = 2 * time.Second

func init() {
	registerProxy("server", CapBE, parseServer)
	registerProxy("default-server", CapBE|CapDef, parseDefaultServer)
	registerProxy("dispatch", CapFE|CapBE, parseDispatch)
}

type serverOpt struct {
	args  int
	apply func(s *Server, v string) error
	later string // feature that gives the option its effect, when not yet built
}

func durOpt(f func(*Server) *time.Duration) func(*Server, string) error {
	return func(s *Server, v string) (err error) {
		*f(s), err = positiveDuration(v)
		return err
	}
}

// positiveDuration reads a server timer, which may not be zero.
func positiveDuration(v string) (time.Duration, error) {
	d, err := parseDuration(v)
	if err == nil && d == 0 {
		err = fmt.Errorf("'%s' must be greater than zero", v)
	}
	return d, err
}

func intOpt(f func(*Server) *int, min int) func(*Server, string) error {
	return func(s *Server, v string) error {
		n, err := parseCount(v)
		if err == nil && n < min {
			err = fmt.Errorf("'%s' must be at least %d", v, min)
		}
		*f(s) = n
		return err
	}
}

// limitOpt reads a count where -1 means no limit.
func limitOpt(f func(*Server) *int) func(*Server, string) error {
	return func(s *Server, v string) error {
		if v == "-1" {
			*f(s) = -1
			return nil
		}
		n, err := parseCount(v)
		*f(s) = n
		return err
	}
}

func flagOpt(f func(*Server) *bool, val bool) func(*Server, string) error {
	return func(s *Server, _ string) error { *f(s) = val; return nil }
}

func recordOpt(name string) func(*Server, string) error {
	return func(s *Server, v string) error {
		if s.Options == nil {
			s.Options = map[string]string{}
		}
		s.Options[name] = v
		return nil
	}
}

var serverOptions = map[string]serverOpt{
	"check":     {0, flagOpt(func(s *Server) *bool { return &s.Check }, true), ""},
	"no-check":  {0, flagOpt(func(s *Server) *bool { return &s.Check }, false), ""},
	"inter":     {1, durOpt(func(s *Server) *time.Duration { return &s.Inter }), ""},
	"fastinter": {1, durOpt(func(s *Server) *time.Duration { return &s.FastInter }), ""},
	"downinter": {1, durOpt(func(s *Server) *time.Duration { return &s.DownInter }), ""},
	"rise":      {1, intOpt(func(s *Server) *int { return &s.Rise }, 1), ""},
	"fall":      {1, intOpt(func(s *Server) *int { return &s.Fall }, 1), ""},
	"port":      {1, intOpt(func(s *Server) *int { return &s.Port }, 1), ""},
	"weight": {1, func(s *Server, v string) error {
		n, err := parseCount(v)
		if err != nil || n > 256 {
			return fmt.Errorf("weight '%s' must be between 0 and 256", v)
		}
		s.Weight = n
		return nil
	}, ""},
	"backup":    {0, flagOpt(func(s *Server) *bool { return &s.Backup }, true), ""},
	"no-backup": {0, flagOpt(func(s *Server) *bool { return &s.Backup }, false), ""},
	"disabled":  {0, flagOpt(func(s *Server) *bool { return &s.Disabled }, true), ""},
	"enabled":   {0, flagOpt(func(s *Server) *bool { return &s.Disabled }, false), ""},
	"cookie":    {1, func(s *Server, v string) error { s.Cookie = v; return nil }, ""},
	"maxconn":   {1, intOpt(func(s *Server) *int { return &s.Maxconn }, 0), ""},
	"source": {1, func(s *Server, v string) (err error) {
		s.Source, err = parseSource(v)
		return err
	}, ""},
	"id":        {1, intOpt(func(s *Server) *int { return &s.ID }, 1), ""},
	"addr":      {1, recordOpt("addr"), ""},
	"init-addr": {1, recordOpt("init-addr"), ""},
	// "pool-max-conn": the idle connections kept for reuse (-1: no limit,
	// the default; 0: none).
	"pool-max-conn": {1, func(s *Server, v string) error {
		if err := limitOpt(func(s *Server) *int { return &s.PoolMaxConn })(s, v); err != nil || s.PoolMaxConn < -1 {
			return fmt.Errorf("'%s' must be -1 (no limit) or a number of connections", v)
		}
		return nil
	}, ""},
	"pool-purge-delay": {1, durOpt(func(s *Server) *time.Duration { return &s.PoolPurgeDelay }), ""},
	"max-reuse":        {1, limitOpt(func(s *Server) *int { return &s.MaxReuse }), ""},
	"proto": {1, func(s *Server, v string) error {
		switch v {
		case "h2", "h1", "fcgi":
			s.Proto = v
			return nil
		}
		return fmt.Errorf("unknown protocol '%s' (dhproxy knows h1, h2 and fcgi)", v)
	}, ""},
	"check-proto": {1, func(s *Server, v string) error {
		switch v {
		case "h2", "h1", "none":
			s.CheckProto = v
			return nil
		}
		return fmt.Errorf("unknown protocol '%s' (dhproxy knows h1, h2 and none)", v)
	}, ""},
	// Socket options of the connections to the server (see serverSockOpts
	// in internal/stream).
	"tfo":    {0, flagOpt(func(s *Server) *bool { return &s.FastOpen }, true), ""},
	"no-tfo": {0, flagOpt(func(s *Server) *bool { return &s.FastOpen }, false), ""},
	"tcp-ut": {1, func(s *Server, v string) (err error) {
		s.UserTimeout, err = parseDuration(v)
		if err == nil && s.UserTimeout > maxUserTimeout {
			err = fmt.Errorf("'%s' is more than 2147483647ms", v)
		}
		return err
	}, ""},
	// "namespace <name>": connections (checks too) are made in that
	// network namespace (internal/netns).
	"namespace": {1, func(s *Server, v string) error {
		if v == "*" {
			return fmt.Errorf("'*' (the namespace a PROXY protocol header names) is not supported by dhproxy yet")
		}
		f, err := os.Open(netns.Dir + v)
		if err != nil {
			return fmt.Errorf("Cannot open namespace '%s'", v)
		}
		f.Close()
		s.Namespace = v
		return nil
	}, ""},
	// haproxy keeps pool-low-conn idle connections per thread so that a
	// thread seldom takes one from another; dhproxy's goroutines share
	// each server's one pool, so there is nothing to take: only checked.
	"pool-low-conn": {1, func(s *Server, v string) error {
		if _, err := strconv.Atoi(v); err != nil {
			return fmt.Errorf("'%s' is not a number", v)
		}
		return nil
	}, ""},
	"track": {1, func(s *Server, v string) error { s.Track = v; return nil }, ""},
	"redir": {1, func(s *Server, v string) error { s.Redir = v; return nil }, ""},
}

func serverOptionNames() []string {
	var n []string
	for k := range serverOptions {
		n = append(n, k)
	}
	return n
}

// applyServerOptions reads options from args into s; warnOnce avoids one
// "not yet" warning per server line for the same option.
func (b *builder) applyServerOptions(l config.Line, s *Server, args []string) {
	for i := 0; i < len(args); i++ {
		o := args[i]
		if n, ok := b.serverTLSOption(l, s, args[i:]); ok {
			i += n
			continue
		}
		spec, ok := serverOptions[o]
		if !ok {
			switch o {
			case "usesrc", "ws":
				b.errorf(l, "server option '%s' is not supported by dhproxy yet.", o)
			default:
				b.errorf(l, "unknown server option '%s'%s", o, suggest(o, serverOptionNames()))
			}
			return
		}
		v := ""
		if spec.args == 1 {
			if i+1 >= len(args) {
				b.errorf(l, "server option '%s' expects an argument.", o)
				return
			}
			v = args[i+1]
			i++
		}
		if o == "addr" {
			v = b.addr(v)
		}
		if err := spec.apply(s, v); err != nil {
			b.errorf(l, "server option '%s': %v.", o, err)
		}
		if spec.later != "" {
			b.notYetOnce(l, "server option '"+o+"'", spec.later)
		}
	}
}

func (b *builder) notYetOnce(l config.Line, what, feature string) {
	if b.warned == nil {
		b.warned = map[string]bool{}
	}
	if b.warned[what] {
		return
	}
	b.warned[what] = true
	b.warnf(l, "%s is accepted but %s is not implemented in this version of dhproxy yet; it has no effect (reported once).", what, feature)
}

func parseServer(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 2, -1, "server <name> <address>[:<port>] [param*]") {
		return
	}
	s := p.DefaultServer
	s.Options = nil
	if s.TLS != nil { // the server line may change its own copy
		c := *s.TLS
		s.TLS = &c
	}
	s.Pos, s.Name = l.Pos, l.Args[1]
	if err := checkName(s.Name); err != "" {
		b.errorf(l, "character '%s' is not permitted in server name '%s'.", err, s.Name)
	}
	for _, o := range p.Servers {
		if o.Name == s.Name {
			b.errorf(l, "server '%s' already exists in %s '%s' (declared at %s); give it another name.", s.Name, sectionWord(p), p.Name, o.Pos)
		}
	}
	addr, unix, err := parseServerAddr(b.addr(l.Args[2]))
	if err == nil && addr == ":0" {
		err = fmt.Errorf("'%s' resolves to an empty address (environment variable missing?)", l.Args[2])
	}
	if err != nil {
		b.errorf(l, "server '%s': %v.", s.Name, err)
	}
	s.Addr, s.Unix = addr, unix
	b.applyServerOptions(l, &s, l.Args[3:])
	if s.Unix && s.Namespace != "" {
		// an abstract socket belongs to a network namespace, and dhproxy
		// makes only TCP sockets in another one
		b.errorf(l, "'server %s/%s': 'namespace' with a UNIX socket server is not supported by dhproxy yet; remove it (a path needs no namespace).", p.Name, s.Name)
	}
	if (s.MaxReuse != -1 || s.PoolPurgeDelay != 0) && !s.MayUseH2() {
		b.warnf(l, "server '%s': 'max-reuse' and 'pool-purge-delay' only apply to HTTP/2 servers ('proto h2' or 'alpn h2') in dhproxy yet; they have no effect on this one.", s.Name)
	}
	if (s.Proto == "h2" || s.Proto == "fcgi") && p.Mode != ModeHTTP {
		b.errorf(l, "'server %s/%s': 'proto %s' needs 'mode http'.", p.Name, s.Name, s.Proto)
	}
	if s.Health.Observe == "layer7" && p.Mode != ModeHTTP {
		// HAProxy alerts and leaves the server unobserved.
		b.warnf(l, "'server %s/%s' : 'layer7' can only be used in http proxies..", p.Name, s.Name)
		s.Health.Observe = ""
	}
	if s.Health.Agent && s.Health.AgentPort == 0 {
		b.errorf(l, "'server %s/%s' : server %s does not have agent port. Agent check has been disabled.", p.Name, s.Name, s.Name)
	}
	p.Servers = append(p.Servers, &s)
}

// MayUseH2 tells whether connections to s may speak HTTP/2: "proto h2",
// or "h2" in its ssl "alpn" list.
func (s *Server) MayUseH2() bool {
	if s.Proto == "h2" {
		return true
	}
	if s.TLS == nil || !s.TLS.SSL {
		return false
	}
	for _, p := range strings.Split(s.TLS.ALPN, ",") {
		if p == "h2" {
			return true
		}
	}
	return false
}

// parseDispatch reads "dispatch <address>:<port>" (the last one wins, as
// in HAProxy).
func parseDispatch(b *builder, p *Proxy, l config.Line) {
	if !p.IsBackend() {
		b.warnf(l, "'dispatch' ignored because frontend '%s' has no backend capability.", p.Name)
		return
	}
	if len(l.Args) > 2 {
		b.errorf(l, "'dispatch' cannot handle unexpected argument '%s'.", l.Args[2])
		return
	}
	if !b.wantArgs(l, 1, 1, "dispatch <address>:<port>") {
		return
	}
	addr, unix, err := parseServerAddr(b.addr(l.Args[1]))
	if err == nil && !unix && strings.HasSuffix(addr, ":0") {
		err = fmt.Errorf("missing port specification in '%s'", l.Args[1])
	}
	if err != nil {
		b.errorf(l, "'dispatch': %v.", err)
		return
	}
	p.Dispatch = &Server{Pos: l.Pos, Addr: addr, Unix: unix, Weight: 1}
}

func parseDefaultServer(b *builder, p *Proxy, l config.Line) {
	b.applyServerOptions(l, &p.DefaultServer, l.Args[1:])
}

// parseServerAddr validates "host[:port]"; a missing port means the port the
// client connected to (kept as host with port 0). A UNIX socket address
// ("/path", "unix@path", "abns@name") comes back as the path to dial, with
// unix set: see UnixSocket.
func parseServerAddr(a string) (addr string, unix bool, err error) {
	if path, ok := UnixSocket(a); ok {
		// haproxy takes all of it as the path, a ":port" suffix too, and
		// keeps room in sun_path for the ".<pid>.tmp" of a bind's path; an
		// abstract name only for its leading NUL.
		name, limit := path, 97
		if rest, ok := strings.CutPrefix(a, "abns@"); ok {
			name, limit = rest, 107
		}
		if name == "" {
			return "", false, fmt.Errorf("'%s' names no socket (environment variable missing?)", a)
		}
		if len(name) > limit {
			return "", false, fmt.Errorf("socket path '%s' too long (max %d)", a, limit)
		}
		return path, true, nil
	}
	if strings.Contains(a, "@") {
		pfx, rest, _ := strings.Cut(a, "@")
		if pfx != "ipv4" && pfx != "ipv6" && pfx != "tcp" {
			return "", false, fmt.Errorf("address family '%s@' is not supported for servers; use ip:port, host:port or a UNIX socket path", pfx)
		}
		a = rest
	}
	if !strings.Contains(a, ":") {
		return joinHostPort(a, 0), false, nil
	}
	host, port, err := splitHostPort(a)
	if err != nil {
		return "", false, err
	}
	if port == "" || port == "0" { // port 0: the client's, as no port
		return joinHostPort(host, 0), false, nil
	}
	if strings.HasPrefix(port, "+") || strings.HasPrefix(port, "-") {
		return "", false, fmt.Errorf("relative ports ('%s') are not supported yet; write an absolute port", port)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", false, fmt.Errorf("invalid port '%s'; ports go from 1 to 65535", port)
	}
	if host == "" {
		return "", false, fmt.Errorf("missing address before ':%s'", port)
	}
	return joinHostPort(host, n), false, nil
}

// UnixSocket reads a UNIX socket address as haproxy does: "/path",
// "unix@path" or "uxst@path" (a relative path too), "abns@name" (Linux's
// abstract namespace). path is what Go's net package dials: an abstract
// address starts with '@', and a relative path that would start with '@'
// gets "./".
func UnixSocket(a string) (path string, ok bool) {
	switch {
	case strings.HasPrefix(a, "/"):
		return a, true
	case strings.HasPrefix(a, "unix@"), strings.HasPrefix(a, "uxst@"): // a stream socket either way
		path = a[len("unix@"):]
		if strings.HasPrefix(path, "@") {
			path = "./" + path
		}
		return path, true
	case strings.HasPrefix(a, "abns@"):
		// haproxy's abstract address is all of sun_path: the name and
		// NULs up to its 108 bytes (the leading '@' stands for one)
		name := a[len("abns@"):]
		return "@" + name + strings.Repeat("\x00", max(0, 107-len(name))), true
	}
	return "", false
}

// serverTLSFlags are the TLS server keywords without an argument.
var serverTLSFlags = map[string]func(o *tlsconf.ServerOpts){
	"ssl":          func(o *tlsconf.ServerOpts) { o.SSL = true },
	"no-ssl":       func(o *tlsconf.ServerOpts) { o.SSL = false },
	"check-ssl":    func(o *tlsconf.ServerOpts) { o.CheckSSL = true },
	"no-check-ssl": func(o *tlsconf.ServerOpts) { o.CheckSSL = false },
	"no-ssl-reuse": func(o *tlsconf.ServerOpts) { o.NoReuse = true },
	"ssl-reuse":    func(o *tlsconf.ServerOpts) { o.NoReuse = false },
	// Tickets are always asked for ("no-tls-tickets" warns): "tls-tickets",
	// the default, changes nothing.
	"tls-tickets": func(o *tlsconf.ServerOpts) {},
}

// serverTLSStrings are the TLS server keywords taking one argument: where
// the argument goes.
var serverTLSStrings = map[string]func(o *tlsconf.ServerOpts) *string{
	"check-sni":    func(o *tlsconf.ServerOpts) *string { return &o.CheckSNI },
	"check-alpn":   func(o *tlsconf.ServerOpts) *string { return &o.CheckALPN },
	"crt":          func(o *tlsconf.ServerOpts) *string { return &o.Crt },
	"ciphersuites": func(o *tlsconf.ServerOpts) *string { return &o.Suites },
	"verify":       func(o *tlsconf.ServerOpts) *string { return &o.Verify },
	"ca-file":      func(o *tlsconf.ServerOpts) *string { return &o.CAFile },
	"sni":          func(o *tlsconf.ServerOpts) *string { return &o.SNI },
	"alpn":         func(o *tlsconf.ServerOpts) *string { return &o.ALPN },
	"ssl-min-ver":  func(o *tlsconf.ServerOpts) *string { return &o.MinVer },
	"ssl-max-ver":  func(o *tlsconf.ServerOpts) *string { return &o.MaxVer },
	"ciphers":      func(o *tlsconf.ServerOpts) *string { return &o.Ciphers },
	"verifyhost":   func(o *tlsconf.ServerOpts) *string { return &o.VerifyHost },
	"crl-file":     func(o *tlsconf.ServerOpts) *string { return &o.CRLFile },
}

// serverTLSOption reads the TLS option at args[0] into s; it returns how
// many arguments it consumed beyond the keyword, and false when args[0]
// is not a TLS option.
func (b *builder) serverTLSOption(l config.Line, s *Server, args []string) (int, bool) {
	kw := args[0]
	o := s.TLS
	if o == nil {
		o = &tlsconf.ServerOpts{}
	}
	var dst *string
	switch set, field := serverTLSFlags[kw], serverTLSStrings[kw]; {
	case set != nil:
		set(o)
	case field != nil:
		dst = field(o)
	case kw == "no-tls-tickets":
		b.notYetOnce(l, "server option '"+kw+"'", "this TLS setting")
	case kw == "allow-0rtt":
		b.warnf(l, "server option 'allow-0rtt' is accepted but has no effect in dhproxy: Go's TLS client cannot send early data.")
	case kw == "npn":
		if len(args) < 2 {
			b.errorf(l, "server option 'npn' expects an argument.")
			return 0, true
		}
		b.warnf(l, "server option 'npn' is accepted but has no effect in dhproxy: Go's TLS client has no NPN; use 'alpn'.")
		return 1, true
	case tlsconf.IsVersionOption(kw):
		o.NoVer = append(o.NoVer, kw)
	default:
		return 0, false
	}
	s.TLS = o
	if dst == nil {
		return 0, true
	}
	if len(args) < 2 {
		b.errorf(l, "server option '%s' expects an argument.", kw)
		return 0, true
	}
	v := args[1]
	switch kw {
	case "verify":
		if v != "none" && v != "required" {
			b.errorf(l, "server option 'verify': expects 'none' or 'required', not '%s'.", v)
		}
	case "sni":
		// A constant name goes into the TLS configuration; any other
		// expression is evaluated for each new connection (server_sni.go).
		s.SNIExpr = nil
		if name, ok := strings.CutPrefix(v, "str("); ok && strings.HasSuffix(name, ")") && !strings.ContainsAny(name[:len(name)-1], "()") {
			v = strings.TrimSuffix(name, ")")
			break
		}
		e, err := b.comp.Compile(v, 0)
		if err == nil && e.Fetch.Phases&(sample.PhaseConn|sample.PhaseReq|sample.PhaseContent) == 0 {
			err = fmt.Errorf("sample fetch '%s' is not available when the server connection is made", e.Fetch.Name)
		}
		if err != nil {
			// haproxy's words; its runtime API answers them without the
			// server's name
			who := ""
			if b.sect != nil && len(b.sect.Args) > 0 && l.Args[0] == "server" {
				who = fmt.Sprintf("'server %s/%s' : ", b.sect.Args[0], l.Args[1])
			}
			b.errorf(l, "%serror detected while parsing sni expression : %v", who, err)
			return 1, true
		}
		s.SNIExpr, v = e, ""
	case "crt":
		if b.cfg.Global.CrtBase != "" && !strings.HasPrefix(v, "/") {
			v = b.cfg.Global.CrtBase + "/" + v
		}
	case "ca-file", "crl-file":
		v = tlsconf.WithBase(b.cfg.Global.CABase, v)
	}
	*dst = v
	return 1, true
}

// buildServerTLS builds the TLS configuration of an "ssl" server.
func (b *builder) buildServerTLS(s *Server) {
	if s.TLS == nil || !s.TLS.SSL {
		s.TLS = nil
		return
	}
	verify := "required"
	if b.cfg.Global.SSLServerVerifyNone {
		verify = "none"
	}
	cfg, err := tlsconf.Client(s.TLS, &b.cfg.Global.SSLServer, verify, func(w string) { b.d.Warnf(s.Pos, "server '%s': %s.", s.Name, w) })
	if err != nil {
		b.d.Errorf(s.Pos, "server '%s': %v.", s.Name, err)
		return
	}
	s.TLSConfig = cfg
}
