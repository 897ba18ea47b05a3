package e2e

// Fetches of the server connection's certificate (ssl_s_*) and of the
// cipher's key sizes (ssl_bc_*_keysize, ssl_fc_*_keysize), the values
// computed from the certificates and suites used, as haproxy 2.6 gives
// them (DHPROXY_BIN=/usr/sbin/haproxy).

import (
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTLSServerCertFetches(t *testing.T) {
	ca := newTLSCA(t)
	dir := t.TempDir()
	crt := ca.writePEM(t, dir, "site.pem", "site.test")
	c, k := ca.issue(t, "backend.test")
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(c)
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	be := l.Addr().(*net.TCPAddr).Port
	port := freePort(t)
	startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s ssl-max-ver TLSv1.2 ciphers ECDHE-ECDSA-AES128-GCM-SHA256
	default_backend be
	http-response set-header X-S-DN %%[ssl_s_s_dn]
	http-response set-header X-S-CN %%[ssl_s_s_dn(CN)]
	http-response set-header X-S-IDN %%[ssl_s_i_dn]
	http-response set-header X-S-Serial %%[ssl_s_serial,hex]
	http-response set-header X-S-SHA1 %%[ssl_s_sha1,hex]
	http-response set-header X-S-DER %%[ssl_s_der,base64]
	http-response set-header X-S-Chain %%[ssl_s_chain_der,base64]
	http-response set-header X-S-NB %%[ssl_s_notbefore]
	http-response set-header X-S-NA %%[ssl_s_notafter]
	http-response set-header X-S-Ver %%[ssl_s_version]
	http-response set-header X-S-Sig %%[ssl_s_sig_alg]
	http-response set-header X-S-Key %%[ssl_s_key_alg]
	http-response set-header X-BC-Keys "%%[ssl_bc_use_keysize]/%%[ssl_bc_alg_keysize]"
	http-response set-header X-FC-Keys "%%[ssl_fc_use_keysize]/%%[ssl_fc_alg_keysize]"
backend be
	server s1 127.0.0.1:%d ssl verify none ssl-max-ver TLSv1.2 ciphers ECDHE-ECDSA-CHACHA20-POLY1305
`, port, crt, be), port)
	out, err := curl(t, append([]string{"-i", "--cacert", ca.pemFil}, tlsURL("site.test", port, "/")...)...)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(leaf.Raw)
	der := base64.StdEncoding.EncodeToString(leaf.Raw)
	for h, want := range map[string]string{
		"X-S-DN": "/CN=backend.test", "X-S-CN": "backend.test", "X-S-IDN": "/CN=dhproxy test CA",
		"X-S-Serial": fmt.Sprintf("%X", leaf.SerialNumber.Bytes()), "X-S-SHA1": fmt.Sprintf("%X", sum[:]),
		"X-S-DER": der, "X-S-Chain": der,
		"X-S-NB": leaf.NotBefore.UTC().Format("060102150405Z"), "X-S-NA": leaf.NotAfter.UTC().Format("060102150405Z"),
		"X-S-Ver": "3", "X-S-Sig": "ecdsa-with-SHA256", "X-S-Key": "id-ecPublicKey",
		"X-BC-Keys": "256/256", "X-FC-Keys": "128/128",
	} {
		if got := respHeaderValue(out, h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
}

// respHeaderValue is the value of header name in curl -i's output,
// "<absent>" when it is not there.
func respHeaderValue(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(l, "\r"), ": ")
		if ok && strings.EqualFold(k, name) {
			return v
		}
	}
	return "<absent>"
}
