package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// startConnectEcho is an HTTP/1.1 server that answers any request head
// with 200 and then echoes what it receives (a CONNECT tunnel's far end);
// heads holds the request heads it got.
func startConnectEcho(t *testing.T) (int, chan string) {
	t.Helper()
	heads := make(chan string, 4)
	port, _ := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		heads <- head.String()
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		io.Copy(c, br)
	})
	return port, heads
}

// TestH2Connect: a CONNECT stream (RFC 9113 8.5) goes to the server as an
// HTTP/1.1 CONNECT; its 200 opens a tunnel carried by the stream's DATA
// frames both ways, as haproxy 2.6 does.
func TestH2Connect(t *testing.T) {
	be, heads := startConnectEcho(t)
	port := freePort(t)
	startProxy(t, defaultsSection("http", "5s", "10s", "10s", "timeout tunnel 10s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, port, be), port)
	c, fr := dialH2(t, port)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fr.writeHead(1, false, ":method", "CONNECT", ":authority", "db.test:5432")
	var status string
	var echoed []byte
	sent := false
	for len(echoed) < len("ping") {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("status %q, echoed %q: %v", status, echoed, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			if _, s, _ := fr.decode(f); s != "" {
				status = s
			}
			if f.StreamEnded() {
				t.Fatalf("CONNECT answered %s and ended", status)
			}
			if !sent && status == "200" {
				fr.WriteData(1, false, []byte("ping"))
				sent = true
			}
		case *http2.DataFrame:
			echoed = append(echoed, f.Data()...)
		case *http2.RSTStreamFrame:
			t.Fatalf("stream reset: %v (status %q)", f.ErrCode, status)
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v", f.ErrCode)
		}
	}
	if status != "200" || string(echoed) != "ping" {
		t.Errorf("status %q, echoed %q", status, echoed)
	}
	select {
	case h := <-heads:
		if !strings.HasPrefix(h, "CONNECT db.test:5432 HTTP/1.1\r\n") {
			t.Errorf("server got:\n%s", h)
		}
	case <-time.After(time.Second):
		t.Error("the server got no request")
	}
}
