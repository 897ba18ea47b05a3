// Package acme obtains and renews the certificates that "acme" sections
// keep (HAProxy 3.2's syntax), with golang.org/x/crypto/acme: at start for
// a missing certificate, then before each one expires. A new certificate
// is written to its configured path and swapped into the binds like a
// "commit ssl cert". The proxy answers the http-01 challenges itself on
// its http binds (Handler).
package acme

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	xacme "golang.org/x/crypto/acme"

	"dhproxy/internal/model"
	"dhproxy/internal/tlsconf"
)

// ChallengePath is where http-01 validation requests arrive.
const ChallengePath = "/.well-known/acme-challenge/"

// Retry bounds: a failed attempt is retried after minRetry, doubling up
// to maxRetry.
const (
	minRetry = 5 * time.Second
	maxRetry = time.Hour
)

// Manager keeps the certificates of one configuration.
type Manager struct {
	cfg    *model.Config
	reg    *tlsconf.Registry
	tokens sync.Map // http-01 token -> key authorization
	cancel context.CancelFunc
	wg     sync.WaitGroup
	logf   func(level, msg string) // "NOTICE", "WARNING", "ALERT"
}

// Start launches one keeper per managed certificate; nil when the
// configuration has none.
func Start(cfg *model.Config, logf func(level, msg string)) *Manager {
	if cfg.Certs == nil || len(cfg.Certs.Managed()) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{cfg: cfg, reg: cfg.Certs, cancel: cancel, logf: logf}
	for _, mc := range cfg.Certs.Managed() {
		m.wg.Add(1)
		go m.keep(ctx, mc)
	}
	return m
}

// Stop ends the keepers (an order in progress is abandoned).
func (m *Manager) Stop() {
	if m == nil {
		return
	}
	m.cancel()
	m.wg.Wait()
}

// keep obtains the certificate when it is missing or due, then sleeps
// until it is due again; failures are retried with a growing delay.
func (m *Manager) keep(ctx context.Context, mc *tlsconf.Managed) {
	defer m.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			m.logf("ALERT", fmt.Sprintf("acme: certificate '%s': keeper stopped: %v", mc.Path, r))
		}
	}()
	sec := m.cfg.ACMESection(mc.ACME)
	retry := minRetry
	for {
		wait := time.Until(m.due(sec, m.reg.Cert(mc.Path)))
		if wait <= 0 {
			if err := m.obtain(ctx, sec, mc); err != nil {
				if ctx.Err() != nil {
					return
				}
				m.logf("WARNING", fmt.Sprintf("acme: certificate '%s' (%s): %v; retrying in %s", mc.Path, strings.Join(mc.Domains, ","), err, retry))
				wait, retry = retry, min(2*retry, maxRetry)
			} else {
				retry = minRetry
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// due is when c should be renewed: at once for a placeholder, else
// RenewBefore (by default a third of its lifetime) before it expires.
func (m *Manager) due(sec *model.ACME, c *tlsconf.Cert) time.Time {
	if c == nil || c.TLS == nil || c.Placeholder || c.TLS.Leaf == nil {
		return time.Time{}
	}
	leaf := c.TLS.Leaf
	before := sec.RenewBefore
	if before <= 0 {
		before = leaf.NotAfter.Sub(leaf.NotBefore) / 3
	}
	return leaf.NotAfter.Add(-before)
}

// client is the ACME client of a section, with its account key (made and
// saved when the file is missing) and the CA trust of httpclient.ssl.*.
func (m *Manager) client(sec *model.ACME) (*xacme.Client, error) {
	key, err := accountKey(sec.AccountKey)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{InsecureSkipVerify: m.cfg.Global.HTTPClientNoVerify}
	if f := m.cfg.Global.HTTPClientCAFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("httpclient.ssl.ca-file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("httpclient.ssl.ca-file '%s': no PEM certificate", f)
		}
		tc.RootCAs = pool
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}}
	return &xacme.Client{Key: key, DirectoryURL: sec.Directory, HTTPClient: hc, UserAgent: "dhproxy"}, nil
}

// accountKey reads the account's private key, or makes an ECDSA P-256
// one and saves it (mode 0600) when the file does not exist.
func accountKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		if err := writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return nil, fmt.Errorf("account-key: %v", err)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("account-key: %v", err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		return nil, fmt.Errorf("account-key '%s': no PEM private key", path)
	}
	return parseKey(blk)
}

func parseKey(blk *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch blk.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return s, nil
}

