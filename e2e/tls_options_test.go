package e2e

// TLS options beyond certificate selection, checked against haproxy 2.6
// too (DHPROXY_BIN=/usr/sbin/haproxy): ca-base, passthrough routing on
// req.ssl_ver and req.ssl_alpn.

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// tlsNameServer completes TLS handshakes (TLS 1.0 and up, ALPN h2 or
// http/1.1) with a certificate whose CN is name.
func tlsNameServer(t *testing.T, name string) int {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{selfSignedTLS(t, name, name)},
		MinVersion: tls.VersionTLS10, NextProtos: []string{"h2", "http/1.1"}}
	port, _ := serveTCP(t, func(raw net.Conn) {
		c := tls.Server(raw, cfg)
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if c.Handshake() == nil {
			io.WriteString(c, name)
		}
	})
	return port
}

// SNI-less passthrough routing on the ClientHello's version (req.ssl_ver,
// whose ACL patterns are MAJOR.MINOR versions) and ALPN (req.ssl_alpn).
func TestTCPContentSSLVerAndALPN(t *testing.T) {
	old, h2, other := tlsNameServer(t, "old.example"), tlsNameServer(t, "h2.example"), tlsNameServer(t, "other.example")
	port := freePort(t)
	startProxy(t, defaultsSection("tcp", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d
	tcp-request inspect-delay 5s
	tcp-request content accept if { req.ssl_hello_type 1 }
	use_backend be_old if { req.ssl_ver 3.0:3.2 }
	use_backend be_h2 if { req.ssl_ver ge 3.3 } { req.ssl_alpn h2 }
	default_backend be_other
backend be_old
	server s 127.0.0.1:%d
backend be_h2
	server s 127.0.0.1:%d
backend be_other
	server s 127.0.0.1:%d
`, port, old, h2, other), port)
	for _, c := range []struct {
		maxVer uint16
		alpn   []string
		want   string
	}{
		{tls.VersionTLS10, nil, "old.example"},
		{tls.VersionTLS11, []string{"h2"}, "old.example"},
		{tls.VersionTLS13, []string{"h2", "http/1.1"}, "h2.example"},
		{tls.VersionTLS12, []string{"h2"}, "h2.example"},
		{tls.VersionTLS13, []string{"http/1.1", "h2"}, "h2.example"}, // an ACL sees every protocol
		{tls.VersionTLS13, []string{"http/1.1"}, "other.example"},
		{tls.VersionTLS13, nil, "other.example"},
	} {
		d := &net.Dialer{Timeout: 5 * time.Second}
		conn, err := tls.DialWithDialer(d, "tcp", h1Addr(port), &tls.Config{InsecureSkipVerify: true,
			MinVersion: tls.VersionTLS10, MaxVersion: c.maxVer, NextProtos: c.alpn})
		if err != nil {
			t.Errorf("max %x alpn %v: %v", c.maxVer, c.alpn, err)
			continue
		}
		got := conn.ConnectionState().PeerCertificates[0].Subject.CommonName
		conn.Close()
		if got != c.want {
			t.Errorf("max %x alpn %v: reached %s, want %s", c.maxVer, c.alpn, got, c.want)
		}
	}
}

// The global ssl-default-bind-* and ssl-default-server-* settings and
// ssl-server-verify apply where a bind or server line sets nothing.
func TestTLSGlobalDefaults(t *testing.T) {
	ca := newTLSCA(t)
	dir := t.TempDir()
	crt := ca.writePEM(t, dir, "site.pem", "site.test")
	defPort, ownPort, chachaPort, plain := freePort(t), freePort(t), freePort(t), freePort(t)
	startProxy(t, `
global
	ssl-default-bind-options ssl-max-ver TLSv1.2
	ssl-default-bind-ciphers ECDHE-ECDSA-AES256-GCM-SHA384
	ssl-default-server-options ssl-max-ver TLSv1.2
	ssl-default-server-ciphers ECDHE-ECDSA-CHACHA20-POLY1305
	ssl-server-verify none`+defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s
	bind 127.0.0.1:%d ssl crt %s ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3
	bind 127.0.0.1:%d ssl crt %s ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305
	http-request return status 200 content-type text/plain lf-string "%%[ssl_fc_protocol] %%[ssl_fc_cipher]\n"
frontend plain
	bind 127.0.0.1:%d
	default_backend be
backend be
	server s1 127.0.0.1:%d ssl
`, defPort, crt, ownPort, crt, chachaPort, crt, plain, chachaPort), defPort, ownPort, chachaPort, plain)
	for _, c := range []struct {
		url  []string
		want string
	}{
		{tlsURL("site.test", defPort, "/"), "TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384"},
		{tlsURL("site.test", ownPort, "/"), "TLSv1.3 TLS_"},
		// the server hop: TLS 1.2 with the default server cipher, no CA needed
		{[]string{fmt.Sprintf("http://127.0.0.1:%d/", plain)}, "TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305"},
	} {
		out, err := curl(t, append([]string{"--cacert", ca.pemFil}, c.url...)...)
		if err != nil || !strings.HasPrefix(strings.TrimSpace(out), c.want) {
			t.Errorf("%s: %q %v, want %q", c.url[len(c.url)-1], out, err, c.want)
		}
	}
	if out, err := curl(t, append([]string{"--cacert", ca.pemFil, "--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256"}, tlsURL("site.test", defPort, "/")...)...); err == nil {
		t.Errorf("a cipher outside ssl-default-bind-ciphers was served: %q", out)
	}
}

