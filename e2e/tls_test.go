package e2e

// TLS termination against real clients (curl, openssl s_client). The
// certificates come from a test CA made here (ECDSA P-256). Run against
// haproxy with DHPROXY_BIN=/usr/sbin/haproxy.

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tlsCA is a test certificate authority.
type tlsCA struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	pemFil string // the CA certificate, for --cacert / -CAfile
}

func newTLSCA(t *testing.T) *tlsCA {
	t.Helper()
	cert, key := newCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dhproxy test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	ca := &tlsCA{cert: cert, key: key, pemFil: filepath.Join(t.TempDir(), "ca.pem")}
	if err := os.WriteFile(ca.pemFil, encodeCertPEM(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return ca
}

// issue returns a leaf certificate for names (the first is the CN) and
// its key, both PEM-encoded.
func (ca *tlsCA) issue(t *testing.T, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	cert, key := newCert(t, &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca.cert, ca.key)
	return encodeCertPEM(cert), encodeKeyPEM(t, key)
}

// writePEM writes a certificate with its key in one file (HAProxy's
// usual form) to dir/name.
func (ca *tlsCA) writePEM(t *testing.T, dir, name string, names ...string) string {
	t.Helper()
	c, k := ca.issue(t, names...)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, append(c, k...), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsCertDir holds a.pem (a.test), b.pem (*.b.test) and c.pem with its
// key apart in c.pem.key (c.test): a.pem, first by name, is the default.
func tlsCertDir(t *testing.T, ca *tlsCA) string {
	dir := t.TempDir()
	ca.writePEM(t, dir, "a.pem", "a.test")
	ca.writePEM(t, dir, "b.pem", "*.b.test")
	c, k := ca.issue(t, "c.test")
	if err := os.WriteFile(filepath.Join(dir, "c.pem"), c, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.pem.key"), k, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startHeaderEcho serves HTTP answering every request with its headers
// copied as "Echo-<name>" response headers.
func startHeaderEcho(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range r.Header {
			w.Header()["Echo-"+k] = v
		}
		fmt.Fprint(w, "hello")
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// sClient runs openssl s_client against 127.0.0.1:port with args and
// returns its output and whether the handshake succeeded.
func sClient(t *testing.T, port int, args ...string) (string, bool) {
	t.Helper()
	all := append([]string{"s_client", "-connect", fmt.Sprintf("127.0.0.1:%d", port)}, args...)
	cmd := exec.Command("openssl", all...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

func tlsURL(name string, port int, path string) []string {
	return []string{"--resolve", fmt.Sprintf("%s:%d:127.0.0.1", name, port), fmt.Sprintf("https://%s:%d%s", name, port, path)}
}

func TestTLSSNIFromDirectory(t *testing.T) {
	ca := newTLSCA(t)
	dir := tlsCertDir(t, ca)
	be, port := startHeaderEcho(t), freePort(t)
	startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s
	default_backend be
backend be
	server s1 127.0.0.1:%d
`, port, dir, be), port)
	// curl checks the name in the certificate: each name needs its own.
	for _, name := range []string{"a.test", "x.b.test", "c.test"} {
		out, err := curl(t, append([]string{"--cacert", ca.pemFil}, tlsURL(name, port, "/")...)...)
		if err != nil || out != "hello" {
			t.Errorf("%s: %q %v", name, out, err)
		}
	}
	// No SNI: the first certificate of the directory (a.pem).
	out, ok := sClient(t, port, "-noservername", "-CAfile", ca.pemFil)
	if !ok || !strings.Contains(out, "subject=CN = a.test") {
		t.Errorf("without SNI, want a.test's certificate:\n%s", out)
	}
	// An unknown name gets the default too.
	out, ok = sClient(t, port, "-servername", "other.test", "-CAfile", ca.pemFil)
	if !ok || !strings.Contains(out, "subject=CN = a.test") {
		t.Errorf("unknown SNI, want a.test's certificate:\n%s", out)
	}
	out, ok = sClient(t, port, "-servername", "deep.b.test", "-CAfile", ca.pemFil)
	if !ok || !strings.Contains(out, "subject=CN = *.b.test") {
		t.Errorf("wildcard SNI, want *.b.test's certificate:\n%s", out)
	}
}

func TestTLSStrictSNI(t *testing.T) {
	ca := newTLSCA(t)
	dir := tlsCertDir(t, ca)
	be, port := startHeaderEcho(t), freePort(t)
	startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s strict-sni
	default_backend be
backend be
	server s1 127.0.0.1:%d
`, port, dir, be), port)
	if out, err := curl(t, append([]string{"--cacert", ca.pemFil}, tlsURL("c.test", port, "/")...)...); err != nil || out != "hello" {
		t.Errorf("known name: %q %v", out, err)
	}
	if out, ok := sClient(t, port, "-noservername"); ok {
		t.Errorf("strict-sni accepted a client without SNI:\n%s", out)
	}
	if out, ok := sClient(t, port, "-servername", "other.test"); ok {
		t.Errorf("strict-sni accepted an unknown name:\n%s", out)
	}
}

// The two idioms of an HTTPS frontend: plain HTTP redirected, and the
// backend told the scheme; also the ssl_fc_* fetches.
func TestTLSRedirectAndForwardedProto(t *testing.T) {
	ca := newTLSCA(t)
	crt := ca.writePEM(t, t.TempDir(), "site.pem", "site.test")
	be, plain, port := startHeaderEcho(t), freePort(t), freePort(t)
	startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d
	bind 127.0.0.1:%d ssl crt %s alpn http/1.1
	http-request redirect scheme https code 301 if !{ ssl_fc }
	http-request set-header X-Forwarded-Proto https if { ssl_fc }
	http-request set-header X-SNI %%[ssl_fc_sni]
	http-request set-header X-TLS-Version %%[ssl_fc_protocol]
	http-request set-header X-Cipher %%[ssl_fc_cipher]
	http-request set-header X-ALPN %%[ssl_fc_alpn]
	default_backend be
backend be
	server s1 127.0.0.1:%d
`, plain, port, crt, be), plain, port)
	out, err := curl(t, "-i", fmt.Sprintf("http://site.test:%d/x?y=1", plain), "--resolve", fmt.Sprintf("site.test:%d:127.0.0.1", plain))
	if err != nil || !strings.HasPrefix(out, "HTTP/1.1 301") || !strings.Contains(strings.ToLower(out), "location: https://site.test:"+fmt.Sprint(plain)+"/x?y=1") {
		t.Errorf("plain request: want a 301 to https:\n%s %v", out, err)
	}
	out, err = curl(t, append([]string{"-i", "--http1.1", "--cacert", ca.pemFil}, tlsURL("site.test", port, "/")...)...)
	if err != nil {
		t.Fatal(err)
	}
	// haproxy sends header names in lower case.
	out = strings.ToLower(out)
	for _, want := range []string{"echo-x-forwarded-proto: https", "echo-x-sni: site.test", "echo-x-tls-version: tlsv1.3", "echo-x-cipher: tls_aes_", "echo-x-alpn: http/1.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
	// TLS 1.2: the cipher is named as OpenSSL names it.
	out, err = curl(t, append([]string{"-i", "--tls-max", "1.2", "--cacert", ca.pemFil}, tlsURL("site.test", port, "/")...)...)
	out = strings.ToLower(out)
	if err != nil || !strings.Contains(out, "echo-x-cipher: ecdhe-ecdsa-") || !strings.Contains(out, "echo-x-tls-version: tlsv1.2") {
		t.Errorf("TLS 1.2 cipher name:\n%s %v", out, err)
	}
}

// TLS 1.2 is the minimum by default (haproxy 2.6); a TLS 1.1 client is
// refused and the failure logged. The client is told to allow TLS 1.1
// (Debian's default security level forbids it): with ssl-min-ver TLSv1.0
// the same client gets through, so the refusal is the proxy's (haproxy's
// OpenSSL needs its security level lowered too; dhproxy warns that the
// cipher string cannot be mapped and keeps Go's suites). A TLS request's
// httplog line names the frontend with '~'.
func TestTLSMinVersion(t *testing.T) {
	ca := newTLSCA(t)
	crt := ca.writePEM(t, t.TempDir(), "site.pem", "site.test")
	be, port, old := startHeaderEcho(t), freePort(t), freePort(t)
	p := startProxy(t, `
global
	log stdout format raw local0`+defaultsSection("http", "2s", "5s", "5s", "log global", "option httplog")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s
	bind 127.0.0.1:%d ssl crt %s ssl-min-ver TLSv1.0 ciphers DEFAULT@SECLEVEL=0
	default_backend be
backend be
	server s1 127.0.0.1:%d
`, port, crt, old, crt, be), port, old)
	tls11 := []string{"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-servername", "site.test"}
	if out, ok := sClient(t, port, tls11...); ok {
		t.Errorf("TLS 1.1 accepted by default:\n%s", out)
	}
	if out, ok := sClient(t, old, tls11...); !ok || !strings.Contains(out, "Protocol  : TLSv1.1") {
		t.Errorf("TLS 1.1 refused with ssl-min-ver TLSv1.0:\n%s", out)
	}
	if _, err := curl(t, append([]string{"--cacert", ca.pemFil}, tlsURL("site.test", port, "/")...)...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(p.Stdout(), "fe~ be/s1 ") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"] fe/1: SSL handshake failure\n", "] fe~ be/s1 "} {
		if !strings.Contains(p.Stdout(), want) {
			t.Errorf("no %q in the log:\n%s", want, p.Stdout())
		}
	}
}

// mode tcp with ssl: TLS offload in front of a plain TCP service.
func TestTLSOffloadTCPMode(t *testing.T) {
	ca := newTLSCA(t)
	crt := ca.writePEM(t, t.TempDir(), "site.pem", "site.test")
	be, port := startHeaderEcho(t), freePort(t)
	startProxy(t, defaultsSection("tcp", "2s", "5s", "5s")+fmt.Sprintf(`
listen tls
	bind 127.0.0.1:%d ssl crt %s
	server s1 127.0.0.1:%d
`, port, crt, be), port)
	for i := 0; i < 3; i++ {
		out, err := curl(t, append([]string{"--cacert", ca.pemFil}, tlsURL("site.test", port, "/")...)...)
		if err != nil || out != "hello" {
			t.Fatalf("%q %v", out, err)
		}
	}
}

// What dhproxy cannot honour with Go's TLS is a warning naming the line;
// a missing certificate is an error, as in haproxy.
func TestTLSConfigDiagnostics(t *testing.T) {
	ca := newTLSCA(t)
	crt := ca.writePEM(t, t.TempDir(), "site.pem", "site.test")
	// tune.ssl.* and npn are accepted; what has no effect is warned about.
	cfg := `
global
	tune.ssl.cachesize 20000
	tune.ssl.maxrecord 1400` + defaultsSection("http", "2s", "5s", "5s") + fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:8443 ssl crt %s ciphers HIGH:!aNULL npn http/1.1
	default_backend be
backend be
	server s1 127.0.0.1:8080
`, crt)
	_, stderr, code := runCheck(t, cfg)
	if code != 0 {
		t.Fatalf("valid configuration refused (%d):\n%s", code, stderr)
	}
	for _, want := range []string{
		"haproxy.cfg:11] : bind '127.0.0.1:8443': ciphers: HIGH cannot be mapped",
		"haproxy.cfg:11] : bind option 'npn' is accepted but has no effect",
		"haproxy.cfg:3] : 'tune.ssl.cachesize' has no effect",
		"haproxy.cfg:4] : 'tune.ssl.maxrecord' has no effect",
	} {
		if !isHAProxy() && !strings.Contains(stderr, want) {
			t.Errorf("no warning %q:\n%s", want, stderr)
		}
	}
	_, stderr, code = runCheck(t, strings.Replace(cfg, crt, crt+".absent", 1))
	if code == 0 || !strings.Contains(stderr, ".absent") {
		t.Errorf("missing certificate accepted (%d):\n%s", code, stderr)
	}
}

// crt-list: per-line SNI filters, wildcards and "!" exclusions; the first
// line's certificate is the default.
func TestTLSCrtList(t *testing.T) {
	ca := newTLSCA(t)
	dir := t.TempDir()
	ca.writePEM(t, dir, "a.pem", "a.test")
	ca.writePEM(t, dir, "wild.pem", "*.wild.test")
	ca.writePEM(t, dir, "other.pem", "other.test", "alias.test")
	list := filepath.Join(dir, "list.txt")
	content := fmt.Sprintf("# default first\n%s/a.pem\n%s/wild.pem *.wild.test !secret.wild.test\n%s/other.pem other.test\n", dir, dir, dir)
	if err := os.WriteFile(list, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	be, port := startHeaderEcho(t), freePort(t)
	startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt-list %s
	default_backend be
backend be
	server s1 127.0.0.1:%d
`, port, list, be), port)
	for _, name := range []string{"a.test", "x.wild.test", "other.test"} {
		if out, err := curl(t, append([]string{"--cacert", ca.pemFil}, tlsURL(name, port, "/")...)...); err != nil || out != "hello" {
			t.Errorf("%s: %q %v", name, out, err)
		}
	}
	for sni, want := range map[string]string{
		"secret.wild.test": "subject=CN = a.test", // excluded from the wildcard line
		"alias.test":       "subject=CN = a.test", // not in other.pem's filter
		"y.wild.test":      "subject=CN = *.wild.test",
	} {
		out, ok := sClient(t, port, "-servername", sni, "-CAfile", ca.pemFil)
		if !ok || !strings.Contains(out, want) {
			t.Errorf("%s: want %q:\n%s", sni, want, out)
		}
	}
}

// startTLSBackend serves HTTPS with a certificate for names from ca.
func startTLSBackend(t *testing.T, ca *tlsCA, names ...string) int {
	t.Helper()
	c, k := ca.issue(t, names...)
	cert, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls backend sni=%s", r.TLS.ServerName)
	}), ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// Re-encryption: "server ... ssl" with verify required checks the chain
// against ca-file (and the name when sni is set); a wrong CA gives 503.
func TestTLSServerReencrypt(t *testing.T) {
	ca, other := newTLSCA(t), newTLSCA(t)
	be := startTLSBackend(t, ca, "backend.test")
	port := freePort(t)
	p := startProxy(t, defaultsSection("http", "2s", "5s", "5s", "retries 0")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d
	use_backend %%[path,field(2,/)]
backend right
	server s1 127.0.0.1:%d ssl verify required ca-file %s
backend wrong
	server s1 127.0.0.1:%d ssl verify required ca-file %s
backend none
	server s1 127.0.0.1:%d ssl verify none
backend sni
	server s1 127.0.0.1:%d ssl verify required ca-file %s sni str(backend.test)
backend badname
	server s1 127.0.0.1:%d ssl verify required ca-file %s sni str(elsewhere.test)
`, port, be, ca.pemFil, be, other.pemFil, be, be, ca.pemFil, be, ca.pemFil), port)
	for path, want := range map[string]string{
		"/right": "200 tls backend sni=", "/none": "200 tls backend sni=", "/sni": "200 tls backend sni=backend.test",
		"/wrong": "503", "/badname": "503",
	} {
		out, err := curl(t, "-w", "%{http_code} ", "-o", "/dev/null", fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(want, "200") {
			body, _ := curl(t, fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
			out += body
		}
		if strings.TrimSpace(out) != strings.TrimSpace(want) {
			t.Errorf("%s: got %q, want %q", path, out, want)
		}
	}
	if !isHAProxy() && !strings.Contains(p.Stderr(), "server wrong/s1: SSL handshake failure: x509: certificate signed by unknown authority") {
		t.Errorf("no clear log line for the wrong CA:\n%s", p.Stderr())
	}
}

// "ssl" towards a server without ca-file nor "verify none" is refused at
// start, as haproxy 2.6 does.
func TestTLSServerNeedsCA(t *testing.T) {
	_, stderr, code := runCheck(t, defaultsSection("http", "2s", "5s", "5s")+`
backend be
	server s1 127.0.0.1:8443 ssl
`)
	if code == 0 || !strings.Contains(stderr, "no CA file") {
		t.Errorf("accepted (%d):\n%s", code, stderr)
	}
}

// Health checks of an "ssl" server run over TLS: an HTTP check passes with
// the right CA and marks the server down with a wrong one.
func TestTLSServerChecks(t *testing.T) {
	ca, other := newTLSCA(t), newTLSCA(t)
	be := startTLSBackend(t, ca, "backend.test")
	port := freePort(t)
	p := startProxy(t, defaultsSection("http", "2s", "5s", "5s", "timeout check 3s", "retries 0", "option httpchk GET /")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d
	use_backend %%[path,field(2,/)]
backend right
	server s1 127.0.0.1:%d ssl verify required ca-file %s check inter 100ms
backend wrong
	server s1 127.0.0.1:%d ssl verify required ca-file %s check inter 100ms fall 1
`, port, be, ca.pemFil, be, other.pemFil), port)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.Stderr(), "wrong/s1 is DOWN") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(p.Stderr(), "Server wrong/s1 is DOWN, reason: Layer6 invalid response") {
		t.Errorf("no DOWN line for the wrong CA:\n%s", p.Stderr())
	}
	if strings.Contains(p.Stderr(), "right/s1 is DOWN") {
		t.Errorf("the server with the right CA went down:\n%s", p.Stderr())
	}
	if out, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/right", port)); err != nil || out != "tls backend sni=" {
		t.Errorf("right: %q %v", out, err)
	}
}
