package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// ServerOpts are the TLS options of a server (or default-server) line.
type ServerOpts struct {
	SSL      bool
	CheckSSL bool   // check-ssl: checks over TLS even to another port or address
	Verify   string // "none", "required" or "" (the global ssl-server-verify)
	CAFile   string
	SNI      string // constant server name sent (sni str(...)); other expressions: model.Server.SNIExpr
	ALPN     string
	MinVer   string
	MaxVer   string
	Ciphers  string

	Crt      string // crt: the client certificate (and key) shown to the server
	NoReuse  bool   // no-ssl-reuse: a full handshake on every connection
	CheckSNI string // check-sni: the name the health checks send
	// CheckALPN is check-alpn: the protocols the health checks offer
	// ("": those of alpn).
	CheckALPN string
	NoVer     []string
	Suites    string
}

// Client builds the configuration towards a server. verifyDefault is the
// global ssl-server-verify ("required" unless set). As in HAProxy, the
// chain is checked against ca-file and the name only when an SNI is sent.
//
// d are the global ssl-default-server-* settings. TLS sessions are resumed
// on later connections to the same server (a cache per server), as
// HAProxy's, unless no-ssl-reuse.
func Client(o *ServerOpts, d *Defaults, verifyDefault string, warn func(string)) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.SNI}
	if err := applyVersions(cfg, &BindOpts{MinVer: o.MinVer, MaxVer: o.MaxVer, NoVer: o.NoVer}, d, warn); err != nil {
		return nil, err
	}
	ciphers, suites := o.Ciphers, o.Suites
	if ciphers == "" {
		ciphers = d.Ciphers
	}
	if suites == "" {
		suites = d.Suites
	}
	if ciphers != "" {
		cfg.CipherSuites = mapCiphers(ciphers, warn)
	}
	if suites != "" {
		checkSuites(suites, warn)
	}
	if o.Crt != "" {
		cert, err := LoadFile(o.Crt, warn)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{*cert.TLS}
	}
	if !o.NoReuse && !slices.Contains(d.Options, "no-ssl-reuse") {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	}
	for _, p := range strings.Split(o.ALPN, ",") {
		if p != "" {
			cfg.NextProtos = append(cfg.NextProtos, p)
		}
	}
	verify := o.Verify
	if verify == "" {
		verify = verifyDefault
	}
	if verify == "none" {
		cfg.InsecureSkipVerify = true
		return cfg, nil
	}
	if o.CAFile == "" {
		return nil, errors.New("verify is enabled by default but no CA file specified; set 'ca-file <file>', or 'verify none' on the server line (or 'ssl-server-verify none' in global) where the server's certificate need not be checked")
	}
	roots, err := loadCAs(o.CAFile)
	if err != nil {
		return nil, err
	}
	cfg.RootCAs = roots
	if o.SNI == "" {
		// No name to check: the chain alone, as HAProxy without sni/verifyhost.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	return cfg, nil
}

// WithServerName is cfg (built by Client without a constant sni) for a
// connection sending name, computed by an "sni <expr>": a verified server
// must then present a certificate for that name, as in HAProxy. The
// session cache stays shared (Go keys it by name).
func WithServerName(cfg *tls.Config, name string) *tls.Config {
	c := cfg.Clone()
	c.ServerName = name
	if c.RootCAs != nil {
		// verify required: Go checks the chain and the name itself.
		c.InsecureSkipVerify, c.VerifyConnection = false, nil
	}
	return c
}

func loadCAs(path string) (*x509.CertPool, error) {
	if path == "@system-ca" {
		return x509.SystemCertPool()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("unable to load CA file '%s': %v", path, errors.Unwrap(err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA file '%s' holds no PEM certificate", path)
	}
	return pool, nil
}
