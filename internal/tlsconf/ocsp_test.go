package tlsconf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ocspFixture writes leaf.pem (issued by a CA) and returns its path, the
// CA and a function making responses for the leaf.
func ocspFixture(t *testing.T, dir string) (string, *x509.Certificate, func(status int, next time.Time) []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caT, caT, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	lT := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "leaf.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	lDER, _ := x509.CreateCertificate(rand.Reader, lT, ca, &key.PublicKey, caKey)
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	p := filepath.Join(dir, "leaf.pem")
	os.WriteFile(p, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: lDER}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...), 0o600)
	return p, ca, func(status int, next time.Time) []byte {
		r, err := ocsp.CreateResponse(ca, ca, ocsp.Response{Status: status, SerialNumber: big.NewInt(77), IssuerHash: crypto.SHA1,
			ThisUpdate: time.Now().Add(-2 * time.Hour), NextUpdate: next, RevokedAt: time.Now().Add(-time.Hour)}, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func TestOCSPSideFiles(t *testing.T) {
	dir := t.TempDir()
	p, ca, resp := ocspFixture(t, dir)
	os.WriteFile(p+".ocsp", resp(ocsp.Good, time.Now().Add(time.Hour)), 0o644)
	if _, err := LoadFile(p, func(w string) { t.Error(w) }); err == nil || !strings.Contains(err.Error(), "the issuer of the certificate is needed") {
		t.Errorf("no issuer: %v", err)
	}
	os.WriteFile(p+".issuer", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), 0o644)
	reg := NewRegistry()
	cfg, err := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: p}}, Registry: reg}, &Defaults{}, func(w string) { t.Error(w) })
	if err != nil {
		t.Fatal(err)
	}
	c, _ := cfg.GetCertificate(&tls.ClientHelloInfo{})
	if len(c.OCSPStaple) == 0 {
		t.Fatal("no staple")
	}
	if got := reg.ShowOCSPResponse(""); !strings.Contains(got, "   Serial Number: 4D\n") {
		t.Errorf("show ssl ocsp-response:\n%s", got)
	}
	// A response that expired is not stapled: a warning says why.
	os.WriteFile(p+".ocsp", resp(ocsp.Good, time.Now().Add(-time.Minute)), 0o644)
	var warned string
	c2, err := LoadFile(p, func(w string) { warned = w })
	if err != nil || c2.OCSP != nil || !strings.Contains(warned, "no longer valid") {
		t.Errorf("expired response: %v %q", err, warned)
	}
	// Run time: a revoked status replaces the good one; a response for
	// another certificate changes nothing.
	if got := reg.SetOCSPResponse(base64.StdEncoding.EncodeToString(resp(ocsp.Revoked, time.Now().Add(time.Hour)))); got != "OCSP Response updated!\n" {
		t.Errorf("set: %q", got)
	}
	c, _ = cfg.GetCertificate(&tls.ClientHelloInfo{})
	if r, err := ocsp.ParseResponse(c.OCSPStaple, nil); err != nil || r.Status != ocsp.Revoked {
		t.Errorf("the new response is not served: %v", err)
	}
	_, _, other := ocspFixture(t, t.TempDir())
	if got := reg.SetOCSPResponse(base64.StdEncoding.EncodeToString(other(ocsp.Good, time.Now().Add(time.Hour)))); !strings.Contains(got, "invalid OCSP response for this certificate") {
		t.Errorf("foreign response: %q", got)
	}
}
