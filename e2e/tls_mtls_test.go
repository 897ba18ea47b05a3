package e2e

// Client certificates on binds (ca-file, verify, crl-file) and the ssl_c_*
// fetches, compared with real haproxy 2.6 for the same certificates.

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mtlsCA signs client certificates and CRLs.
type mtlsCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string
}

func newMTLSCA(t *testing.T, dir, cn string) *mtlsCA {
	t.Helper()
	cert, key := newCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{Country: []string{"FR"}, Organization: []string{"Test Org"}, CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, nil)
	ca := &mtlsCA{cert: cert, key: key, file: filepath.Join(dir, strings.ReplaceAll(cn, " ", "_")+".pem")}
	os.WriteFile(ca.file, encodeCertPEM(cert), 0o644)
	return ca
}

// client issues a client certificate; it returns the certificate and key
// files (for curl --cert/--key) and the certificate.
func (ca *mtlsCA) client(t *testing.T, dir, cn string, serial int64) (string, string, *x509.Certificate) {
	t.Helper()
	c, key := newCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{Country: []string{"FR"}, Province: []string{"Paris"}, Organization: []string{"Example"}, OrganizationalUnit: []string{"Ops", "Web"}, CommonName: cn},
		NotBefore:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), NotAfter: time.Now().Add(24 * time.Hour).Truncate(time.Second),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca.cert, ca.key)
	cf, kf := filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	os.WriteFile(cf, encodeCertPEM(c), 0o644)
	os.WriteFile(kf, encodeKeyPEM(t, key), 0o600)
	return cf, kf, c
}

// crl writes a CRL revoking serials.
func (ca *mtlsCA) crl(t *testing.T, dir string, serials ...int64) string {
	t.Helper()
	var revoked []x509.RevocationListEntry
	for _, s := range serials {
		revoked = append(revoked, x509.RevocationListEntry{SerialNumber: big.NewInt(s), RevocationTime: time.Now().Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: revoked,
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "crl.pem")
	os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o644)
	return f
}

const mtlsHeaders = `
	http-request set-header X-DN %[ssl_c_s_dn]
	http-request set-header X-IDN %[ssl_c_i_dn]
	http-request set-header X-CN %[ssl_c_s_dn(CN)]
	http-request set-header X-OU1 %[ssl_c_s_dn(OU,1)]
	http-request set-header X-OU2 %[ssl_c_s_dn(OU,-1)]
	http-request set-header X-Verify %[ssl_c_verify]
	http-request set-header X-Used %[ssl_c_used]
	http-request set-header X-Has %[ssl_fc_has_crt]
	http-request set-header X-Serial %[ssl_c_serial,hex]
	http-request set-header X-SHA1 %[ssl_c_sha1,hex]
	http-request set-header X-NB %[ssl_c_notbefore]
	http-request set-header X-NA %[ssl_c_notafter]
	http-request set-header X-Ver %[ssl_c_version]
	http-request set-header X-Sig %[ssl_c_sig_alg]
	http-request set-header X-Key %[ssl_c_key_alg]
	http-request set-header X-DER %[ssl_c_der,base64]`

func echoed(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimRight(l, "\r")
		if p := "echo-" + name + ": "; len(l) >= len(p) && strings.EqualFold(l[:len(p)], p) {
			return l[len(p):]
		}
	}
	return "<absent>"
}