// crt-ignore-err forgives errors on the client's own certificate,
// ca-ignore-err those on its CAs; ssl_c_err and ssl_c_ca_err report them.
func TestTLSIgnoreErr(t *testing.T) {
	dir := t.TempDir()
	srvCA := newTLSCA(t)
	crt := srvCA.writePEM(t, dir, "site.pem", "site.test")
	root := newMTLSCA(t, dir, "Root CA")
	past := time.Now().Add(-48 * time.Hour)
	inter, interKey := newCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(20), Subject: pkix.Name{CommonName: "Expired Intermediate"},
		NotBefore: past, NotAfter: past.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, root.cert, root.key)
	client := func(name string, validTo time.Time, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, chain ...*x509.Certificate) (string, string) {
		c, k := newCert(t, &x509.Certificate{
			SerialNumber: big.NewInt(30), Subject: pkix.Name{CommonName: name},
			NotBefore: past, NotAfter: validTo,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}, parent, parentKey)
		pemData := encodeCertPEM(c)
		for _, ch := range chain {
			pemData = append(pemData, encodeCertPEM(ch)...)
		}
		cf, kf := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		os.WriteFile(cf, pemData, 0o644)
		os.WriteFile(kf, encodeKeyPEM(t, k), 0o600)
		return cf, kf
	}
	expCf, expKf := client("expired", past.Add(2*time.Hour), root.cert, root.key)
	viaCf, viaKf := client("via-expired-ca", time.Now().Add(time.Hour), inter, interKey, inter)
	ports := [4]int{freePort(t), freePort(t), freePort(t), freePort(t)}
	startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%[1]d ssl crt %[5]s ca-file %[6]s verify required
	bind 127.0.0.1:%[2]d ssl crt %[5]s ca-file %[6]s verify required crt-ignore-err 10
	bind 127.0.0.1:%[3]d ssl crt %[5]s ca-file %[6]s verify required ca-ignore-err 10
	bind 127.0.0.1:%[4]d ssl crt %[5]s ca-file %[6]s verify required ca-ignore-err all crt-ignore-err all
	http-request return status 200 content-type text/plain lf-string "%%[ssl_c_s_dn(CN)] verify=%%[ssl_c_verify] err=%%[ssl_c_err] ca_err=%%[ssl_c_ca_err]%%[ssl_c_chain_der,base64,regsub(^,\ chain=)]\n"
