package e2e

// Health checks over HTTP/2: "option httpchk" towards a "proto h2" server
// (inherited by the check) or with "check-proto h2" goes as an HTTP/2
// request, as haproxy 2.6 sends it with its h2 mux; so does the check of
// an "ssl alpn h2" server that chose h2.

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// h2cOnlyBackend serves HTTP/2 only (an HTTP/1 request is not a
// preface: the connection is closed). /health answers with status; other
// paths with the backend's name.
type h2cOnlyBackend struct {
	port   int
	status atomic.Int32
	checks atomic.Int64
	proto  atomic.Value // the protocol of the last check request
}

// startH2OnlyBackend serves HTTP/2 only: with prior knowledge, or over
// TLS offering "h2" alone by ALPN when secure.
func startH2OnlyBackend(t *testing.T, name string, secure bool) *h2cOnlyBackend {
	t.Helper()
	b := &h2cOnlyBackend{}
	b.status.Store(200)
	var l net.Listener
	var err error
	if secure {
		certPEM, keyPEM := newTLSCA(t).issue(t, "h2.test")
		cert, cerr := tls.X509KeyPair(certPEM, keyPEM)
		if cerr != nil {
			t.Fatal(cerr)
		}
		l, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	b.port = l.Addr().(*net.TCPAddr).Port
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			io.WriteString(w, name)
			return
		}
		b.proto.Store(r.Proto)
		b.checks.Add(1)
		w.WriteHeader(int(b.status.Load()))
	})
	quiet := &http.Server{ErrorLog: log.New(io.Discard, "", 0)}
	srv := &http2.Server{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				// The HTTP/2 server reads the TLS state at once: handshake first.
				if tc, ok := c.(*tls.Conn); ok && tc.Handshake() != nil {
					c.Close()
					return
				}
				srv.ServeConn(c, &http2.ServeConnOpts{Handler: h, BaseConfig: quiet})
			}()
		}
	}()
	return b
}

func TestHTTPCheckOverH2(t *testing.T) {
	for _, c := range []struct {
		name, opts     string
		secure, dhOnly bool
	}{
		{"server-proto", "proto h2", false, false},
		{"check-proto", "check-proto h2", false, false},
		{"check-alpn", "ssl verify none check-alpn h2", true, false},
		// The check offers the server's ALPN (configuration.txt); haproxy
		// 2.6.12 does too but then speaks HTTP/1.1 on the connection
		// where h2 was chosen ("Layer7 invalid response").
		{"server-alpn", "ssl verify none alpn h2", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.dhOnly && isHAProxy() {
				t.Skip("haproxy 2.6.12 speaks HTTP/1.1 to a server that chose h2 by ALPN for its checks")
			}
			be := startH2OnlyBackend(t, "h2web", c.secure)
			port := freePort(t)
			p := startProxy(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d
    default_backend be
backend be
    option httpchk GET /health
    timeout check 3s
    server s1 127.0.0.1:%d %s check inter 100 rise 1 fall 1
`, port, be.port, c.opts), port)
			deadline := time.Now().Add(5 * time.Second)
			for be.checks.Load() < 2 {
				if time.Now().After(deadline) {
					t.Fatalf("no check reached the h2c server; stderr:\n%s", p.Stderr())
				}
				time.Sleep(10 * time.Millisecond)
			}
			if got := be.proto.Load(); got != "HTTP/2.0" {
				t.Errorf("check request protocol %v", got)
			}
			be.status.Store(503)
			// No reason phrase in HTTP/2, so no info: haproxy words it so.
			hcWaitStderr(t, p, hcLine("WARNING", `Server be/s1 is DOWN, reason: Layer7 wrong status, code: 503, check duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
			be.status.Store(200)
			hcWaitStderr(t, p, hcLine("WARNING", `Server be/s1 is UP, reason: Layer7 check passed, code: 200, check duration: Nms. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`), 5*time.Second)
		})
	}
}
