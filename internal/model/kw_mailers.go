package model

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/config"
)

// Mailers is a "mailers <name>" section: the SMTP servers that e-mail
// alerts go to (every one of them gets every alert).
//
//	mailers mymailers
//	    mailer smtp1 192.168.0.1:587
//	    timeout mail 20s
type Mailers struct {
	Pos     config.Pos
	Name    string
	Mailers []Mailer
	Timeout time.Duration // "timeout mail": the whole SMTP session; default 10s
	used    bool          // some proxy sends alerts through it
}

// Mailer is a "mailer <name> <ip>:<port>" line.
type Mailer struct {
	Pos  config.Pos
	Name string
	Addr string // ip:port or name:port; names are resolved when the proxy starts
}

// DefaultMailTimeout is HAProxy's default "timeout mail".
const DefaultMailTimeout = 10 * time.Second

// MailersSection returns the mailers section named name, or nil.
func (c *Config) MailersSection(name string) *Mailers {
	for _, m := range c.Mailers {
		if m.Name == name {
			return m
		}
	}
	return nil
}

var mailersKeywords = []string{"mailer", "timeout"}

func (b *builder) buildMailers(s *config.Section) {
	if len(s.Args) == 0 || s.Args[0] == "" {
		b.d.Errorf(s.Pos, "missing name for mailers section; write 'mailers <name>'.")
		return
	}
	m := &Mailers{Pos: s.Pos, Name: s.Args[0], Timeout: DefaultMailTimeout}
	if err := checkName(m.Name); err != "" {
		b.d.Errorf(s.Pos, "character '%s' is not permitted in 'mailers' name '%s'.", err, m.Name)
		return
	}
	if len(s.Args) > 1 {
		b.d.Warnf(s.Pos, "'mailers %s': '%s' ignored; the section line takes only a name.", m.Name, strings.Join(s.Args[1:], " "))
	}
	if other := b.cfg.MailersSection(m.Name); other != nil {
		b.d.Errorf(s.Pos, "mailers section '%s' has the same name as another mailers section declared at %s; rename one of them.", m.Name, other.Pos)
		return
	}
	b.cfg.Mailers = append(b.cfg.Mailers, m)
	for _, l := range s.Lines {
		switch l.Args[0] {
		case "mailer":
			parseMailer(b, m, l)
		case "timeout":
			parseMailTimeout(b, m, l)
		default:
			b.errorf(l, "unknown keyword '%s' in 'mailers' section%s", l.Args[0], suggest(l.Args[0], mailersKeywords))
		}
	}
}

func parseMailer(b *builder, m *Mailers, l config.Line) {
	if len(l.Args) < 3 || l.Args[1] == "" || l.Args[2] == "" {
		b.errorf(l, "'mailer' expects <name> and <addr>[:<port>] as arguments.")
		return
	}
	name, raw := l.Args[1], l.Args[2]
	addr, err := mailerAddr(b.addr(raw))
	if err != "" {
		b.errorf(l, "'mailer %s' : %s", name, err)
		return
	}
	m.Mailers = append(m.Mailers, Mailer{Pos: l.Pos, Name: name, Addr: addr})
}

// mailerAddr checks a mailer address as HAProxy's str2sa_range does for
// it: TCP over IPv4 or IPv6, one port. Host names are kept: like server
// addresses, they are resolved when the proxy starts, not while checking
// the configuration.
func mailerAddr(raw string) (string, string) {
	s := raw
	for _, p := range []string{"ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@"} {
		s = strings.TrimPrefix(s, p)
	}
	if strings.Contains(s, "@") || strings.HasPrefix(s, "/") {
		return "", "TCP not supported for this address family in '" + raw + "'; a mailer is an <ip>:<port>."
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", "missing port specification in '" + raw + "'; write <ip>:<port>, e.g. '127.0.0.1:25'."
	}
	if strings.Contains(port, "-") {
		return "", "port range not permitted here in '" + raw + "'."
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "invalid port '" + port + "' in '" + raw + "'; use 1 to 65535."
	}
	if host == "" || host == "*" {
		return "", "invalid address: '" + host + "' in '" + raw + "'; the mailer needs an IP address or a host name."
	}
	if _, err := netip.ParseAddr(host); err != nil && !isHostName(host) {
		return "", "invalid address: '" + host + "' in '" + raw + "'; the mailer needs an IP address or a host name."
	}
	return net.JoinHostPort(host, port), ""
}

func isHostName(h string) bool {
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return len(h) <= 253
}

func parseMailTimeout(b *builder, m *Mailers, l config.Line) {
	switch {
	case len(l.Args) < 2 || l.Args[1] == "":
		b.errorf(l, "'timeout' expects 'mail' and <time> as arguments.")
	case l.Args[1] != "mail":
		b.errorf(l, "'timeout' expects 'mail' and <time> as arguments got '%s'.", l.Args[1])
	case len(l.Args) < 3 || l.Args[2] == "":
		b.errorf(l, "'timeout mail' expects <time> as argument.")
	default:
		d, err := parseDuration(l.Args[2])
		if err != nil {
			b.errorf(l, "'timeout mail': %v.", err)
			return
		}
		if d == 0 {
			d = DefaultMailTimeout
		}
		m.Timeout = d
	}
}
