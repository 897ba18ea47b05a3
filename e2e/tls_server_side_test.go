package e2e

// Towards TLS servers: a client certificate (crt), session resumption
// (and no-ssl-reuse), ssl-default-server-options; real haproxy 2.6 is the
// TLS server and reports what it saw. (haproxy keeps a server's session
// per thread: one thread makes its resumption predictable.)

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestTLSServerSideCrtAndReuse(t *testing.T) {
	needHAProxyPeer(t)
	dir := t.TempDir()
	srvCA := newTLSCA(t)
	srvCrt := srvCA.writePEM(t, dir, "backend.pem", "backend.test")
	clientCA := newMTLSCA(t, dir, "Proxy CA")
	cf, kf, _ := clientCA.client(t, dir, "proxy1", 77)
	// HAProxy's crt: the certificate with its key in one file.
	crt := strings.TrimSuffix(cf, ".crt") + ".pem"
	writeCat(t, crt, cf, kf)
	peer, port := freePort(t), freePort(t)
	startBinary(t, haproxyBin, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend tlsserver
	bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional
	http-request return status 200 content-type text/plain lf-string "dn=%%[ssl_c_s_dn] resumed=%%[ssl_fc_is_resumed] sni=%%[ssl_fc_sni] proto=%%[ssl_fc_protocol]\n"
`, peer, srvCrt, clientCA.file), peer)
	startProxy(t, `
global
	nbthread 1
	ssl-default-server-options ssl-max-ver TLSv1.2`+defaultsSection("http", "2s", "5s", "5s", "http-reuse never")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d
	use_backend noreuse if { path_beg /noreuse }
	default_backend reuse
	http-response set-header X-BC %%[ssl_bc]
	http-response set-header X-BC-Proto %%[ssl_bc_protocol]
	http-response set-header X-BC-Resumed %%[ssl_bc_is_resumed]
backend reuse
	server s 127.0.0.1:%d ssl verify required ca-file %s sni str(backend.test) crt %s
backend noreuse
	server s 127.0.0.1:%d ssl verify required ca-file %s sni str(backend.test) crt %s no-ssl-reuse
`, port, peer, srvCA.pemFil, crt, peer, srvCA.pemFil, crt), port)
	var head string // the last response's head
	get := func(path string) string {
		out, err := curl(t, "-i", fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			t.Fatal(err)
		}
		h, body, _ := strings.Cut(out, "\r\n\r\n")
		head = strings.ToLower(h)
		return strings.TrimSpace(body)
	}
	first := get("/")
	want := "dn=/C=FR/ST=Paris/O=Example/OU=Ops/OU=Web/CN=proxy1 resumed=0 sni=backend.test proto=TLSv1.2"
	if first != want {
		t.Errorf("first connection: %q, want %q", first, want)
	}
	for _, h := range []string{"x-bc: 1", "x-bc-proto: tlsv1.2", "x-bc-resumed: 0"} {
		if !strings.Contains(head, h) {
			t.Errorf("first response: want %q in\n%s", h, head)
		}
	}
	if got := get("/"); got != strings.Replace(want, "resumed=0", "resumed=1", 1) {
		t.Errorf("second connection: %q, want the session resumed", got)
	}
	if !strings.Contains(head, "x-bc-resumed: 1") {
		t.Errorf("second response: want ssl_bc_is_resumed 1 in\n%s", head)
	}
	for i := 0; i < 2; i++ {
		if got := get("/noreuse"); got != want {
			t.Errorf("no-ssl-reuse, connection %d: %q, want %q", i, got, want)
		}
	}
}

func writeCat(t *testing.T, dst string, files ...string) {
	t.Helper()
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if err := os.WriteFile(dst, all, 0o600); err != nil {
		t.Fatal(err)
	}
}

// check-sni is the name the health checks send: an haproxy TLS server
// with strict-sni answers the checks that name it, refuses the others.
func TestTLSCheckSNI(t *testing.T) {
	needHAProxyPeer(t)
	dir := t.TempDir()
	ca := newTLSCA(t)
	crt := ca.writePEM(t, dir, "backend.pem", "backend.test")
	peer, port := freePort(t), freePort(t)
	startBinary(t, haproxyBin, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend tlsserver
	bind 127.0.0.1:%d ssl crt %s strict-sni
	http-request return status 200 content-type text/plain string ok
`, peer, crt), peer)
	p := startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d
	default_backend be
backend be
	option httpchk GET /
	timeout check 3s
	server good 127.0.0.1:%d ssl verify none sni str(backend.test) check check-sni backend.test inter 100ms fall 1
	server bad 127.0.0.1:%d ssl verify none sni str(backend.test) check check-sni other.test inter 100ms fall 1
`, port, peer, peer), port)
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(p.Stderr(), "be/bad is DOWN") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a few more checks of "good"
	if !strings.Contains(p.Stderr(), "be/bad is DOWN") {
		t.Errorf("the server checked with an unknown name stayed up:\n%s", p.Stderr())
	}
	if strings.Contains(p.Stderr(), "be/good is DOWN") {
		t.Errorf("the server checked with its name went down:\n%s", p.Stderr())
	}
}
