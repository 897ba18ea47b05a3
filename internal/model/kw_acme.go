package model

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/config"
)

// ACME is an "acme <name>" section as HAProxy 3.2 writes it: the
// certificate authority (ACME directory) and the account with which
// dhproxy obtains and renews the certificates that crt-list or bind lines
// name with "acme <name>".
//
//	acme LE
//	    directory https://acme-v02.api.letsencrypt.org/directory
//	    contact admin@example.com
//	    account-key /etc/haproxy/le.account.key
//	    challenge http-01
//	    keytype ECDSA
//	    curves P-256
type ACME struct {
	Pos        config.Pos
	Name       string
	Directory  string
	Contact    string
	AccountKey string // PEM file; made when missing
	Challenge  string // "http-01" or "tls-alpn-01"
	KeyType    string // "RSA" or "ECDSA"
	Bits       int    // RSA key size
	Curve      string // ECDSA curve: P-256 or P-384
	// RenewBefore (dhproxy's "renew-before"): how long before expiry a
	// certificate is renewed; 0 means a third of its lifetime.
	RenewBefore time.Duration
}

var acmeKeywords = []string{"directory", "contact", "account-key", "challenge", "keytype", "bits", "curves", "map", "renew-before"}

// ACMESection returns the acme section named name, or nil.
func (c *Config) ACMESection(name string) *ACME {
	for _, a := range c.ACME {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func (b *builder) buildACME(s *config.Section) {
	if len(s.Args) == 0 || s.Args[0] == "" {
		b.d.Errorf(s.Pos, "missing name for acme section; write 'acme <name>'.")
		return
	}
	a := &ACME{Pos: s.Pos, Name: s.Args[0], Challenge: "http-01", KeyType: "RSA", Bits: 2048, Curve: "P-384",
		AccountKey: s.Args[0] + ".account.key"}
	if other := b.cfg.ACMESection(a.Name); other != nil {
		b.d.Errorf(s.Pos, "acme section '%s' has the same name as another declared at %s; rename one of them.", a.Name, other.Pos)
		return
	}
	b.cfg.ACME = append(b.cfg.ACME, a)
	for _, l := range s.Lines {
		kw := l.Args[0]
		if !b.wantArgs(l, 1, 1, kw+" <value>") {
			continue
		}
		v := l.Args[1]
		switch kw {
		case "directory":
			if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				b.errorf(l, "'directory %s': expects the URL of an ACME directory, e.g. https://acme-v02.api.letsencrypt.org/directory.", v)
			}
			a.Directory = v
		case "contact":
			a.Contact = v
		case "account-key":
			a.AccountKey = v
		case "challenge":
			switch strings.ToLower(v) {
			case "http-01", "tls-alpn-01":
				a.Challenge = strings.ToLower(v)
			case "dns-01":
				b.errorf(l, "'challenge %s' is not supported by dhproxy yet; use http-01 (answered on the http binds) or tls-alpn-01 (on the ssl binds).", v)
			default:
				b.errorf(l, "'challenge %s': expects http-01 or tls-alpn-01.", v)
			}
		case "keytype":
			switch strings.ToUpper(v) {
			case "RSA", "ECDSA":
				a.KeyType = strings.ToUpper(v)
			default:
				b.errorf(l, "'keytype %s': expects RSA or ECDSA.", v)
			}
		case "bits":
			n, err := strconv.Atoi(v)
			if err != nil || n < 2048 || n > 8192 {
				b.errorf(l, "'bits %s': expects an RSA key size between 2048 and 8192.", v)
			}
			a.Bits = n
		case "curves":
			if v != "P-256" && v != "P-384" {
				b.errorf(l, "'curves %s': expects P-256 or P-384.", v)
			}
			a.Curve = v
		case "map":
			b.warnf(l, "'map %s' is not needed: dhproxy answers the http-01 challenges itself on its http binds.", v)
		case "renew-before":
			d, err := parseDuration(v)
			if err != nil || d <= 0 {
				b.errorf(l, "'renew-before %s': expects a positive time value, e.g. 30d.", v)
			}
			a.RenewBefore = d
		default:
			b.errorf(l, "unknown keyword '%s' in 'acme' section%s", kw, suggest(kw, acmeKeywords))
		}
	}
	if a.Directory == "" {
		b.d.Errorf(s.Pos, "acme section '%s' has no 'directory <url>'.", a.Name)
	}
}

// acmeNames lists the acme sections, for bind and crt-list references.
func (b *builder) acmeNames() []string {
	var out []string
	for _, a := range b.cfg.ACME {
		out = append(out, a.Name)
	}
	return out
}

// markACMEFrontends makes every http frontend with a plain (not ssl) bind
// answer the http-01 challenges, when a certificate is kept by ACME.
func (b *builder) markACMEFrontends() {
	if b.cfg.Certs == nil || len(b.cfg.Certs.Managed()) == 0 {
		return
	}
	for _, p := range b.cfg.Proxies {
		if p.Mode != ModeHTTP || !p.IsFrontend() {
			continue
		}
		for _, bd := range p.Binds {
			if bd.TLS == nil {
				p.AnswersACME = true
			}
		}
	}
}

func init() {
	// HAProxy 3.2's HTTP client settings, which its ACME client uses.
	registerGlobal("httpclient.ssl.ca-file", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "httpclient.ssl.ca-file <file>") {
			g.HTTPClientCAFile = l.Args[1]
		}
	})
	registerGlobal("httpclient.ssl.verify", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "httpclient.ssl.verify none|required") {
			return
		}
		switch l.Args[1] {
		case "none":
			g.HTTPClientNoVerify = true
		case "required":
			g.HTTPClientNoVerify = false
		default:
			b.errorf(l, "'httpclient.ssl.verify' expects 'none' or 'required', not '%s'.", l.Args[1])
		}
	})
}
