package e2e

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestH2WebSocketIdleAsHAProxy: an HTTP/2 WebSocket (extended CONNECT)
// whose two sides go quiet after a message each way ends at the
// timeout as haproxy 2.6 ends it: timeout tunnel when set, else the
// smaller of timeout client and server; when the client's side expired
// (alone or with the server's) it logs cD--, else sD--, and the server's
// connection is reset (not closed with a FIN) whenever the server's side
// expired. The client's stream gets END_STREAM, then RST_STREAM(CANCEL).
// dhproxy logged sD-- and closed the server's connection with a FIN.
func TestH2WebSocketIdleAsHAProxy(t *testing.T) {
	for _, tc := range []struct{ timeouts, want string }{
		{"timeout client 1s\n    timeout server 1s", "200 pong END_STREAM RST_STREAM CANCEL | cD-- 136 110 101 | server reset"},
		{"timeout client 2s\n    timeout server 1s", "200 pong END_STREAM RST_STREAM CANCEL | sD-- 136 110 101 | server reset"},
		{"timeout client 1s\n    timeout server 2s", "200 pong END_STREAM RST_STREAM CANCEL | cD-- 136 110 101 | server EOF"},
		{"timeout client 3s\n    timeout server 3s\n    timeout tunnel 1s", "200 pong END_STREAM RST_STREAM CANCEL | cD-- 136 110 101 | server reset"},
	} {
		for _, path := range []string{haproxyBin, bin} {
			if got := h2WebSocketIdle(t, path, tc.timeouts); got != tc.want {
				t.Errorf("%s, %s:\n%s\nwant\n%s", path, strings.ReplaceAll(tc.timeouts, "\n   ", ","), got, tc.want)
			}
		}
	}
}

// h2WebSocketIdle runs path with timeouts in front of a WebSocket server
// that answers the client's 6 bytes with "pong", then waits; it returns
// the client's frames, the log line and how the server's connection
// ended.
func h2WebSocketIdle(t *testing.T, path, timeouts string) string {
	srvEnd := make(chan string, 1)
	be, _ := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return // the readiness probe's connection
		}
		sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + wsGUID))
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(sum[:]))
		if _, err := io.ReadFull(br, make([]byte, 6)); err != nil {
			srvEnd <- err.Error()
			return
		}
		c.Write([]byte("pong"))
		_, err = io.Copy(io.Discard, br)
		switch {
		case err == nil:
			srvEnd <- "server EOF"
		case errors.Is(err, syscall.ECONNRESET):
			srvEnd <- "server reset"
		default:
			srvEnd <- err.Error()
		}
	})
	logPort, next := udpLog(t)
	port := freePort(t)
	p := startBinary(t, path, fmt.Sprintf("global\n    log 127.0.0.1:%d format raw local0\ndefaults\n    mode http\n    log global\n    log-format \"%%tsc %%B %%U %%ST\"\n    timeout connect 1s\n    %s\n", logPort, timeouts)+fmt.Sprintf(`listen l
    bind 127.0.0.1:%d proto h2
    server s1 127.0.0.1:%d
`, port, be), port)
	defer p.stop()
	next.skipProbe()
	c, fr := dialH2(t, port)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fr.writeHead(1, false, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http",
		":path", "/ws", ":authority", "a", "sec-websocket-version", "13")
	saw, err := fr.readTunnelFrames("ping12", false)
	if err != nil {
		saw = append(saw, err.Error())
	}
	l, _ := next(10 * time.Second)
	var se string
	select {
	case se = <-srvEnd:
	case <-time.After(10 * time.Second):
		se = "server connection still open"
	}
	return strings.Join(saw, " ") + " | " + l + " | " + se
}
