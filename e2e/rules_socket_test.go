package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// so_id and so_name name the bind that accepted the connection: its "id",
// else the next free id from its position; be_sess_rate counts the
// backend's sessions of the last second. Passes against haproxy 2.6 too.
func TestRulesSocketIDAndBackendSessRate(t *testing.T) {
	app, other := rulesBackend(t, "app"), rulesBackend(t, "other")
	web, plain, two, h2 := freePort(t), freePort(t), freePort(t), freePort(t)
	tcp5, tcp2, tcp9 := freePort(t), freePort(t), freePort(t)
	startProxy(t, defaultsSection("http", "5s", "30s", "30s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d id 7 name web
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d id 2
    bind 127.0.0.1:%d proto h2 name h2
    http-request return status 200 hdr X-So "%%[so_id] %%[so_name]" if { path /so }
    http-response set-header X-So "%%[so_id] %%[so_name]"
    default_backend be_app
backend be_app
    http-response set-header X-Rate "%%[be_sess_rate] %%[be_sess_rate(be_app)] %%[be_sess_rate(be_other)]"
    server s 127.0.0.1:%d
backend be_other
    server s 127.0.0.1:%d
listen tcp
    mode tcp
    bind 127.0.0.1:%d id 5
    bind 127.0.0.1:%d name second
    bind 127.0.0.1:%d id 9
    tcp-request connection reject if { so_id 9 }
    tcp-request inspect-delay 2s
    tcp-request content reject unless { so_id 5 } || { so_name second }
    use_backend tcp_%%[so_id]
    server s 127.0.0.1:%d
backend tcp_5
    mode tcp
    server s 127.0.0.1:%d
backend tcp_2
    mode tcp
    server s 127.0.0.1:%d
`, web, plain, two, h2, app, other, tcp5, tcp2, tcp9, app, other, app), web, plain, two, h2, tcp5, tcp2, tcp9)

	for _, tc := range []struct {
		port int
		want string
	}{{web, "7 web"}, {plain, "3"}, {two, "2"}} { // no name: an empty field
		c, br := h1Dial(t, tc.port)
		for _, path := range []string{"/so", "/", "/so"} {
			h1Write(t, c, "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n")
			resp, _ := h1ReadResp(t, br, "GET")
			if got := resp.Header.Get("X-So"); resp.StatusCode != http.StatusOK || got != tc.want {
				t.Errorf("port of %q, %s: status %d, X-So %q", tc.want, path, resp.StatusCode, got)
			}
			time.Sleep(20 * time.Millisecond) // idle between requests: the connection may park
		}
		c.Close()
	}

	// HTTP/2 streams: the fourth socket; the count moved one step per
	// socket (to 4 after the third), then to 5 past the taken ones.
	client := h2cClient()
	for _, path := range []string{"/so", "/"} {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", h2, path))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("X-So"); got != "5 h2" {
			t.Errorf("HTTP/2, %s: X-So %q, want \"5 h2\"", path, got)
		}
	}

	// Three requests to be_app in a row: the rate counts them (the last
	// second's count, weighted as haproxy's when a second just ended).
	c, br := h1Dial(t, web)
	defer c.Close()
	var rates []string
	for range 3 {
		h1Write(t, c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, _ := h1ReadResp(t, br, "GET")
		rates = append(rates, resp.Header.Get("X-Rate"))
	}
	var cur, named, unused int
	if _, err := fmt.Sscanf(rates[2], "%d %d %d", &cur, &named, &unused); err != nil || cur < 2 || cur > 8 || named != cur || unused != 0 {
		t.Errorf("X-Rate after three requests: %q, want the current backend's rate (2 or more, the same by name) and 0 for be_other", rates)
	}

	for _, tc := range []struct {
		port int
		want string
	}{{tcp5, "other"}, {tcp2, "app"}} {
		c, br := h1Dial(t, tc.port)
		h1Write(t, c, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		resp, _ := h1ReadResp(t, br, "GET")
		if got := resp.Header.Get("X-Backend"); got != tc.want {
			t.Errorf("mode tcp, port %d: backend %q, want %q", tc.port, got, tc.want)
		}
		io.Copy(io.Discard, br)
		c.Close()
	}
	// Rejected at once (a reset may come before the dial returns).
	if c9, err := net.DialTimeout("tcp", h1Addr(tcp9), 5*time.Second); err == nil {
		defer c9.Close()
		c9.SetDeadline(time.Now().Add(5 * time.Second))
		c9.Write([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
		if b, _ := io.ReadAll(c9); len(b) != 0 {
			t.Errorf("mode tcp, socket id 9: got %q, want the connection rejected", b)
		}
	}
}
