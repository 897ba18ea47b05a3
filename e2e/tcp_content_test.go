package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sniServer is an HTTPS server with a self-signed certificate for host
// that answers its host name.
func sniServer(t *testing.T, host string) int {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{selfSignedTLS(t, host, host)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, host) })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// sniGet fetches / over TLS through the proxy with name as SNI (no SNI
// for ""): the body and the name on the server's certificate.
func sniGet(t *testing.T, port int, name string) (body, cert string) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", h1Addr(port), &tls.Config{ServerName: name, InsecureSkipVerify: true})
	if err != nil {
		return "error: " + err.Error(), ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", name)
	b, _ := io.ReadAll(c)
	_, body, _ = strings.Cut(string(b), "\r\n\r\n")
	return body, c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// The Kubernetes SNI passthrough pattern: the proxy waits for the
// ClientHello, routes on its server name and never terminates TLS.
func TestTCPContentSNIRouting(t *testing.T) {
	a, b := sniServer(t, "a.example"), sniServer(t, "b.example")
	other := sniServer(t, "other.example")
	port := freePort(t)
	cfg := defaultsSection("tcp", "2s", "5s", "5s") + fmt.Sprintf(`

frontend fe
    bind 127.0.0.1:%d
    tcp-request inspect-delay 5s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend be_a if { req.ssl_sni -i a.example }
    use_backend be_b if { req_ssl_sni -m end .b.example } || { req.ssl_sni b.example }
    default_backend be_other

backend be_a
    server a 127.0.0.1:%d
backend be_b
    server b 127.0.0.1:%d
backend be_other
    server o 127.0.0.1:%d
`, port, a, b, other)
	p := startProxy(t, cfg, port)
	defer p.stop()
	for _, c := range []struct{ sni, want string }{
		{"a.example", "a.example"}, {"b.example", "b.example"}, {"A.EXAMPLE", "a.example"},
		{"x.b.example", "b.example"}, {"c.example", "other.example"}, {"", "other.example"},
	} {
		body, cert := sniGet(t, port, c.sni)
		if body != c.want || cert != c.want {
			t.Errorf("SNI %q: body %q, certificate %q; want %q", c.sni, body, cert, c.want)
		}
	}
}

// A payload rule waits for the bytes it tests: the first four arrive in
// two parts and are still recognized; other traffic passes.
func TestTCPContentRejectPayload(t *testing.T) {
	srv := startNameServer(t, "s1")
	port := freePort(t)
	cfg := defaultsSection("tcp", "2s", "5s", "5s") + fmt.Sprintf(`

frontend fe
    bind 127.0.0.1:%d
    tcp-request inspect-delay 3s
    tcp-request content reject if { req.payload(0,4) -m bin 47455420 }
    default_backend be

backend be
    server s1 127.0.0.1:%d
`, port, srv)
	p := startProxy(t, cfg, port)
	defer p.stop()
	send := func(parts ...string) string {
		c, err := net.DialTimeout("tcp", h1Addr(port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		for i, part := range parts {
			if i > 0 {
				time.Sleep(50 * time.Millisecond)
			}
			io.WriteString(c, part)
		}
		b, _ := io.ReadAll(c)
		return string(b)
	}
	if got := send("GE", "T / HTTP/1.0\r\n\r\n"); got != "" {
		t.Errorf("GET in two parts: got %q, want the connection closed", got)
	}
	if got, want := send("HELO x"), fmt.Sprintf("s1 %x", "HELO x"); got != want {
		t.Errorf("HELO: got %q, want %q", got, want)
	}
}

// "tcp-request content track-sc0 src" with a conn_rate limit refuses the
// same connections as haproxy.
func TestTCPContentTrackRateLimitMatchesHAProxy(t *testing.T) {
	needHAProxy(t)
	srv := startNameServer(t, "s1")
	port := freePort(t)
	cfg := defaultsSection("tcp", "2s", "5s", "5s") + fmt.Sprintf(`

frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 1k expire 30s store conn_rate(10s),conn_cnt
    tcp-request content track-sc0 src
    tcp-request content reject if { sc_conn_rate(0) gt 3 }
    default_backend be

backend be
    server s1 127.0.0.1:%d
`, port, srv)
	compareWithHAProxy(t, cfg, port, func() []string {
		var got []string
		for i := 0; i < 8; i++ {
			c, err := net.DialTimeout("tcp", h1Addr(port), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "x")
			b, _ := io.ReadAll(c)
			c.Close()
			if len(b) > 0 {
				got = append(got, "served")
			} else {
				got = append(got, "refused")
			}
		}
		return got
	})
}

// req.proto_http routes HTTP and other traffic of one mode tcp port, and
// a tcp-request session rule refuses the connections of one bind.
func TestTCPContentProtoHTTPAndSessionReject(t *testing.T) {
	h, o := startNameServer(t, "h"), startNameServer(t, "o")
	port, refused := freePort(t), freePort(t)
	cfg := defaultsSection("tcp", "2s", "5s", "5s") + fmt.Sprintf(`

frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d
    tcp-request session reject if { dst_port %d }
    tcp-request inspect-delay 3s
    tcp-request content accept if { req.proto_http }
    use_backend be_http if { req.proto_http }
    default_backend be_other

backend be_http
    server h 127.0.0.1:%d
backend be_other
    server o 127.0.0.1:%d
`, port, refused, refused, h, o)
	p := startProxy(t, cfg, port, refused)
	defer p.stop()
	send := func(port int, parts ...string) string {
		c, err := net.DialTimeout("tcp", h1Addr(port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		for i, part := range parts {
			if i > 0 {
				time.Sleep(50 * time.Millisecond)
			}
			io.WriteString(c, part)
		}
		b, _ := io.ReadAll(c)
		name, _, _ := strings.Cut(string(b), " ")
		return name
	}
	if got := send(port, "GET / HTTP/1.1\r\n", "Host: x\r\n\r\n"); got != "h" {
		t.Errorf("HTTP request in two parts went to %q, want h", got)
	}
	if got := send(port, "HELO x\r\n"); got != "o" {
		t.Errorf("HELO went to %q, want o", got)
	}
	// The reset may come before the dial returns: that is a refusal too.
	if c, err := net.DialTimeout("tcp", h1Addr(refused), 5*time.Second); err == nil {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "HELO x\r\n")
		if b, _ := io.ReadAll(c); len(b) > 0 {
			t.Errorf("the refused bind answered %q", b)
		}
		c.Close()
	}
}

// A variable set by a content rule names the backend.
func TestTCPContentSetVarDynamicBackend(t *testing.T) {
	a, b := sniServer(t, "a.example"), sniServer(t, "b.example")
	port := freePort(t)
	cfg := defaultsSection("tcp", "2s", "5s", "5s") + fmt.Sprintf(`

frontend fe
    bind 127.0.0.1:%d
    tcp-request inspect-delay 5s
    tcp-request content set-var(txn.host) req.ssl_sni,lower,field(1,.)
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend be_%%[var(txn.host)]
    default_backend be_a

backend be_a
    server a 127.0.0.1:%d
backend be_b
    server b 127.0.0.1:%d
`, port, a, b)
	p := startProxy(t, cfg, port)
	defer p.stop()
	for _, c := range []struct{ sni, want string }{{"B.example", "b.example"}, {"a.example", "a.example"}, {"z.example", "a.example"}} {
		if body, _ := sniGet(t, port, c.sni); body != c.want {
			t.Errorf("SNI %q: %q, want %q", c.sni, body, c.want)
		}
	}
}
