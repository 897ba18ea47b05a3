package model

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"

	"dhproxy/internal/config"
	"dhproxy/internal/tlsconf"
)

func init() {
	registerProxy("bind", CapFE, parseBindLine)
}

// bindOptions lists the bind options dhproxy knows, with their argument count.
var bindOptions = map[string]int{
	"name":         1,
	"accept-proxy": 0,
	"maxconn":      1,
	"backlog":      1,
	"v4v6":         0,
	"v6only":       0,
	"defer-accept": 0,
	"tfo":          0,
	"transparent":  0,
	"interface":    1,
	"namespace":    1,
	"mode":         1,
	"user":         1,
	"group":        1,
	"uid":          1,
	"gid":          1,
	"process":      1,
	"thread":       1,
	"id":           1,
	"mss":          1,
	"tcp-ut":       1,
	"nice":         1, // warns (kw_bind_sock.go)
}

// parseBindLine reads "bind <addr>[,<addr>...] [options]".
func parseBindLine(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 1, -1, "bind [<address>]:<port_range>[,...] [param*]") {
		return
	}
	opts := map[string]string{}
	tlsOpts := &tlsconf.BindOpts{}
	for i := 2; i < len(l.Args); i++ {
		o := l.Args[i]
		if n, ok := b.bindTLSOption(l, tlsOpts, l.Args[i:]); ok {
			i += n
			continue
		}
		if o == "proto" {
			// The multiplexer: h2 (prior knowledge) or h1, as haproxy 2.6.
			if i+1 >= len(l.Args) {
				b.errorf(l, "bind option 'proto' expects a protocol name (h1 or h2).")
				break
			}
			i++
			switch l.Args[i] {
			case "h2":
				opts["proto"] = "h2"
			case "h1":
				opts["proto"] = "h1"
			default:
				b.errorf(l, "bind option 'proto': unknown protocol '%s' (dhproxy knows h1 and h2).", l.Args[i])
			}
			continue
		}
		nargs, ok := bindOptions[o]
		if !ok {
			switch o {
			case "accept-netscaler-cip", "quic-force-retry":
				b.errorf(l, "bind option '%s' is not supported by dhproxy yet.", o)
			default:
				b.errorf(l, "unknown bind option '%s'%s", o, suggest(o, bindOptionNames()))
			}
			if i+1 < len(l.Args) && o != "ssl" && o != "strict-sni" {
				i++
			}
			continue
		}
		if i+nargs >= len(l.Args) {
			b.errorf(l, "bind option '%s' expects %d argument(s).", o, nargs)
			break
		}
		val := ""
		if nargs == 1 {
			val = l.Args[i+1]
			i++
		}
		opts[o] = val
	}
	maxconn, backlog := 0, 0
	if v, ok := opts["maxconn"]; ok {
		n, err := parseCount(v)
		if err != nil {
			b.errorf(l, "bind option 'maxconn': %v.", err)
		}
		maxconn = n
	}
	if v, ok := opts["backlog"]; ok {
		n, err := parseCount(v)
		if err != nil {
			b.errorf(l, "bind option 'backlog': %v.", err)
		}
		backlog = n
	}
	id := 0
	if v, ok := opts["id"]; ok {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil || n <= 0:
			b.errorf(l, "bind option 'id' expects an integer > 0, got '%s'.", v)
		case strings.Contains(l.Args[1], ","):
			b.errorf(l, "bind option 'id' can only be used with a single socket.")
		default:
			id = n
		}
	}
	sock := b.bindSock(l, opts)
	if !tlsOpts.SSL {
		if len(tlsOpts.Certs) > 0 {
			b.warnf(l, "bind option 'crt' is ignored: the bind line has no 'ssl' keyword.")
		}
		tlsOpts = nil
	}
	// a UNIX socket's own mode and owner; unix-bind fills the rest
	var own UnixBind
	for _, o := range []string{"mode", "uid", "gid", "user", "group"} {
		if v, ok := opts[o]; ok {
			if err := own.set(o, v); err != "" {
				b.errorf(l, "bind option %s.", err)
			}
		}
	}
	for _, a := range strings.Split(l.Args[1], ",") {
		addrs, err := expandBindAddr(b.addr(a))
		if err != nil {
			b.errorf(l, "bind '%s': %v.", a, err)
			continue
		}
		if id != 0 && len(addrs) > 1 {
			b.errorf(l, "bind option 'id' can only be used with a single socket.")
			id = 0
		}
		for _, ad := range addrs {
			ad.ID = id
			ad.Pos, ad.Name, ad.Maxconn, ad.Backlog, ad.Options, ad.TLS = l.Pos, opts["name"], maxconn, backlog, opts, tlsOpts
			_, ad.AcceptProxy = opts["accept-proxy"]
			ad.H2 = opts["proto"] == "h2"
			ad.Sock = sock
			if ad.Network == "unix" {
				ad.Addr, ad.Unix = b.cfg.Global.unixSocket(ad.Addr, own.UnixPerm)
			}
			p.Binds = append(p.Binds, ad)
		}
	}
}

