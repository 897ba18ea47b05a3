package e2e

// TLS options beyond certificate selection, checked against haproxy 2.6
// too (DHPROXY_BIN=/usr/sbin/haproxy): ca-base.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The global ca-base is where relative ca-file, ca-verify-file and
// crl-file paths are, on binds, crt-list lines and servers (Debian's
// default haproxy.cfg sets it).
func TestTLSCABase(t *testing.T) {
	dir := t.TempDir()
	cas := filepath.Join(dir, "cas")
	if err := os.Mkdir(cas, 0o755); err != nil {
		t.Fatal(err)
	}
	srvCA := newTLSCA(t)
	crt := srvCA.writePEM(t, dir, "site.pem", "site.test")
	clientCA := newMTLSCA(t, cas, "Client CA")
	cf, kf, _ := clientCA.client(t, dir, "client1", 11)
	rf, rk, _ := clientCA.client(t, dir, "revoked", 12)
	clientCA.crl(t, cas, 12) // cas/crl.pem
	beCA := newTLSCA(t)
	be := startTLSBackend(t, beCA, "backend.test")
	if err := os.Rename(beCA.pemFil, filepath.Join(cas, "backend-ca.pem")); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "list")
	if err := os.WriteFile(list, []byte(crt+" [ca-file Client_CA.pem verify required crl-file crl.pem]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bindPort, listPort, port := freePort(t), freePort(t), freePort(t)
	startProxy(t, fmt.Sprintf(`
global
	ca-base %s`, cas)+defaultsSection("http", "2s", "5s", "5s", "retries 0")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s ca-file Client_CA.pem verify required crl-file crl.pem
	bind 127.0.0.1:%d ssl crt-list %s
	http-request return status 200 content-type text/plain lf-string "cn=%%[ssl_c_s_dn(CN)]\n"
frontend plain
	bind 127.0.0.1:%d
	default_backend be
backend be
	server s1 127.0.0.1:%d ssl verify required ca-file backend-ca.pem
`, bindPort, crt, listPort, list, port, be), bindPort, listPort, port)
	for _, p := range []int{bindPort, listPort} {
		get := func(args ...string) (string, error) {
			return curl(t, append(append([]string{"--cacert", srvCA.pemFil}, args...), tlsURL("site.test", p, "/")...)...)
		}
		if out, err := get("--cert", cf, "--key", kf); err != nil || strings.TrimSpace(out) != "cn=client1" {
			t.Errorf("port %d, client1: %q %v", p, out, err)
		}
		if out, err := get("--cert", rf, "--key", rk); err == nil {
			t.Errorf("port %d: the revoked client was served: %q", p, out)
		}
		if out, err := get(); err == nil {
			t.Errorf("port %d: a client without a certificate was served: %q", p, out)
		}
	}
	if out, err := curl(t, "-w", "%{http_code}", fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil || out != "tls backend sni=200" {
		t.Errorf("server ca-file under ca-base: %q %v", out, err)
	}
}
