package e2e

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readLeaf parses the first certificate of a PEM file.
func readLeaf(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Two names of one crt-list with different per-line options (alpn,
// ssl-min-ver, verify, curves) are served differently; the names of a
// line without options keep the bind's settings.
func TestTLSCrtListLineOptions(t *testing.T) {
	ca := newTLSCA(t)
	dir := t.TempDir()
	ca.writePEM(t, dir, "a.pem", "a.test")
	ca.writePEM(t, dir, "h2.pem", "h2.test")
	ca.writePEM(t, dir, "p384.pem", "p384.test")
	ca.writePEM(t, dir, "mtls.pem", "mtls.test")
	cca := newMTLSCA(t, dir, "Client CA")
	cf, kf, _ := cca.client(t, dir, "client1", 7)
	list := filepath.Join(dir, "list.txt")
	content := fmt.Sprintf("%[1]s/a.pem\n%[1]s/h2.pem [alpn h2,http/1.1 ssl-min-ver TLSv1.3] h2.test\n"+
		"%[1]s/p384.pem [curves secp384r1] p384.test\n%[1]s/mtls.pem [verify required ca-file %[2]s] mtls.test\n", dir, cca.file)
	if err := os.WriteFile(list, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	be, port := startHeaderEcho(t), freePort(t)
	startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt-list %s alpn http/1.1
	default_backend be
backend be
	server s1 127.0.0.1:%d
`, port, list, be), port)

	alpn := func(name string) string {
		out, ok := sClient(t, port, "-servername", name, "-CAfile", ca.pemFil, "-alpn", "h2,http/1.1")
		if !ok {
			return "handshake failed"
		}
		for _, l := range strings.Split(out, "\n") {
			if v, found := strings.CutPrefix(l, "ALPN protocol: "); found {
				return strings.TrimSpace(v)
			}
		}
		return "none"
	}
	if got := alpn("a.test"); got != "http/1.1" {
		t.Errorf("a.test ALPN: %s, want the bind's http/1.1", got)
	}
	if got := alpn("h2.test"); got != "h2" {
		t.Errorf("h2.test ALPN: %s, want its line's h2", got)
	}

	if _, ok := sClient(t, port, "-servername", "a.test", "-tls1_2"); !ok {
		t.Error("a.test refused TLS 1.2 (the bind allows it)")
	}
	if out, ok := sClient(t, port, "-servername", "h2.test", "-tls1_2"); ok {
		t.Errorf("h2.test accepted TLS 1.2 despite its line's ssl-min-ver TLSv1.3:\n%s", out)
	}

	if _, ok := sClient(t, port, "-servername", "a.test", "-curves", "X25519"); !ok {
		t.Error("a.test refused X25519")
	}
	// haproxy 2.6 (OpenSSL 3.0) keeps the default context's groups after
	// switching to the line's: its per-line curves have no effect there.
	if out, ok := sClient(t, port, "-servername", "p384.test", "-curves", "X25519"); ok && !isHAProxy() {
		t.Errorf("p384.test accepted X25519 despite its line's curves secp384r1:\n%s", out)
	}
	if _, ok := sClient(t, port, "-servername", "p384.test", "-curves", "P-384"); !ok {
		t.Error("p384.test refused P-384")
	}

	get := func(name string, args ...string) error {
		out, err := curl(t, append(append([]string{"--cacert", ca.pemFil}, args...), tlsURL(name, port, "/")...)...)
		if err == nil && out != "hello" {
			return fmt.Errorf("answer %q", out)
		}
		return err
	}
	if err := get("a.test"); err != nil {
		t.Errorf("a.test without a client certificate: %v", err)
	}
	if err := get("mtls.test"); err == nil {
		t.Error("mtls.test let a client without a certificate in (its line has verify required)")
	}
	if err := get("mtls.test", "--cert", cf, "--key", kf); err != nil {
		t.Errorf("mtls.test with a client certificate: %v", err)
	}
}

// ssl_f_* show the frontend's certificate that the SNI chose, formatted
// as HAProxy formats them.
func TestTLSFrontendCertFetches(t *testing.T) {
	ca := newTLSCA(t)
	dir := t.TempDir()
	ca.writePEM(t, dir, "a.pem", "a.test")
	other := readLeaf(t, ca.writePEM(t, dir, "other.pem", "other.test"))
	be, port := startHeaderEcho(t), freePort(t)
	startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s/a.pem crt %s/other.pem
	http-request set-header X-DN %%[ssl_f_s_dn]
	http-request set-header X-CN %%[ssl_f_s_dn(CN)]
	http-request set-header X-IDN %%[ssl_f_i_dn]
	http-request set-header X-Serial %%[ssl_f_serial,hex]
	http-request set-header X-SHA1 %%[ssl_f_sha1,hex]
	http-request set-header X-Ver %%[ssl_f_version]
	http-request set-header X-NB %%[ssl_f_notbefore]
	http-request set-header X-NA %%[ssl_f_notafter]
	http-request set-header X-Key %%[ssl_f_key_alg]
	http-request set-header X-Sig %%[ssl_f_sig_alg]
	http-request set-header X-DER %%[ssl_f_der,base64]
	default_backend be
backend be
	server s1 127.0.0.1:%d
`, port, dir, dir, be), port)
	out, err := curl(t, append([]string{"-i", "--cacert", ca.pemFil}, tlsURL("other.test", port, "/")...)...)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(other.Raw)
	want := map[string]string{
		"X-Dn":     "/CN=other.test",
		"X-Cn":     "other.test",
		"X-Idn":    "/CN=dhproxy test CA",
		"X-Serial": strings.ToUpper(hex.EncodeToString(other.SerialNumber.Bytes())),
		"X-Sha1":   strings.ToUpper(hex.EncodeToString(sum[:])),
		"X-Ver":    "3",
		"X-Nb":     other.NotBefore.UTC().Format("060102150405Z"),
		"X-Na":     other.NotAfter.UTC().Format("060102150405Z"),
		"X-Key":    "id-ecPublicKey",
		"X-Sig":    "ecdsa-with-SHA256",
		"X-Der":    base64.StdEncoding.EncodeToString(other.Raw),
	}
	for h, v := range want {
		if got := echoed(out, h); got != v {
			t.Errorf("%s: %q, want %q", h, got, v)
		}
	}
	// Without SNI the default (first) certificate is served, and shown.
	out, err = curl(t, "-i", "-k", fmt.Sprintf("https://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	if got := echoed(out, "X-CN"); got != "a.test" {
		t.Errorf("no SNI: ssl_f_s_dn(CN) %q, want a.test", got)
	}
}

// "curves" on a bind and the global ssl-default-bind-curves limit the
// key exchange groups: a client offering only another one is refused,
// as haproxy refuses it.
func TestTLSCurves(t *testing.T) {
	ca := newTLSCA(t)
	crt := ca.writePEM(t, t.TempDir(), "a.pem", "a.test")
	be, own, def := startHeaderEcho(t), freePort(t), freePort(t)
	startProxy(t, `
global
	ssl-default-bind-curves X25519`+defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s curves P-384:P-256
	bind 127.0.0.1:%d ssl crt %s
	default_backend be
backend be
	server s1 127.0.0.1:%d
`, own, crt, def, crt, be), own, def)
	for _, c := range []struct {
		port   int
		curves string
		ok     bool
	}{
		{own, "X25519", false}, {own, "P-256", true}, {own, "P-384", true}, {own, "P-521", false},
		{def, "P-256", false}, {def, "X25519", true},
	} {
		// In TLS 1.2 a client must also list P-256 to check the ECDSA
		// P-256 certificate: only refusals are tried there.
		vers := []string{"-tls1_3"}
		if !c.ok {
			vers = append(vers, "-tls1_2")
		}
		for _, ver := range vers {
			out, ok := sClient(t, c.port, "-servername", "a.test", "-curves", c.curves, ver)
			if ok != c.ok {
				t.Errorf("port %d, client curves %s %s: handshake ok=%v, want %v\n%s", c.port, c.curves, ver, ok, c.ok, out)
			}
		}
	}
}

// A group Go has no key exchange for is a warning naming the line (haproxy
// refuses a name OpenSSL does not know; X448 it knows).
func TestTLSCurvesDiagnostics(t *testing.T) {
	if isHAProxy() {
		t.Skip("dhproxy's warning")
	}
	ca := newTLSCA(t)
	dir := t.TempDir()
	crt := ca.writePEM(t, dir, "site.pem", "site.test")
	list := filepath.Join(dir, "list")
	os.WriteFile(list, []byte(crt+" [curves X448:P-256 ocsp-update on]\n"), 0o644)
	_, stderr, code := runCheck(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:8443 ssl crt %s curves X448:P-256
	bind 127.0.0.1:8444 ssl crt-list %s
	default_backend be
backend be
	server s1 127.0.0.1:8080
`, crt, list))
	if code != 0 {
		t.Fatalf("valid configuration refused (%d):\n%s", code, stderr)
	}
	for _, w := range []string{"haproxy.cfg:8] : bind '127.0.0.1:8443': curves: X448 cannot be used",
		"crt-list " + list + ":1: curves: X448 cannot be used", "crt-list " + list + ":1: 'ocsp-update'"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("no warning %q:\n%s", w, stderr)
		}
	}
}