// obtain runs one ACME order for mc and installs the certificate.
func (m *Manager) obtain(ctx context.Context, sec *model.ACME, mc *tlsconf.Managed) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cl, err := m.client(sec)
	if err != nil {
		return err
	}
	acct := &xacme.Account{}
	if sec.Contact != "" {
		acct.Contact = []string{"mailto:" + strings.TrimPrefix(sec.Contact, "mailto:")}
	}
	if _, err := cl.Register(ctx, acct, xacme.AcceptTOS); err != nil && !errors.Is(err, xacme.ErrAccountAlreadyExists) {
		return fmt.Errorf("account: %v", err)
	}
	order, err := cl.AuthorizeOrder(ctx, xacme.DomainIDs(mc.Domains...))
	if err != nil {
		return fmt.Errorf("new order: %v", err)
	}
	for _, u := range order.AuthzURLs {
		if err := m.authorize(ctx, cl, sec, u); err != nil {
			return err
		}
	}
	if order, err = cl.WaitOrder(ctx, order.URI); err != nil {
		return fmt.Errorf("order: %v", err)
	}
	key, err := newCertKey(sec)
	if err != nil {
		return err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: mc.Domains[0]}, DNSNames: mc.Domains}, key)
	if err != nil {
		return err
	}
	chain, _, err := cl.CreateOrderCert(ctx, order.FinalizeURL, csr, true)
	if err != nil {
		return fmt.Errorf("finalize: %v", err)
	}
	var certPEM []byte
	for _, der := range chain {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	c, err := tlsconf.NewCert(mc.Path, certPEM, keyPEM)
	if err != nil {
		return err
	}
	if err := writeFile(mc.Path, append(certPEM, keyPEM...)); err != nil {
		return err
	}
	if err := m.reg.Replace(c); err != nil {
		return err
	}
	m.logf("NOTICE", fmt.Sprintf("acme: certificate '%s' (%s) obtained from '%s', valid until %s", mc.Path, strings.Join(mc.Domains, ","),
		sec.Name, c.TLS.Leaf.NotAfter.UTC().Format(time.RFC3339)))
	return nil
}

// authorize completes one authorization by the section's challenge, the
// proxy answering the validation (http-01 on its http binds, tls-alpn-01
// on its ssl binds).
func (m *Manager) authorize(ctx context.Context, cl *xacme.Client, sec *model.ACME, url string) error {
	z, err := cl.GetAuthorization(ctx, url)
	if err != nil {
		return fmt.Errorf("authorization: %v", err)
	}
	if z.Status == xacme.StatusValid {
		return nil
	}
	var ch *xacme.Challenge
	for _, c := range z.Challenges {
		if c.Type == sec.Challenge {
			ch = c
		}
	}
	if ch == nil {
		return fmt.Errorf("%s: the CA offers no %s challenge", z.Identifier.Value, sec.Challenge)
	}
	if ch.Type == "tls-alpn-01" {
		cert, err := cl.TLSALPN01ChallengeCert(ch.Token, z.Identifier.Value)
		if err != nil {
			return err
		}
		m.reg.SetChallengeCert(z.Identifier.Value, &cert)
		defer m.reg.SetChallengeCert(z.Identifier.Value, nil)
	} else {
		resp, err := cl.HTTP01ChallengeResponse(ch.Token)
		if err != nil {
			return err
		}
		m.tokens.Store(ch.Token, resp)
		defer m.tokens.Delete(ch.Token)
	}
	if _, err := cl.Accept(ctx, ch); err != nil {
		return fmt.Errorf("%s: accept: %v", z.Identifier.Value, err)
	}
	if _, err := cl.WaitAuthorization(ctx, z.URI); err != nil {
		return fmt.Errorf("%s: %v", z.Identifier.Value, err)
	}
	return nil
}

func newCertKey(sec *model.ACME) (crypto.Signer, error) {
	if sec.KeyType == "RSA" {
		return rsa.GenerateKey(rand.Reader, sec.Bits)
	}
	curve := elliptic.P384()
	if sec.Curve == "P-256" {
		curve = elliptic.P256()
	}
	return ecdsa.GenerateKey(curve, rand.Reader)
}

// writeFile replaces path atomically (a temporary file renamed over it),
// readable by its owner only: it holds a private key.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Answer answers an http-01 validation request for uri; ok is false for
// any other path, which the frontends' own services then serve.
func (m *Manager) Answer(uri []byte) (resp []byte, status int, ok bool) {
	token, ok := strings.CutPrefix(string(uri), ChallengePath)
	if !ok {
		return nil, 0, false
	}
	v, found := m.tokens.Load(token)
	if !found {
		return []byte("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\ncache-control: no-cache\r\n\r\n"), 404, true
	}
	body := v.(string)
	return []byte("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncache-control: no-cache\r\ncontent-length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body), 200, true
}
