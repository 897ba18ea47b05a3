package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
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
	// VerifyHost is verifyhost: the name the server's certificate must
	// carry when no SNI is sent (checks included).
	VerifyHost string
	CRLFile    string // crl-file: revocation lists for the server's chain
}

// Client builds the configuration towards a server. verifyDefault is the
// global ssl-server-verify ("required" unless set). As in HAProxy, the
// chain is checked against ca-file (and crl-file), the name only when an
// SNI is sent or verifyhost names one.
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
	sv := &serverVerifier{host: o.VerifyHost}
	var err error
	if sv.roots, err = loadCAs(o.CAFile); err != nil {
		return nil, err
	}
	if o.CRLFile != "" {
		if sv.crls, err = loadCRLs(o.CRLFile); err != nil {
			return nil, err
		}
	}
	// Go checks the name it sends only; the verifier also checks
	// verifyhost's when none is sent, and the CRLs.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = sv.verify
	return cfg, nil
}

// serverVerifier checks a server's certificate as HAProxy with "verify
// required": the chain against ca-file; the name against the SNI sent, or
// else verifyhost's (no name: any); with crl-file, every certificate of
// the chain against a CRL of its issuer (OpenSSL's CRL_CHECK_ALL, which
// HAProxy sets: a certificate whose issuer has no CRL there is refused).
type serverVerifier struct {
	roots *x509.CertPool
	crls  []*x509.RevocationList
	host  string
}

func (v *serverVerifier) verify(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	name := cs.ServerName
	if name == "" {
		name = v.host
	}
	now := time.Now()
	chains, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: v.roots, Intermediates: inter, DNSName: name, CurrentTime: now})
	if err != nil || v.crls == nil {
		return err
	}
	var crlErr error
	for _, chain := range chains {
		if crlErr = v.checkCRLs(chain, now); crlErr == nil {
			return nil
		}
	}
	return crlErr
}

// checkCRLs checks each certificate of a verified chain (its root last)
// against a CRL of its issuer; the root is its own issuer.
func (v *serverVerifier) checkCRLs(chain []*x509.Certificate, now time.Time) error {
	for d, c := range chain {
		issuer := c
		if d+1 < len(chain) {
			issuer = chain[d+1]
		}
		crl := findCRL(v.crls, issuer)
		switch {
		case crl == nil:
			return fmt.Errorf("unable to get certificate CRL (depth %d, %s)", d, c.Subject)
		case !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate):
			return fmt.Errorf("CRL has expired (depth %d, issuer %s)", d, issuer.Subject)
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(c.SerialNumber) == 0 {
				return fmt.Errorf("certificate revoked (depth %d, %s)", d, c.Subject)
			}
		}
	}
	return nil
}

// WithServerName is cfg (built by Client without a constant sni) for a
// connection sending name, computed by an "sni <expr>": a verified server
// must then present a certificate for that name (the verifier checks the
// name sent), as in HAProxy. The session cache stays shared (Go keys it
// by name).
func WithServerName(cfg *tls.Config, name string) *tls.Config {
	c := cfg.Clone()
	c.ServerName = name
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
