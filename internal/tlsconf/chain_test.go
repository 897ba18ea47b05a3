package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type chainCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issue makes a certificate for cn signed by parent (nil: self-signed).
func issue(t *testing.T, cn string, isCA bool, parent *chainCert) *chainCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: isCA, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	if !isCA {
		tmpl.DNSNames = []string{cn}
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &chainCert{c, key}
}

func pemOf(cs ...*chainCert) []byte {
	var out []byte
	for _, c := range cs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})...)
	}
	return out
}

func writeCertFile(t *testing.T, path string, leaf *chainCert, chain ...*chainCert) {
	t.Helper()
	kd, _ := x509.MarshalPKCS8PrivateKey(leaf.key)
	data := append(pemOf(append([]*chainCert{leaf}, chain...)...), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestChainOpts: issuers-chain-path completes a file holding only its
// leaf with the chain its issuer starts; ssl-skip-self-issued-ca drops the
// root a file carries.
func TestChainOpts(t *testing.T) {
	dir := t.TempDir()
	root := issue(t, "root", true, nil)
	inter := issue(t, "inter", true, root)
	other := issue(t, "other-root", true, nil)
	leaf := issue(t, "a.example", false, inter)
	writeCertFile(t, filepath.Join(dir, "leaf.pem"), leaf)
	writeCertFile(t, filepath.Join(dir, "full.pem"), leaf, inter, root)

	r := NewRegistry()
	r.Chain = &ChainOpts{SkipSelfIssuedCA: true, Issuers: [][]*x509.Certificate{{other.cert}, {inter.cert, root.cert}}}
	c, err := r.loadCert(filepath.Join(dir, "leaf.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.TLS.Certificate); n != 3 || string(c.TLS.Certificate[1]) != string(inter.cert.Raw) {
		t.Errorf("leaf alone: %d certificates sent, want the leaf, inter and root", n)
	}
	c, err = r.loadCert(filepath.Join(dir, "full.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.TLS.Certificate); n != 2 || string(c.TLS.Certificate[1]) != string(inter.cert.Raw) {
		t.Errorf("with ssl-skip-self-issued-ca: %d certificates sent, want the leaf and inter", n)
	}

	r = NewRegistry()
	c, _ = r.loadCert(filepath.Join(dir, "full.pem"), nil)
	if n := len(c.TLS.Certificate); n != 3 {
		t.Errorf("without options: %d certificates sent, want 3", n)
	}
}
