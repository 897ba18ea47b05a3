package e2e

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestWebSocketKeyAsHAProxy: an HTTP/1 WebSocket upgrade (Connection
// upgrade and an Upgrade "websocket" token) without a 24-byte
// Sec-WebSocket-Key is refused with a 400 and logged as a bad request, as
// haproxy 2.6 does; Sec-WebSocket-Version is not looked at, and a valid
// upgrade still switches.
func TestWebSocketKeyAsHAProxy(t *testing.T) {
	const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	reqs := []string{
		"Connection: Upgrade\r\nUpgrade: websocket\r\n",
		"Connection: Upgrade\r\nUpgrade: websocket\r\n" + key,
		"Connection: Upgrade\r\nUpgrade: websocket\r\n" + key + "Sec-WebSocket-Version: 99\r\n",
		"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: abc\r\n",
		"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n",
		"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: abc\r\n" + key,
		"Connection: keep-alive, Upgrade\r\nUpgrade: foo, WebSocket\r\n",
		"Connection: Upgrade\r\nUpgrade: websocket/13\r\n",
		"Upgrade: websocket\r\n",
	}
	// The server switches any request that asks for an upgrade.
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		for {
			c, err := srv.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				up := false
				for {
					l, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if l == "\r\n" {
						break
					}
					up = up || strings.HasPrefix(strings.ToLower(l), "connection:") && strings.Contains(strings.ToLower(l), "upgrade")
				}
				if up {
					c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"))
				} else {
					c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
				}
			}()
		}
	}()
	got := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		logPort, next := udpLog(t)
		port := freePort(t)
		p := startBinary(t, path, logHead(logPort, "http", `log-format "%ST %tsc %{+Q}r"`)+fmt.Sprintf(`listen l
    bind 127.0.0.1:%d
    server s1 %s
`, port, srv.Addr()), port)
		next.skipProbe()
		for _, r := range reqs {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(3 * time.Second))
			c.Write([]byte("GET /ws HTTP/1.1\r\nHost: a\r\n" + r + "\r\n"))
			status, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			line, _ := next(3 * time.Second)
			got[path] = append(got[path], fmt.Sprintf("%q: %s | %s", r, strings.TrimSpace(status), line))
		}
		p.stop()
	}
	for i := range reqs {
		h, d := got[haproxyBin][i], got[bin][i]
		if h != d {
			t.Errorf("\nhaproxy: %s\ndhproxy: %s", h, d)
		} else {
			t.Log(d)
		}
	}
}

// TestH2WebSocketClientKeyAsHAProxy: over HTTP/2, an extended CONNECT's
// own sec-websocket-key is not checked: a 3-byte one goes to the HTTP/1.1
// server as it is and the upgrade succeeds, as with haproxy 2.6. (The
// 60 more fields keep dhproxy from indexing the head as it converts it,
// so that the converted head goes through the HTTP/1 parser.)
func TestH2WebSocketClientKeyAsHAProxy(t *testing.T) {
	for _, path := range []string{haproxyBin, bin} {
		be, heads := startWSEcho(t)
		port := freePort(t)
		startBinary(t, path, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 2s
    timeout server 2s
frontend fe
    bind 127.0.0.1:%d proto h2
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, port, be), port)
		c, fr := dialH2(t, port)
		c.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := fr.peerSettings(); err != nil {
			t.Fatal(err)
		}
		kv := []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "http",
			":path", "/chat", ":authority", "ws.test", "sec-websocket-key", "abc"}
		for i := range 60 {
			kv = append(kv, fmt.Sprintf("x-f%d", i), "v")
		}
		fr.writeHead(1, false, kv...)
		status := ""
		for status == "" {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					fr.WriteSettingsAck()
				}
			case *http2.HeadersFrame:
				_, status, _ = fr.decode(f)
			case *http2.RSTStreamFrame:
				status = "reset " + f.ErrCode.String()
			}
		}
		if status != "200" {
			t.Errorf("%s: extended CONNECT answered %s", path, status)
		}
		select {
		case h := <-heads:
			if k := h.Get("Sec-WebSocket-Key"); k != "abc" {
				t.Errorf("%s: the server got key %q", path, k)
			}
		case <-time.After(time.Second):
			t.Errorf("%s: the server got no request", path)
		}
		c.Close()
	}
}