func bindOptionNames() []string {
	var n []string
	for k := range bindOptions {
		n = append(n, k)
	}
	return n
}

// expandBindAddr turns one address (possibly with a port range) into binds.
func expandBindAddr(a string) ([]*Bind, error) {
	prefix, rest, hasPrefix := strings.Cut(a, "@")
	if !hasPrefix {
		prefix, rest = "", a
	}
	switch prefix {
	case "unix":
		if rest == "" {
			return nil, fmt.Errorf("'unix@' needs a socket path")
		}
		return []*Bind{{Network: "unix", Addr: rest}}, nil
	case "fd":
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("'fd@%s': a file descriptor number is expected (fd@3, or fd@${VAR} with VAR set to a number)", rest)
		}
		return []*Bind{{Network: "fd", Addr: rest}}, nil
	case "", "ipv4", "ipv6", "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("address family '%s@' is not supported; use ip:port, [ipv6]:port, unix@/path or fd@N", prefix)
	}
	if strings.HasPrefix(rest, "/") {
		return []*Bind{{Network: "unix", Addr: rest}}, nil
	}
	host, ports, err := splitHostPort(rest)
	if err != nil {
		return nil, err
	}
	if host == "*" {
		host = ""
	}
	if prefix == "ipv6" || prefix == "tcp6" {
		if host == "" {
			host = "::"
		}
	}
	lo, hi, err := parsePortRange(ports)
	if err != nil {
		return nil, err
	}
	network := "tcp"
	switch prefix {
	case "ipv4", "tcp4":
		network = "tcp4"
	case "ipv6", "tcp6":
		network = "tcp6"
	}
	var out []*Bind
	for port := lo; port <= hi; port++ {
		out = append(out, &Bind{Network: network, Addr: joinHostPort(host, port)})
	}
	return out, nil
}

// splitHostPort splits "host:port", "[v6]:port" or ":port" (HAProxy takes
// the last colon for bare IPv6 addresses too).
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", "", fmt.Errorf("missing ']' in IPv6 address")
		}
		host, rest := s[1:end], s[end+1:]
		if !strings.HasPrefix(rest, ":") {
			return "", "", fmt.Errorf("missing ':port' after '[%s]'", host)
		}
		return host, rest[1:], nil
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", fmt.Errorf("missing port; write '<address>:<port>' or ':<port>'")
	}
	return s[:i], s[i+1:], nil
}

