package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ServerOpts are the TLS options of a server (or default-server) line.
type ServerOpts struct {
	SSL      bool
	CheckSSL bool   // check-ssl: checks over TLS even to another port or address
	Verify   string // "none", "required" or "" (the global ssl-server-verify)
	CAFile   string
	SNI      string // constant server name sent (sni str(...))
	ALPN     string
	MinVer   string
	MaxVer   string
	Ciphers  string
}

// Client builds the configuration towards a server. verifyDefault is the
// global ssl-server-verify ("required" unless set). As in HAProxy, the
// chain is checked against ca-file and the name only when an SNI is sent.
func Client(o *ServerOpts, verifyDefault string, warn func(string)) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.SNI}
	if err := applyVersions(cfg, &BindOpts{MinVer: o.MinVer, MaxVer: o.MaxVer}, &Defaults{}, warn); err != nil {
		return nil, err
	}
	if o.Ciphers != "" {
		cfg.CipherSuites = mapCiphers(o.Ciphers, warn)
	}
	for _, p := range strings.Split(o.ALPN, ",") {
		if p == "h2" {
			warn("alpn 'h2' dropped towards the server: HTTP/2 is not implemented in dhproxy yet")
		} else if p != "" {
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
