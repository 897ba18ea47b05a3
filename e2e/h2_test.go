package e2e

// HTTP/2 on the client side: prior-knowledge cleartext binds ("proto h2")
// and TLS binds negotiating "h2" by ALPN, in front of HTTP/1.1 servers,
// with real clients (curl, nghttp, h2load, h2spec).

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// h2Proxy starts a proxy with an h2c bind and an h2 TLS bind in front of
// one HTTP/1.1 backend; extra goes into the frontend section. It returns
// the two ports and the proxy.
func h2Proxy(t *testing.T, extra string) (h2c, tlsPort int, p *proc) {
	t.Helper()
	ca := newTLSCA(t)
	crt := ca.writePEM(t, t.TempDir(), "site.pem", "site.test")
	be, _ := startHTTPBackend(t, "web1")
	h2c, tlsPort = freePort(t), freePort(t)
	cfg := fmt.Sprintf(`
global
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d proto h2
    bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1
%s
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, h2c, tlsPort, crt, extra, be)
	p = startProxy(t, cfg, h2c, tlsPort)
	return h2c, tlsPort, p
}

func TestH2CurlPriorKnowledgeAndALPN(t *testing.T) {
	h2c, tlsPort, p := h2Proxy(t, "    http-request set-header X-Via-Rule yes")
	out, err := curl(t, "--http2-prior-knowledge", "-i", fmt.Sprintf("http://127.0.0.1:%d/a?b=c", h2c))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"HTTP/2 200", "x-backend: web1", "x-seen-host: 127.0.0.1:", "x-seen-uri: /a?b=c", "x-seen-proto: HTTP/1.1", "\r\n\r\nweb1"} {
		if !strings.Contains(strings.ToLower(out), strings.ToLower(want)) {
			t.Errorf("h2c response lacks %q:\n%s", want, out)
		}
	}
	out, err = curl(t, append(tlsURL("site.test", tlsPort, "/echo"), "-k", "--http2", "-i", "--data-binary", "hello h2")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "HTTP/2 200") || !strings.HasSuffix(out, "\r\n\r\nhello h2") {
		t.Errorf("TLS h2 echo:\n%s", out)
	}
	// The log line is HAProxy's, with HTTP/2.0 as the request's version
	// (haproxy 2.6 logs the absolute URI it rebuilds from :scheme and
	// :authority, dhproxy the :path: docs/http2.md).
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(p.Stdout(), `/echo HTTP/2.0"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, re := range []string{` fe be/s1 [0-9/]+ 200 [0-9]+ - - ---- [0-9/]+ 0/0 "GET (http://127.0.0.1:[0-9]+)?/a\?b=c HTTP/2.0"`,
		` fe~ be/s1 [0-9/]+ 200 [0-9]+ - - ---- [0-9/]+ 0/0 "POST (https://site.test:[0-9]+)?/echo HTTP/2.0"`} {
		if !regexp.MustCompile(re).MatchString(p.Stdout()) {
			t.Errorf("no log line matching %s:\n%s", re, p.Stdout())
		}
	}
}

func TestH2Nghttp(t *testing.T) {
	h2c, _, _ := h2Proxy(t, "")
	u := fmt.Sprintf("http://127.0.0.1:%d", h2c)
	// Several streams at once on one connection, one of them a POST.
	cmd := exec.Command("nghttp", "-n", "--stat", u+"/one", u+"/two", u+"/slow?ms=100", "-d", "/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nghttp: %v\n%s", err, out)
	}
	if strings.Count(string(out), " 200 ") != 3 {
		t.Errorf("nghttp:\n%s", out)
	}
}
