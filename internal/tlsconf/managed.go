package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
	"time"
)

// Managed is a certificate an "acme" section keeps (HAProxy 3.2's "acme
// <name>" option of a crt-list line or a bind line): obtained at start when
// its file is missing, renewed before it expires, written to its path and
// swapped in with Replace like a "commit ssl cert".
type Managed struct {
	Path    string
	ACME    string   // the acme section's name
	Domains []string // names asked for; the first is the subject
	Where   string   // the bind or crt-list line, for messages
}

// Managed lists the certificates acme sections keep, in load order.
func (r *Registry) Managed() []*Managed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.managed)
}

// loadManaged loads a certificate an acme section keeps; a missing file
// gets a temporary self-signed certificate for its domains until the real
// one is obtained (the binds must start first to answer the challenge).
func (r *Registry) loadManaged(m *Managed, known []string, warn func(string)) error {
	if !slices.Contains(known, m.ACME) {
		return fmt.Errorf("unknown acme section '%s'; declare it with 'acme %s' (directory, contact, ...)", m.ACME, m.ACME)
	}
	if len(m.Domains) == 0 {
		return fmt.Errorf("'acme %s' needs the names to ask for: add 'domains <name>[,<name>...]'", m.ACME)
	}
	for _, o := range r.managed {
		if o.Path == m.Path {
			return nil
		}
	}
	if _, err := os.Stat(m.Path); errors.Is(err, os.ErrNotExist) {
		c, err := placeholder(m.Path, m.Domains)
		if err != nil {
			return err
		}
		r.certs[m.Path] = c
	} else if _, err := r.loadCert(m.Path, warn); err != nil {
		return err
	}
	r.managed = append(r.managed, m)
	return nil
}

// placeholder is a self-signed certificate served until the real one
// arrives.
func placeholder(path string, domains []string) (*Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: domains[0]}, DNSNames: domains,
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, _ := x509.ParseCertificate(der)
	return &Cert{Path: path, Names: domains, TLS: &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, Placeholder: true}, nil
}

// acmeALPN is the ALPN protocol of the tls-alpn-01 challenge (RFC 8737).
const acmeALPN = "acme-tls/1"

// SetChallengeCert serves cert to tls-alpn-01 validation handshakes for
// domain (nil removes it).
func (r *Registry) SetChallengeCert(domain string, cert *tls.Certificate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := map[string]*tls.Certificate{}
	if cur := r.challenges.Load(); cur != nil {
		for k, v := range *cur {
			next[k] = v
		}
	}
	if domain = strings.ToLower(domain); cert == nil {
		delete(next, domain)
	} else {
		next[domain] = cert
	}
	r.challenges.Store(&next)
}

// challengeConfig answers a tls-alpn-01 validation: a client offering only
// acme-tls/1 for a name with a challenge pending gets the challenge
// certificate; every other handshake goes on with the bind's settings.
func (r *Registry) challengeConfig(h *tls.ClientHelloInfo) (*tls.Config, error) {
	m := r.challenges.Load()
	if m == nil || len(*m) == 0 || !slices.Contains(h.SupportedProtos, acmeALPN) {
		return nil, nil
	}
	c := (*m)[strings.ToLower(h.ServerName)]
	if c == nil {
		return nil, nil
	}
	return &tls.Config{Certificates: []tls.Certificate{*c}, NextProtos: []string{acmeALPN}, MinVersion: tls.VersionTLS12}, nil
}

// splitACMEOptions takes "acme <name>" and "domains <list>" out of a
// crt-list line's options; the rest is returned.
func splitACMEOptions(options string) (acme string, domains []string, rest string, err error) {
	words := strings.Fields(options)
	var left []string
	for i := 0; i < len(words); i++ {
		switch words[i] {
		case "acme", "domains":
			if i+1 >= len(words) {
				return "", nil, "", fmt.Errorf("'%s' expects an argument", words[i])
			}
			if words[i] == "acme" {
				acme = words[i+1]
			} else {
				domains = SplitDomains(words[i+1])
			}
			i++
		default:
			left = append(left, words[i])
		}
	}
	return acme, domains, strings.Join(left, " "), nil
}

// SplitDomains splits a "domains" argument: names separated by commas.
func SplitDomains(s string) []string {
	var out []string
	for _, d := range strings.Split(strings.Trim(s, `"`), ",") {
		if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
			out = append(out, d)
		}
	}
	return out
}
