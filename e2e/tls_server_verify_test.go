package e2e

// Towards TLS servers with "verify required": verifyhost (the name checked
// when no SNI is sent) and crl-file (revoked server certificates), the same
// answers as haproxy 2.6 (DHPROXY_BIN=/usr/sbin/haproxy).

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startCRLBackend serves HTTPS with a certificate for names and serial,
// signed by ca (which can also sign CRLs).
func startCRLBackend(t *testing.T, ca *mtlsCA, serial int64, names ...string) int {
	t.Helper()
	c, key := newCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca.cert, ca.key)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{c.Raw}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func TestTLSServerVerifyHostAndCRL(t *testing.T) {
	dir := t.TempDir()
	ca := newMTLSCA(t, dir, "Backend CA")
	other := newMTLSCA(t, dir, "Other CA")
	be := startCRLBackend(t, ca, 41, "backend.test", "*.wild.test")
	crlOK := ca.crl(t, t.TempDir(), 40)
	crlRevoked := ca.crl(t, t.TempDir(), 40, 41)
	crlOther := other.crl(t, t.TempDir(), 41)
	port := freePort(t)
	srv := fmt.Sprintf("127.0.0.1:%d ssl verify required ca-file %s", be, ca.file)
	p := startProxy(t, defaultsSection("http", "2s", "5s", "5s", "retries 0", "http-reuse never")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d
	use_backend %%[path,field(2,/)]
backend noname
	server s1 %[2]s
backend host
	server s1 %[2]s verifyhost backend.test
backend wildhost
	server s1 %[2]s verifyhost x.wild.test
backend badhost
	server s1 %[2]s verifyhost elsewhere.test
backend sniwins
	server s1 %[2]s sni str(backend.test) verifyhost elsewhere.test
backend override
	default-server verifyhost elsewhere.test
	server s1 %[2]s verifyhost backend.test
backend crlok
	server s1 %[2]s crl-file %[3]s
backend revoked
	server s1 %[2]s crl-file %[4]s
backend nocrl
	server s1 %[2]s crl-file %[5]s
backend hostnone
	server s1 127.0.0.1:%[6]d ssl verify none verifyhost elsewhere.test
`, port, srv, crlOK, crlRevoked, crlOther, be), port)
	for path, want := range map[string]int{
		"/noname": 200, "/host": 200, "/wildhost": 200, "/badhost": 503, "/sniwins": 200, "/override": 200,
		"/crlok": 200, "/revoked": 503, "/nocrl": 503, "/hostnone": 200,
	} {
		out, err := curl(t, "-w", "%{http_code}", "-o", "/dev/null", fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			t.Fatal(err)
		}
		if out != fmt.Sprint(want) {
			t.Errorf("%s: status %s, want %d", path, out, want)
		}
	}
	if isHAProxy() {
		return
	}
	for _, want := range []string{
		"server badhost/s1: SSL handshake failure: x509: certificate is valid for backend.test, *.wild.test, not elsewhere.test",
		"server revoked/s1: SSL handshake failure: certificate revoked (depth 0, ",
		"server nocrl/s1: SSL handshake failure: unable to get certificate CRL (depth 0, ",
	} {
		if !strings.Contains(p.Stderr(), want) {
			t.Errorf("log lacks %q:\n%s", want, p.Stderr())
		}
	}
}

// A health check sends no SNI: verifyhost is the name it checks, as in
// haproxy 2.6.
func TestTLSServerVerifyHostChecks(t *testing.T) {
	dir := t.TempDir()
	ca := newMTLSCA(t, dir, "Backend CA")
	be := startCRLBackend(t, ca, 41, "backend.test")
	sock := dir + "/stats.sock"
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`
global
	stats socket %s level admin`, sock)+defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d
	default_backend be
backend be
	option httpchk GET /
	timeout check 3s
	server good 127.0.0.1:%d ssl verify required ca-file %s verifyhost backend.test check inter 200ms rise 1 fall 1
	server bad 127.0.0.1:%d ssl verify required ca-file %s verifyhost elsewhere.test check inter 200ms rise 1 fall 1
`, port, be, ca.file, be, ca.file), port)
	want := map[string]string{"be/good": "UP", "be/bad": "DOWN"}
	deadline := time.Now().Add(5 * time.Second)
	for {
		rows, names := statRows(t, cliCmd(t, sock, "show stat"))
		got := map[string]string{}
		for k := range want {
			got[k] = strings.Fields(field(t, rows, names, k, "status"))[0]
		}
		if got["be/good"] == want["be/good"] && got["be/bad"] == want["be/bad"] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server states %v, want %v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
