package e2e

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// startWSCloser is an HTTP/1.1 WebSocket server that answers the
// upgrade, reads "ping", sends "pong" and then its FIN; when late, it
// waits for the proxy's FIN first and sends "late" before its own.
func startWSCloser(t *testing.T, late bool) int {
	t.Helper()
	port, _ := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + wsGUID))
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(sum[:]))
		ping := make([]byte, 4)
		if _, err := io.ReadFull(br, ping); err != nil {
			return
		}
		c.Write([]byte("pong"))
		if late {
			io.Copy(io.Discard, br)
			c.Write([]byte("late"))
		}
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, br)
	})
	return port
}

// TestWebSocketServerCloseAsHAProxy: a WebSocket whose server sends its
// FIN while the client's side is open ends at once, as haproxy 2.6 ends
// an upgraded connection: the HTTP/1 client gets the FIN and the session
// is logged as a normal end (----), not after timeout client (cD--); over
// HTTP/2 the stream gets its END_STREAM, then RST_STREAM(CANCEL). A
// client that sends its FIN first only half-closes: the server's later
// bytes still reach it. An HTTP/2 server's END_STREAM ends an HTTP/1
// client's WebSocket the same way.
func TestWebSocketServerCloseAsHAProxy(t *testing.T) {
	const upgrade = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	// run starts the proxy (bind and server options given) in front of
	// the server on port be, logging with logFormat, and returns what the
	// client saw and the log; the client's connection stays open until
	// the log line came.
	run := func(t *testing.T, be int, bindOpts, serverOpts, logFormat string, client func(port int) (string, net.Conn)) string {
		logPort, next := udpLog(t)
		port := freePort(t)
		startBinary(t, bin, logHead(logPort, "http", `log-format "`+logFormat+`"`)+fmt.Sprintf(`listen l
    bind 127.0.0.1:%d%s
    server s1 127.0.0.1:%d%s
`, port, bindOpts, be, serverOpts), port)
		next.skipProbe()
		saw, c := client(port)
		defer c.Close()
		// timeout client is 5s: a session left to it would log cD--.
		l, _ := next(10 * time.Second)
		return saw + " | " + l
	}
	// h1 upgrades and sends "ping", or with a closeFrame a WebSocket
	// close frame (which startH2WSEcho's server answers and ends its
	// stream on), then reads until EOF, sending its FIN first when
	// clientFin.
	h1 := func(clientFin, closeFrame bool) func(port int) (string, net.Conn) {
		return func(port int) (string, net.Conn) {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, upgrade)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if closeFrame {
				c.Write(wsFrame(8, nil, []byte{9, 8, 7, 6}))
				op, _, err := readWSFrame(br)
				rest, err2 := io.ReadAll(br)
				return fmt.Sprintf("%d close %d %v, %q then %v", resp.StatusCode, op, err, rest, err2), c
			}
			io.WriteString(c, "ping")
			pong := make([]byte, 4)
			if _, err := io.ReadFull(br, pong); err != nil {
				t.Fatal(err)
			}
			if clientFin {
				c.(*net.TCPConn).CloseWrite()
			}
			rest, err := io.ReadAll(br)
			return fmt.Sprintf("%d %s%s then %v", resp.StatusCode, pong, rest, err), c
		}
	}
	h2 := func(port int) (string, net.Conn) {
		c, fr := dialH2(t, port)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fr.writeHead(1, false, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http",
			":path", "/ws", ":authority", "a", "sec-websocket-version", "13")
		saw, err := fr.readTunnelFrames("ping", false)
		if err != nil {
			saw = append(saw, err.Error())
		}
		return strings.Join(saw, " "), c
	}
	const logFormat = "%tsc %B %U %ST"
	h2Server, _ := startH2WSEcho(t)
	for _, tc := range []struct {
		name, got, want string
	}{
		{"server FIN", run(t, startWSCloser(t, false), "", "", logFormat, h1(false, false)), "101 pong then <nil> | ---- 136 141 101"},
		{"server FIN over h2", run(t, startWSCloser(t, false), " proto h2", "", logFormat, h2), "200 pong END_STREAM RST_STREAM CANCEL | ---- 136 108 101"},
		{"client FIN first", run(t, startWSCloser(t, true), "", "", logFormat, h1(true, false)), "101 ponglate then <nil> | ---- 140 141 101"},
		// the 101 made of the h2 server's 200: its start line without a
		// reason (20 + 8 + 3), connection: upgrade, upgrade: websocket,
		// the end of the head, then the 2 bytes of the server's close
		// frame; not the sec-websocket-accept haproxy's HTTP/1 layer adds
		{"h2 server's END_STREAM", run(t, h2Server, "", " proto h2", logFormat, h1(false, true)), "101 close 8 <nil>, \"\" then <nil> | ---- 67 143 101"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, tc.got, tc.want)
		}
	}
}

// TestH2ConnectClientEndAfterServerFINAsHAProxy: an HTTP/2 CONNECT
// tunnel whose server sent its FIN (END_STREAM to the client) still
// waits for the client's side, as haproxy 2.6's does, but a client that
// then closes its connection ends the tunnel at once as a normal end
// (----), and one that resets the stream as a client abort (CD--), not
// at timeout client (cD--).
func TestH2ConnectClientEndAfterServerFINAsHAProxy(t *testing.T) {
	be := connectPongServer(t)
	for _, reset := range []bool{false, true} {
		logPort, next := udpLog(t)
		port := freePort(t)
		startBinary(t, bin, logHead(logPort, "http", `log-format "%tsc %B %U %ST"`)+fmt.Sprintf(`listen l
    bind 127.0.0.1:%d proto h2
    server s1 127.0.0.1:%d
`, port, be), port)
		next.skipProbe()
		c, fr := dialH2(t, port)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fr.writeHead(1, false, ":method", "CONNECT", ":authority", "a:443")
		saw, err := fr.readTunnelFrames("ping", true)
		if err != nil {
			t.Fatalf("%q: %v", saw, err)
		}
		if reset {
			fr.WriteRSTStream(1, http2.ErrCodeCancel)
		} else {
			c.Close()
		}
		// timeout client is 5s: a session left to it would log cD--.
		l, _ := next(10 * time.Second)
		got := strings.Join(saw, " ") + " | " + l
		want := "200 pong END_STREAM | ---- 38 54 200"
		if reset {
			want = "200 pong END_STREAM | CD-- 38 54 200"
		}
		if got != want {
			t.Errorf("reset %v: %s, want %s", reset, got, want)
		}
		c.Close()
	}
}

// connectPongServer is a server for CONNECT tunnels: it answers 200,
// reads the client's 4 bytes, sends "pong" and its FIN, then reads to the
// end; its port.
func connectPongServer(t *testing.T) int {
	be, _ := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
		ping := make([]byte, 4)
		if _, err := io.ReadFull(br, ping); err != nil {
			return
		}
		c.Write([]byte("pong"))
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, br)
	})
	return be
}