`, ports[0], ports[1], ports[2], ports[3], crt, root.file), ports[:]...)
	// ssl_c_chain_der: the CAs the client sent, not its own certificate.
	viaChain := " chain=" + base64.StdEncoding.EncodeToString(inter.Raw)
	want := map[string][4]string{
		"expired":        {"", "expired verify=10 err=10 ca_err=0", "", "expired verify=10 err=10 ca_err=0"},
		"via-expired-ca": {"", "", "via-expired-ca verify=10 err=0 ca_err=10" + viaChain, "via-expired-ca verify=10 err=0 ca_err=10" + viaChain},
	}
	files := map[string][2]string{"expired": {expCf, expKf}, "via-expired-ca": {viaCf, viaKf}}
	for name, w := range want {
		for i, p := range ports {
			out, err := curl(t, append([]string{"--cacert", srvCA.pemFil, "--cert", files[name][0], "--key", files[name][1]}, tlsURL("site.test", p, "/")...)...)
			got := strings.TrimSpace(out)
			if err != nil {
				got = ""
			}
			if got != w[i] {
				t.Errorf("%s on bind %d: %q (%v), want %q", name, i, got, err, w[i])
			}
		}
	}
}

// With crl-file, a client certificate whose issuer has no CRL there is
// refused, as haproxy 2.6 (OpenSSL checks the CRLs of the whole chain),
// unless the error (3, unable to get certificate CRL, here for the client
// certificate and its root) is ignored.
func TestTLSClientCRLMissing(t *testing.T) {
	dir := t.TempDir()
	srvCA := newTLSCA(t)
	crt := srvCA.writePEM(t, dir, "site.pem", "site.test")
	ca := newMTLSCA(t, dir, "Client CA")
	other := newMTLSCA(t, dir, "Other CA")
	cf, kf, _ := ca.client(t, dir, "client1", 11)
	otherCRL := other.crl(t, t.TempDir(), 5)
	bothCRLs := filepath.Join(dir, "both.pem")
	writeCat(t, bothCRLs, otherCRL, ca.crl(t, t.TempDir(), 5))
	missing, both, ignored := freePort(t), freePort(t), freePort(t)
	startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%[1]d ssl crt %[4]s ca-file %[5]s verify required crl-file %[6]s
	bind 127.0.0.1:%[2]d ssl crt %[4]s ca-file %[5]s verify required crl-file %[7]s
	bind 127.0.0.1:%[3]d ssl crt %[4]s ca-file %[5]s verify required crl-file %[6]s crt-ignore-err 3 ca-ignore-err 3
	http-request return status 200 content-type text/plain lf-string "verify=%%[ssl_c_verify] err=%%[ssl_c_err] ca_err=%%[ssl_c_ca_err]\n"
`, missing, both, ignored, crt, ca.file, otherCRL, bothCRLs), missing, both, ignored)
	for _, c := range []struct {
		port int
		want string
	}{{missing, ""}, {both, "verify=0 err=0 ca_err=0"}, {ignored, "verify=3 err=3 ca_err=3"}} {
		out, err := curl(t, append([]string{"--cacert", srvCA.pemFil, "--cert", cf, "--key", kf}, tlsURL("site.test", c.port, "/")...)...)
		got := strings.TrimSpace(out)
		if err != nil {
			got = ""
		}
		if got != c.want {
			t.Errorf("port %d: %q (%v), want %q", c.port, got, err, c.want)
		}
	}
}

// HSTS by http-response set-header on a TLS frontend, and "default-server
// ssl" making a backend's servers TLS ones.
func TestTLSHSTSAndDefaultServerSSL(t *testing.T) {
	ca := newTLSCA(t)
	crt := ca.writePEM(t, t.TempDir(), "site.pem", "site.test")
	be := startTLSBackend(t, ca, "backend.test")
	port := freePort(t)
	startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s
	http-response set-header Strict-Transport-Security "max-age=63072000; includeSubDomains" if { ssl_fc }
	default_backend be
backend be
	default-server ssl verify required ca-file %s
	server s1 127.0.0.1:%d sni str(backend.test)
`, port, crt, ca.pemFil, be), port)
	out, err := curl(t, append([]string{"-i", "--cacert", ca.pemFil}, tlsURL("site.test", port, "/")...)...)
	if err != nil {
		t.Fatal(err)
	}
	if got := respHeaderValue(out, "Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
		t.Errorf("HSTS header %q in\n%s", got, out)
	}
	if !strings.HasSuffix(out, "tls backend sni=backend.test") {
		t.Errorf("the server was not reached over TLS:\n%s", out)
	}
}