func TestTLSClientCertificates(t *testing.T) {
	dir := t.TempDir()
	srvCA := newTLSCA(t)
	crt := srvCA.writePEM(t, dir, "site.pem", "site.test")
	ca := newMTLSCA(t, dir, "Client CA")
	other := newMTLSCA(t, dir, "Other CA")
	cf, kf, cert := ca.client(t, dir, "client1", 0x1234abcd)
	rf, rk, _ := ca.client(t, dir, "revoked", 99)
	of, ok, _ := other.client(t, dir, "stranger", 5)
	crl := ca.crl(t, dir, 99)
	echo := startHeaderEcho(t)
	cfg := func(req, opt int) string {
		return `
global
	log stdout format raw local0` + defaultsSection("http", "2s", "5s", "5s", "log global", "option httplog") + fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s ca-file %s verify required crl-file %s name req
	bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional
	%s
	default_backend be
backend be
	server s1 127.0.0.1:%d
`, req, crt, ca.file, crl, opt, crt, ca.file, mtlsHeaders, echo)
	}
	req, opt := freePort(t), freePort(t)
	p := startProxy(t, cfg(req, opt), req, opt)
	get := func(port int, args ...string) (string, error) {
		return curl(t, append(append([]string{"-i", "--cacert", srvCA.pemFil}, args...), tlsURL("site.test", port, "/")...)...)
	}
	mine, err := get(req, "--cert", cf, "--key", kf)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"X-Dn":     "/C=FR/ST=Paris/O=Example/OU=Ops/OU=Web/CN=client1",
		"X-Idn":    "/C=FR/O=Test Org/CN=Client CA",
		"X-Cn":     "client1",
		"X-Ou1":    "Ops",
		"X-Ou2":    "Web",
		"X-Verify": "0",
		"X-Used":   "1",
		"X-Has":    "1",
		"X-Serial": "1234ABCD",
		"X-Nb":     "260102030405Z",
		"X-Na":     cert.NotAfter.UTC().Format("060102150405Z"),
		"X-Ver":    "3",
		"X-Sig":    "ecdsa-with-SHA256",
		"X-Key":    "id-ecPublicKey",
		"X-Der":    base64.StdEncoding.EncodeToString(cert.Raw),
	}
	for h, v := range want {
		if got := echoed(mine, h); got != v {
			t.Errorf("%s: %q, want %q", h, got, v)
		}
	}
	if got := echoed(mine, "X-Sha1"); len(got) != 40 {
		t.Errorf("X-SHA1: %q", got)
	}
	// verify required: no certificate, one of another CA, a revoked one.
	// Each refusal is logged with haproxy's reason.
	for _, c := range []struct {
		name string
		args []string
		log  string
	}{
		{"no", nil, "fe/req: SSL handshake failure"},
		{"another CA's", []string{"--cert", of, "--key", ok}, "fe/req: SSL client certificate not trusted"},
		{"a revoked", []string{"--cert", rf, "--key", rk}, "fe/req: SSL client certificate not trusted"},
	} {
		before := strings.Count(p.Stdout(), c.log)
		if out, err := get(req, c.args...); err == nil {
			t.Errorf("verify required accepted a client with %s certificate:\n%s", c.name, out)
		}
		deadline := time.Now().Add(3 * time.Second)
		for strings.Count(p.Stdout(), c.log) == before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if strings.Count(p.Stdout(), c.log) == before {
			t.Errorf("%s certificate: no %q line in:\n%s", c.name, c.log, p.Stdout())
		}
	}
	// verify optional: a client without certificate passes.
	out, err := get(opt)
	if err != nil || echoed(out, "X-Used") != "0" || echoed(out, "X-Has") != "0" || echoed(out, "X-Dn") != "" {
		t.Errorf("verify optional without a certificate: %v\n%s", err, out)
	}

	// The same headers from haproxy 2.6 for the same certificate.
	if isHAProxy() {
		return
	}
	if _, err := os.Stat(haproxyBin); err != nil {
		return
	}
	hreq, hopt := freePort(t), freePort(t)
	startBinary(t, haproxyBin, cfg(hreq, hopt), hreq)
	hout, err := curl(t, append([]string{"-i", "--cacert", srvCA.pemFil, "--cert", cf, "--key", kf}, tlsURL("site.test", hreq, "/")...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"X-Dn", "X-Idn", "X-Cn", "X-Ou1", "X-Ou2", "X-Verify", "X-Used", "X-Has", "X-Serial", "X-Sha1", "X-Nb", "X-Na", "X-Ver", "X-Sig", "X-Key", "X-Der"} {
		if a, b := echoed(mine, h), echoed(hout, h); a != b {
			t.Errorf("%s: dhproxy %q, haproxy %q", h, a, b)
		}
	}
}

// Mode tcp with TLS offload: the ssl_fc* and ssl_c_* fetches choose the
// backend (the client certificate's CN, the SNI).
func TestTLSClientCertificatesModeTCP(t *testing.T) {
	dir := t.TempDir()
	srvCA := newTLSCA(t)
	crt := srvCA.writePEM(t, dir, "site.pem", "site.test")
	ca := newMTLSCA(t, dir, "Client CA")
	cf, kf, _ := ca.client(t, dir, "client1", 42)
	withCert, stop1 := startHTTPBackend(t, "with-cert")
	defer stop1()
	without, stop2 := startHTTPBackend(t, "without-cert")
	defer stop2()
	port := freePort(t)
	startProxy(t, defaultsSection("tcp", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional
	use_backend cert if { ssl_c_used } { ssl_c_s_dn(CN) -m str client1 } { ssl_fc_sni -m str site.test }
	default_backend nocert
backend cert
	server s 127.0.0.1:%d
backend nocert
	server s 127.0.0.1:%d
`, port, crt, ca.file, withCert, without), port)
	get := func(args ...string) string {
		out, err := curl(t, append(append([]string{"--cacert", srvCA.pemFil}, args...), tlsURL("site.test", port, "/")...)...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := get("--cert", cf, "--key", kf); out != "with-cert" {
		t.Errorf("with a client certificate: %q", out)
	}
	if out := get(); out != "without-cert" {
		t.Errorf("without a client certificate: %q", out)
	}
}
