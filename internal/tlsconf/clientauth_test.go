package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func makeCert(t *testing.T, tmpl *x509.Certificate, parent *testCA) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pc, pk := tmpl, key
	if parent != nil {
		pc, pk = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pc, &key.PublicKey, pk)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func newCA(t *testing.T, cn string) *testCA {
	c, k := makeCert(t, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, nil)
	return &testCA{c, k}
}

func (ca *testCA) leaf(t *testing.T, serial int64, notAfter time.Time, eku x509.ExtKeyUsage) *x509.Certificate {
	c, _ := makeCert(t, &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "c"},
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{eku}}, ca)
	return c
}

func writePEM(t *testing.T, typ string, der []byte) string {
	f := filepath.Join(t.TempDir(), "f.pem")
	os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644)
	return f
}

func TestClientVerifierCodes(t *testing.T) {
	ca, other := newCA(t, "ca"), newCA(t, "other")
	crlDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(66), RevocationTime: time.Now()}}}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{}
	v, err := applyClientAuth(cfg, &ClientAuthOpts{CAFile: writePEM(t, "CERTIFICATE", ca.cert.Raw), Verify: "required",
		CRLFile: writePEM(t, "X509 CRL", crlDER), CrtIgnoreErr: "X509_V_ERR_CERT_HAS_EXPIRED"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientAuth != tls.RequireAnyClientCert || cfg.ClientCAs == nil || cfg.VerifyConnection == nil {
		t.Fatalf("config: %+v", cfg)
	}
	late := time.Now().Add(time.Hour)
	selfSigned, _ := makeCert(t, &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "me"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: late}, nil)
	cases := []struct {
		name        string
		cert        *x509.Certificate
		code, depth int
		accepted    bool
	}{
		{"good", ca.leaf(t, 10, late, x509.ExtKeyUsageClientAuth), VerifyOK, 0, true},
		{"expired (forgiven by crt-ignore-err)", ca.leaf(t, 11, time.Now().Add(-time.Minute), x509.ExtKeyUsageClientAuth), VerifyCertHasExpired, 0, true},
		{"revoked", ca.leaf(t, 66, late, x509.ExtKeyUsageClientAuth), VerifyCertRevoked, 0, false},
		{"another CA", other.leaf(t, 12, late, x509.ExtKeyUsageClientAuth), VerifyUnableToGetIssuerLoc, 0, false},
		{"server usage only", ca.leaf(t, 13, late, x509.ExtKeyUsageServerAuth), VerifyInvalidPurpose, 0, false},
		{"self-signed", selfSigned, VerifySelfSigned, 0, false},
	}
	for _, c := range cases {
		verify, crtErr, caErr := v.Check([]*x509.Certificate{c.cert})
		wantCrt, wantCA := c.code, VerifyOK
		if c.depth > 0 {
			wantCrt, wantCA = VerifyOK, c.code
		}
		if verify != c.code || crtErr != wantCrt || caErr != wantCA {
			t.Errorf("%s: verify %d err %d ca_err %d, want %d at depth %d", c.name, verify, crtErr, caErr, c.code, c.depth)
		}
		err := cfg.VerifyConnection(tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.cert}})
		var ce *ClientCertError
		if c.accepted != (err == nil) || (err != nil && (!errors.As(err, &ce) || ce.LogMessage() != "SSL client certificate not trusted")) {
			t.Errorf("%s: VerifyConnection %v", c.name, err)
		}
	}
	if err := cfg.VerifyConnection(tls.ConnectionState{}); err != nil {
		t.Errorf("no certificate (verify optional's case): %v", err)
	}
}

func TestClientAuthOptionErrors(t *testing.T) {
	for _, o := range []ClientAuthOpts{
		{Verify: "required"},
		{Verify: "sometimes", CAFile: "x"},
		{CRLFile: "x.crl"},
		{Verify: "optional", CAFile: "/nonexistent/ca.pem"},
	} {
		if _, err := applyClientAuth(&tls.Config{}, &o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := parseIgnore("ca-ignore-err", "10,X509_V_ERR_BOGUS"); err == nil {
		t.Error("an unknown error name accepted")
	}
	if l, err := parseIgnore("ca-ignore-err", "10,X509_V_ERR_CERT_REVOKED"); err != nil || !l.has(10) || !l.has(23) || l.has(20) {
		t.Errorf("%+v %v", l, err)
	}
	if v, err := applyClientAuth(&tls.Config{}, &ClientAuthOpts{Verify: "none", CAFile: "x"}); v != nil || err != nil {
		t.Errorf("verify none: %v %v", v, err)
	}
}
