package check

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"dhproxy/internal/model"

	"golang.org/x/net/http2"
)

// h2cOnly serves h with HTTP/2 prior knowledge only: an HTTP/1 request is
// not a connection preface, and the connection is closed.
func h2cOnly(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	srv := &http2.Server{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(c, &http2.ServeConnOpts{Handler: h, BaseConfig: &http.Server{ErrorLog: log.New(io.Discard, "", 0)}})
		}
	}()
	return l.Addr().String()
}

// healthHandler answers /health with the status in st, and records the
// protocol and request line it saw.
func healthHandler(st *atomic.Int32, seen *atomic.Value) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Proto + " " + r.Method + " " + r.Host + " " + r.RequestURI)
		w.WriteHeader(int(st.Load()))
		w.Write([]byte("body"))
	})
}

func httpchkBackend(args ...string) *model.Proxy {
	return &model.Proxy{Options: map[string]bool{"httpchk": true}, HTTPChk: args}
}

func TestHTTPCheckOverH2C(t *testing.T) {
	var status atomic.Int32
	var seen atomic.Value
	status.Store(200)
	addr := h2cOnly(t, healthHandler(&status, &seen))
	rs := compile(httpchkBackend("GET", "/health", "HTTP/1.1\r\nHost: hc.example"), false)
	tm := timing{inter: 2 * time.Second}
	res, _ := rs.run(context.Background(), addr, tm, runEnv{proto: "h2"})
	if res.Status != StatusL7OK || res.Code != 200 {
		t.Fatalf("h2 check of a healthy h2c server: %+v", res)
	}
	if got := seen.Load(); got != "HTTP/2.0 GET hc.example /health" {
		t.Errorf("the server saw %q", got)
	}
	status.Store(503)
	if res, _ := rs.run(context.Background(), addr, tm, runEnv{proto: "h2"}); res.Status != StatusL7STS || res.Code != 503 {
		t.Errorf("h2 check of a failing h2c server: %+v", res)
	}
	// The same server checked in HTTP/1.1 does not answer.
	status.Store(200)
	if res, _ := rs.run(context.Background(), addr, tm, runEnv{proto: "h1"}); res.Status == StatusL7OK {
		t.Errorf("h1 check of an h2c-only server passed: %+v", res)
	}
}

// A server that stalls its answer is a Layer7 timeout, as over HTTP/1.
func TestHTTPCheckOverH2Timeout(t *testing.T) {
	addr := h2cOnly(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	rs := compile(httpchkBackend("/"), false)
	res, _ := rs.run(context.Background(), addr, timing{inter: 300 * time.Millisecond}, runEnv{proto: "h2"})
	if res.Status != StatusL7TOUT {
		t.Errorf("stalled h2 server: %+v", res)
	}
}

// Over TLS, ALPN decides: "h2" chosen by the server makes the check an
// HTTP/2 one; offering http/1.1 alone (check-alpn) keeps it HTTP/1.
func TestHTTPCheckALPNH2(t *testing.T) {
	var status atomic.Int32
	var seen atomic.Value
	status.Store(200)
	srv := httptest.NewUnstartedServer(healthHandler(&status, &seen))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	rs := compile(httpchkBackend("GET", "/health"), false)
	for _, c := range []struct {
		alpn []string
		want string
	}{{[]string{"h2", "http/1.1"}, "HTTP/2.0"}, {[]string{"http/1.1"}, "HTTP/1.0"}} {
		cfg := &tls.Config{InsecureSkipVerify: true, NextProtos: c.alpn}
		res, _ := rs.run(context.Background(), addr, timing{inter: 2 * time.Second}, runEnv{tls: cfg})
		if res.Status != StatusL7OK {
			t.Errorf("alpn %q: %+v", c.alpn, res)
		}
		if got, _ := seen.Load().(string); len(got) < len(c.want) || got[:len(c.want)] != c.want {
			t.Errorf("alpn %q: the server saw %q, want %s", c.alpn, got, c.want)
		}
	}
}
