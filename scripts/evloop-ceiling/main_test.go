package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// backend serves /small (100 bytes) and /big (8 MiB of random bytes) and counts the connections
// it accepted.
func backend(t *testing.T) (addr netip.AddrPort, big []byte, conns *atomic.Int64) {
	t.Helper()
	big = make([]byte, 8<<20)
	rand.Read(big)
	small := bytes.Repeat([]byte("0"), 100)
	conns = new(atomic.Int64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := small
		if r.URL.Path == "/big" {
			body = big
		}
		if r.Header.Get("Connection") != "" {
			http.Error(w, "hop-by-hop header forwarded", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return netip.MustParseAddrPort(srv.Listener.Addr().String()), big, conns
}

// start runs the relay as pair-cost.sh does: from a configuration file. pauses counts the
// loop's paused servers (nil for the goroutine design, whose writes block).
func start(t *testing.T, server netip.AddrPort, design, wait string, deferAccept bool) (addr string, pauses func() uint64) {
	t.Helper()
	port := freePort(t)
	cfg := filepath.Join(t.TempDir(), "h.cfg")
	text := fmt.Sprintf("global\n    nbthread 1\ndefaults\n    mode http\nfrontend fe\n    bind 127.0.0.1:%d\n"+
		"    default_backend be_http\nfrontend fe_tls\n    bind 127.0.0.1:%d ssl crt x.pem\n    default_backend be_other\n"+
		"backend be_http\n    balance roundrobin\n    server s1 %s\nbackend be_other\n    server s1 127.0.0.1:1\n", port, port+1, server)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	bind, servers, err := parseConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if design == "goroutines" {
		l, serve, err := runGoroutines(bind, servers)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go serve()
		return bind.String(), nil
	}
	p, err := newProxy(bind, servers, wait, deferAccept)
	if err != nil {
		t.Fatal(err)
	}
	go p.run()
	return bind.String(), p.st.pauses.Load
}

func get(t *testing.T, c net.Conn, r *bufio.Reader, path, connection string) (*http.Response, []byte) {
	t.Helper()
	hdr := ""
	if connection != "" {
		hdr = "Connection: " + connection + "\r\n"
	}
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", path, hdr); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("%s: status %d: %s", path, resp.StatusCode, body)
	}
	return resp, body
}

func TestRelay(t *testing.T) {
	for _, mode := range []struct {
		design, wait string
		deferAccept  bool
	}{{"loop", "block", false}, {"loop", "raw", false}, {"loop", "netpoll", false}, {"loop", "block", true}, {"goroutines", "", false}} {
		t.Run(fmt.Sprintf("%s,%s,defer=%v", mode.design, mode.wait, mode.deferAccept), func(t *testing.T) {
			server, big, conns := backend(t)
			addr, pauses := start(t, server, mode.design, mode.wait, mode.deferAccept)

			// Keep-alive: several requests on one client connection, a large body through a
			// client with a small receive buffer (the loop must pause the server and resume).
			// The receive buffer is set before connecting, so that the window is small from the
			// handshake on.
			d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				return rc.Control(func(fd uintptr) {
					syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
				})
			}}
			c, err := d.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			r := bufio.NewReader(c)
			for i := 0; i < 3; i++ {
				if _, body := get(t, c, r, "/small", ""); len(body) != 100 {
					t.Fatalf("small body %d bytes", len(body))
				}
				if _, body := get(t, c, r, "/big", ""); !bytes.Equal(body, big) {
					t.Fatalf("big body differs (%d bytes, want %d)", len(body), len(big))
				}
			}

			if pauses != nil && pauses() == 0 {
				t.Fatal("the client's small window never paused the server: the test missed the relay's backpressure")
			}

			// Close: the answer says so and the connection ends after it.
			for i := 0; i < 5; i++ {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				r := bufio.NewReader(c)
				resp, body := get(t, c, r, "/small", "close")
				if len(body) != 100 || !resp.Close {
					t.Fatalf("close: body %d bytes, response Close %v", len(body), resp.Close)
				}
				if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
					t.Fatalf("after a close response: read %d, %v; want EOF", n, err)
				}
				c.Close()
			}
			// The server connection went back to the pool each time.
			if n := conns.Load(); n != 1 {
				t.Fatalf("backend accepted %d connections, want 1 (pooled)", n)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "h.cfg")
	os.WriteFile(cfg, []byte("frontend fe\n    bind 127.0.0.1:30010\n    default_backend be_http\n"+
		"frontend fe_rules\n    bind 127.0.0.1:30013\n    default_backend be_api\n"+
		"backend be_http\n    balance roundrobin\n    server s1 127.0.0.1:30001\n    server s2 127.0.0.1:30002\n"+
		"backend be_api\n    server s1 127.0.0.1:30003\n"), 0o644)
	bind, servers, err := parseConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if bind.String() != "127.0.0.1:30010" || fmt.Sprint(servers) != "[127.0.0.1:30001 127.0.0.1:30002]" {
		t.Fatalf("bind %s servers %v", bind, servers)
	}
}