func parsePortRange(s string) (int, int, error) {
	loS, hiS, isRange := strings.Cut(s, "-")
	lo, err := strconv.Atoi(loS)
	if err != nil || lo < 1 || lo > 65535 {
		return 0, 0, fmt.Errorf("invalid port '%s'; ports go from 1 to 65535", loS)
	}
	if !isRange {
		return lo, lo, nil
	}
	hi, err := strconv.Atoi(hiS)
	if err != nil || hi < lo || hi > 65535 {
		return 0, 0, fmt.Errorf("invalid port range '%s'; write <low>-<high> with low <= high <= 65535", s)
	}
	return lo, hi, nil
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// bindTLSOption reads the TLS option at args[0] into o; it returns how
// many arguments it consumed beyond the keyword, and false when args[0]
// is not a TLS option.
func (b *builder) bindTLSOption(l config.Line, o *tlsconf.BindOpts, args []string) (int, bool) {
	kw := args[0]
	val := func() (string, bool) {
		if len(args) < 2 {
			b.errorf(l, "bind option '%s' expects an argument.", kw)
			return "", false
		}
		return args[1], true
	}
	switch kw {
	case "ssl":
		o.SSL = true
		return 0, true
	case "strict-sni":
		o.StrictSNI = true
		return 0, true
	case "crt", "crt-list":
		if v, ok := val(); ok {
			if b.cfg.Global.CrtBase != "" && !strings.HasPrefix(v, "/") {
				v = b.cfg.Global.CrtBase + "/" + v
			}
			o.Certs = append(o.Certs, tlsconf.CertSource{Path: v, List: kw == "crt-list"})
			o.CrtBase, o.CABase = b.cfg.Global.CrtBase, b.cfg.Global.CABase
		}
	case "alpn":
		o.ALPN, _ = val()
	case "ssl-min-ver":
		o.MinVer, _ = val()
	case "ssl-max-ver":
		o.MaxVer, _ = val()
	case "ciphers":
		o.Ciphers, _ = val()
	case "ciphersuites":
		o.Suites, _ = val()
	case "ca-file":
		v, _ := val()
		o.ClientAuth.CAFile = tlsconf.WithBase(b.cfg.Global.CABase, v)
	case "ca-verify-file":
		v, _ := val()
		o.ClientAuth.CAVerifyFile = tlsconf.WithBase(b.cfg.Global.CABase, v)
	case "verify":
		o.ClientAuth.Verify, _ = val()
	case "crl-file":
		v, _ := val()
		o.ClientAuth.CRLFile = tlsconf.WithBase(b.cfg.Global.CABase, v)
	case "ca-ignore-err":
		o.ClientAuth.CAIgnoreErr, _ = val()
	case "crt-ignore-err":
		o.ClientAuth.CrtIgnoreErr, _ = val()
	case "curves":
		o.Curves, _ = val()
	case "ecdhe":
		o.Ecdhe, _ = val()
	case "npn":
		if _, ok := val(); ok {
			b.warnf(l, "bind option 'npn' is accepted but has no effect in dhproxy (Go's TLS has no NPN; use 'alpn').")
		}
	case "tls-ticket-keys":
		o.TicketKeys, _ = val()
	case "acme":
		o.ACME, _ = val()
	case "domains":
		if v, ok := val(); ok {
			o.Domains = tlsconf.SplitDomains(v)
		}
	case "no-tls-tickets":
		o.NoTickets = true
		return 0, true
	case "no-ca-names":
		o.NoCANames = true
		return 0, true
	case "prefer-client-ciphers", "allow-0rtt":
		b.warnf(l, "bind option '%s' is accepted but has no effect in dhproxy.", kw)
		return 0, true
	default:
		if tlsconf.IsVersionOption(kw) {
			o.NoVer = append(o.NoVer, kw)
			return 0, true
		}
		return 0, false
	}
	if len(args) < 2 {
		return 0, true
	}
	return 1, true
}

// buildBindTLS loads the certificates of an "ssl" bind once the global
// section (its defaults) is known. Binds of one line share the result.
func (b *builder) buildBindTLS(bd *Bind) {
	if bd.TLS == nil || bd.TLSConfig != nil {
		return
	}
	if b.tlsBuilt == nil {
		b.tlsBuilt = map[*tlsconf.BindOpts]*tls.Config{}
	}
	cfg, done := b.tlsBuilt[bd.TLS]
	if !done {
		if b.cfg.Certs == nil {
			b.cfg.Certs = tlsconf.NewRegistry()
			b.cfg.Certs.Chain = b.cfg.Global.CertChain
		}
		bd.TLS.Registry, bd.TLS.Where, bd.TLS.ACMESections = b.cfg.Certs, bd.Pos.String(), b.acmeNames()
		var err error
		cfg, err = tlsconf.Server(bd.TLS, &b.cfg.Global.SSLBind, func(w string) { b.d.Warnf(bd.Pos, "bind '%s': %s.", bd.Addr, w) })
		if err != nil {
			b.d.Errorf(bd.Pos, "bind '%s': %v.", bd.Addr, err)
		}
		b.tlsBuilt[bd.TLS] = cfg // nil after an error: reported once per line
	}
	bd.TLSConfig = cfg
}
