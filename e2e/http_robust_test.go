package e2e

// Robustness of HTTP/1.1 proxying against slow or misbehaving peers: slow
// request bodies and the timeouts that apply to them, unsolicited protocol
// switches, bodiless responses that carry framing headers, and what HAProxy
// answers to odd request targets and status lines.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// robustConfig is a single-server configuration with the given server and
// client timeouts.
func robustConfig(port, be int, server, client string) string {
	cfg := h1Simple(port, "", h1Server("s1", be))
	cfg = strings.Replace(cfg, "timeout server 30s", "timeout server "+server, 1)
	return strings.Replace(cfg, "timeout client 30s", "timeout client "+client, 1)
}

// robustBodyBackend reads the whole request body, waits for ?ms= if given,
// then answers with the body it got. Bodies that end early are counted in
// *cut.
func robustBodyBackend(t *testing.T, cut *atomic.Int32) int {
	port, _ := h1StartBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			if cut != nil {
				cut.Add(1)
			}
			return
		}
		if ms, err := strconv.Atoi(r.URL.Query().Get("ms")); err == nil {
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		fmt.Fprintf(w, "got %d: %s", len(b), b)
	}))
	return port
}

// robustTrickle sends the pieces one every interval.
func robustTrickle(t *testing.T, c net.Conn, pieces []string, interval time.Duration) {
	t.Helper()
	for _, p := range pieces {
		time.Sleep(interval)
		if _, err := io.WriteString(c, p); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
}

// robustUpload sends body slowly (one byte every interval) with
// Content-Length or chunked framing and checks that the server got it whole.
func robustUpload(t *testing.T, port int, body string, interval time.Duration, chunked bool) {
	c, br := h1Dial(t, port)
	start := time.Now()
	pieces := strings.Split(body, "")
	if chunked {
		h1Write(t, c, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		for i, p := range pieces {
			pieces[i] = "1\r\n" + p + "\r\n"
		}
		pieces = append(pieces, "0\r\n\r\n")
	} else {
		h1Write(t, c, fmt.Sprintf("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", len(body)))
	}
	robustTrickle(t, c, pieces, interval)
	resp, got := h1ReadResp(t, br, "POST")
	if want := fmt.Sprintf("got %d: %s", len(body), body); resp.StatusCode != 200 || got != want {
		t.Fatalf("after %v: %d %q, want 200 %q", time.Since(start).Round(time.Millisecond), resp.StatusCode, got, want)
	}
}

// A request body sent slowly, for several times "timeout server", reaches the
// server whole: as in HAProxy, every byte sent to the server restarts the
// server timeout, which counts only silence while the server is expected to
// speak.
func TestHTTPSlowUploadOutlastsServerTimeout(t *testing.T) {
	be := robustBodyBackend(t, nil)
	port := freePort(t)
	startProxy(t, robustConfig(port, be, "1s", "3s"), port)
	body := "0123456789ab" // 6 s at one byte every 500 ms
	t.Run("content-length", func(t *testing.T) { robustUpload(t, port, body, 500*time.Millisecond, false) })
	t.Run("chunked", func(t *testing.T) { robustUpload(t, port, body, 500*time.Millisecond, true) })
}

// Gaps in the upload longer than "timeout client" are not cut either while
// the server may still answer: HAProxy 2.6 cuts a stalled upload only by
// "timeout server".
func TestHTTPSlowUploadOutlastsClientTimeout(t *testing.T) {
	be := robustBodyBackend(t, nil)
	port := freePort(t)
	startProxy(t, robustConfig(port, be, "3s", "1s"), port)
	robustUpload(t, port, "abc", 1500*time.Millisecond, false)
}

// A client that stops sending in the middle of its body gets a 504 once
// "timeout server" has passed since the last byte reached the server
// (HAProxy 2.6's answer, whichever of the client and server timeouts is
// shorter), and the server sees the body cut.
func TestHTTPStalledUploadTimesOut(t *testing.T) {
	for _, tc := range []struct{ server, client string }{{"1s", "3s"}, {"3s", "1s"}} {
		t.Run("server "+tc.server+" client "+tc.client, func(t *testing.T) {
			var cut atomic.Int32
			be := robustBodyBackend(t, &cut)
			port := freePort(t)
			startProxy(t, robustConfig(port, be, tc.server, tc.client), port)
			want, _ := time.ParseDuration(tc.server)

			c, br := h1Dial(t, port)
			h1Write(t, c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
			start := time.Now()
			resp, body := h1ReadResp(t, br, "POST")
			d := time.Since(start)
			h1CheckError(t, resp, body, 504, h1Text504)
			if d < want-200*time.Millisecond || d > want+time.Second {
				t.Errorf("504 after %v, want about %v", d, want)
			}
			h1ExpectClosed(t, c, br)
			deadline := time.Now().Add(3 * time.Second)
			for cut.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if cut.Load() != 1 {
				t.Errorf("server did not see the body cut")
			}
		})
	}
}

// Once the whole body is sent, a server silent for longer than "timeout
// server" gets the client a 504, "timeout server" after the last byte.
func TestHTTPSilentServerAfterSlowBody(t *testing.T) {
	be := robustBodyBackend(t, nil)
	port := freePort(t)
	startProxy(t, robustConfig(port, be, "1s", "3s"), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "POST /up?ms=3000 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n")
	robustTrickle(t, c, []string{"a", "b", "c", "d"}, 500*time.Millisecond)
	last := time.Now()
	resp, body := h1ReadResp(t, br, "POST")
	h1CheckError(t, resp, body, 504, h1Text504)
	if d := time.Since(last); d < 800*time.Millisecond || d > 2*time.Second {
		t.Errorf("504 %v after the last body byte, want about 1s", d)
	}
	// The request was read whole: the connection carries the next one.
	if h1SaysClose(resp) {
		t.Errorf("504 closes the connection")
	}
	h1Write(t, c, "GET /up HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := h1ReadResp(t, br, "GET"); resp.StatusCode != 200 || body != "got 0: " {
		t.Fatalf("next request: %d %q", resp.StatusCode, body)
	}
}

// A 101 the request did not ask for is answered 502 and never turns the
// connection into a tunnel: the client's next bytes (here a request the
// proxy itself refuses, with two Host fields) must not reach the server.
func TestHTTPUnsolicitedSwitchingProtocols(t *testing.T) {
	const upgradeFoo = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n"
	for _, tc := range []struct {
		name, req, resp string
		haproxyDiffers  string
	}{
		{name: "no upgrade asked", req: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", resp: upgradeFoo},
		{name: "upgrade without connection option", req: "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\n\r\n", resp: upgradeFoo},
		{name: "101 without connection option", req: "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n",
			resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\n\r\n"},
		{name: "101 without upgrade", req: "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n",
			resp:           "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n",
			haproxyDiffers: "HAProxy 2.6 tunnels after a 101 without Upgrade; RFC 9110 15.2.2 requires the field naming the new protocol"},
		{name: "CONNECT answered 101", req: "CONNECT x:80 HTTP/1.1\r\nHost: x:80\r\n\r\n", resp: upgradeFoo},
		{name: "other protocol", req: "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n",
			resp:           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
			haproxyDiffers: "HAProxy 2.6 tunnels whatever protocol the 101 names; RFC 9110 7.8 allows only one the client asked for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.haproxyDiffers != "" && h1IsHAProxy() {
				t.Skip(tc.haproxyDiffers)
			}
			after := make(chan string, 1)
			be := h1StartRawBackend(t, func(c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := h1ReadHead(br); err != nil {
					return
				}
				io.WriteString(c, tc.resp)
				c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
				rest, _ := io.ReadAll(br)
				after <- string(rest)
			})
			port := freePort(t)
			startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

			c, br := h1Dial(t, port)
			h1Write(t, c, tc.req)
			resp, body := h1ReadResp(t, br, "GET")
			h1CheckError(t, resp, body, 502, h1Text502)
			// The proxy may have closed: a failed write is fine.
			io.WriteString(c, "GET /smuggled HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
			select {
			case got := <-after:
				if got != "" {
					t.Errorf("server got %q after its 101", got)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("backend never finished")
			}
		})
	}
}

// A 101 switching to a protocol the request asked for (any of a list, case
// aside) tunnels both ways.
func TestHTTPRequestedUpgradeTunnels(t *testing.T) {
	be := h1StartRawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := h1ReadHead(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: FOO\r\nConnection: Upgrade\r\n\r\n")
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		io.WriteString(c, "echo "+line)
	})
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: bar, foo\r\nConnection: upgrade\r\n\r\n")
	head, err := h1ReadHead(br)
	if err != nil || !strings.HasPrefix(head, "HTTP/1.1 101 ") {
		t.Fatalf("head %q, %v", head, err)
	}
	h1Write(t, c, "ping\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo ping\n" {
		t.Fatalf("through the tunnel: %q, %v", line, err)
	}
}

// robustCanned answers each request on a connection with the canned
// response its path names (/r/NAME), reading a Content-Length body first;
// "/r/continue" sends its interim 100 before reading the body.
func robustCanned(t *testing.T, canned map[string]string) int {
	return h1StartRawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			head, err := h1ReadHead(br)
			if err != nil {
				return
			}
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
			if err != nil {
				return
			}
			name := strings.TrimPrefix(req.URL.Path, "/r/")
			if name == "continue" {
				io.WriteString(c, canned["continue"])
				name = "plain"
			}
			if req.ContentLength > 0 {
				if _, err := io.CopyN(io.Discard, br, req.ContentLength); err != nil {
					return
				}
			}
			if _, err := io.WriteString(c, canned[name]); err != nil || strings.Contains(canned[name], " 101 ") {
				return
			}
		}
	})
}

// headHas reports whether the head has a field name: value (name case aside).
func headHas(head, name, value string) bool {
	for _, l := range strings.Split(head, "\r\n") {
		if n, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(n, name) && strings.TrimSpace(v) == value {
			return true
		}
	}
	return false
}

func headHasField(head, name string) bool {
	for _, l := range strings.Split(head, "\r\n") {
		if n, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// 1xx and 204 responses must not carry Content-Length or Transfer-Encoding
// (RFC 9110 8.6, RFC 9112 6.1): the proxy removes them, as HAProxy does. A
// 304 and a response to HEAD keep their Content-Length (and have no body).
func TestHTTPBodilessResponsesLoseFraming(t *testing.T) {
	be := robustCanned(t, map[string]string{
		"plain":    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"204cl":    "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n",
		"204te":    "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n",
		"103":      "HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"continue": "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n",
		"304":      "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
		"head":     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
		"101":      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\nContent-Length: 5\r\n\r\nhello",
	})
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	readHead := func(t *testing.T, br *bufio.Reader, status string) string {
		t.Helper()
		head, err := h1ReadHead(br)
		if err != nil || !strings.HasPrefix(head, "HTTP/1.1 "+status+" ") {
			t.Fatalf("head %q, %v; want status %s", head, err, status)
		}
		return head
	}
	// next checks that the connection still carries a request, so the
	// bodiless response was framed right.
	next := func(t *testing.T, c net.Conn, br *bufio.Reader) {
		t.Helper()
		h1Write(t, c, "GET /r/plain HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, body := h1ReadResp(t, br, "GET"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("next request: %d %q", resp.StatusCode, body)
		}
	}
	for _, name := range []string{"204cl", "204te"} {
		t.Run(name, func(t *testing.T) {
			c, br := h1Dial(t, port)
			h1Write(t, c, "GET /r/"+name+" HTTP/1.1\r\nHost: x\r\n\r\n")
			head := readHead(t, br, "204")
			if headHasField(head, "Content-Length") || headHasField(head, "Transfer-Encoding") || !headHas(head, "X-A", "1") {
				t.Errorf("204 head %q", head)
			}
			next(t, c, br)
		})
	}
	t.Run("103", func(t *testing.T) {
		c, br := h1Dial(t, port)
		h1Write(t, c, "GET /r/103 HTTP/1.1\r\nHost: x\r\n\r\n")
		if head := readHead(t, br, "103"); headHasField(head, "Content-Length") || !headHas(head, "Link", "</a>") {
			t.Errorf("103 head %q", head)
		}
		if resp, body := h1ReadResp(t, br, "GET"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("final response: %d %q", resp.StatusCode, body)
		}
		next(t, c, br)
	})
	t.Run("100", func(t *testing.T) {
		c, br := h1Dial(t, port)
		h1Write(t, c, "POST /r/continue HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
		if head := readHead(t, br, "100"); headHasField(head, "Content-Length") {
			t.Errorf("100 head %q", head)
		}
		h1Write(t, c, "hi")
		if resp, body := h1ReadResp(t, br, "POST"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("final response: %d %q", resp.StatusCode, body)
		}
		next(t, c, br)
	})
	t.Run("101", func(t *testing.T) {
		c, br := h1Dial(t, port)
		h1Write(t, c, "GET /r/101 HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n")
		if head := readHead(t, br, "101"); headHasField(head, "Content-Length") || !headHas(head, "Upgrade", "foo") {
			t.Errorf("101 head %q", head)
		}
		got := make([]byte, 5)
		if _, err := io.ReadFull(br, got); err != nil || string(got) != "hello" {
			t.Fatalf("tunnel bytes %q, %v", got, err)
		}
	})
	for _, tc := range []struct{ name, method, status string }{{"304", "GET", "304"}, {"head", "HEAD", "200"}} {
		t.Run(tc.name, func(t *testing.T) {
			c, br := h1Dial(t, port)
			h1Write(t, c, tc.method+" /r/"+tc.name+" HTTP/1.1\r\nHost: x\r\n\r\n")
			if head := readHead(t, br, tc.status); !headHas(head, "Content-Length", "5") {
				t.Errorf("%s head %q lost its Content-Length", tc.name, head)
			}
			next(t, c, br)
		})
	}
}

// After a 502, 503 or 504 of its own the proxy keeps the client connection
// open for the next request, as HAProxy does, when the client keeps alive
// and its request was read whole; otherwise it says close and closes.
func TestHTTPKeepAliveAfterProxyErrors(t *testing.T) {
	be := h1StartRawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			head, err := h1ReadHead(br)
			if err != nil {
				return
			}
			switch {
			case strings.HasPrefix(head, "GET /garbage"), strings.HasPrefix(head, "POST /garbage"):
				io.WriteString(c, "HELLO\r\n\r\n")
				return
			case strings.HasPrefix(head, "GET /close"):
				return
			case strings.HasPrefix(head, "GET /silent"), strings.HasPrefix(head, "POST /silent"):
				time.Sleep(3 * time.Second)
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	port, deadPort := freePort(t), freePort(t)
	cfg := robustConfig(port, be, "1s", "30s") + fmt.Sprintf(`
listen dead
    bind 127.0.0.1:%d
    retries 0
    server d 127.0.0.1:%d
`, deadPort, freePort(t))
	startProxy(t, cfg, port, deadPort)

	for _, tc := range []struct {
		name   string
		port   int
		req    string
		status int
		text   string
		keep   bool
	}{
		{"502 invalid response", port, "GET /garbage HTTP/1.1\r\nHost: x\r\n\r\n", 502, h1Text502, true},
		{"502 server closes", port, "GET /close HTTP/1.1\r\nHost: x\r\n\r\n", 502, h1Text502, true},
		{"502 after whole body", port, "POST /garbage HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 502, h1Text502, true},
		{"502 before whole body", port, "POST /garbage HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\nabc", 502, h1Text502, false},
		{"504", port, "GET /silent HTTP/1.1\r\nHost: x\r\n\r\n", 504, h1Text504, true},
		{"504 after chunked body", port, "POST /silent HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 504, h1Text504, true},
		{"503", deadPort, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 503, h1Text503, true},
		{"503 after whole body", deadPort, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 503, h1Text503, true},
		{"503 before whole body", deadPort, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\nabc", 503, h1Text503, false},
		{"503 client closes", deadPort, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 503, h1Text503, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, br := h1Dial(t, tc.port)
			h1Write(t, c, tc.req)
			resp, body := h1ReadResp(t, br, "GET")
			h1CheckError(t, resp, body, tc.status, tc.text)
			if h1SaysClose(resp) == tc.keep {
				t.Errorf("says close: %v, want %v", h1SaysClose(resp), !tc.keep)
			}
			if !tc.keep {
				h1ExpectClosed(t, c, br)
				return
			}
			h1Write(t, c, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, body = h1ReadResp(t, br, "GET")
			if want := 200; tc.port == deadPort {
				want = 503
				if resp.StatusCode != want {
					t.Fatalf("next request: %d %q", resp.StatusCode, body)
				}
			} else if resp.StatusCode != want || body != "ok" {
				t.Fatalf("next request: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// A status line without a reason, and without the SP before it, reaches the
// client with the SP, as HAProxy writes it ("HTTP/1.1 200 ").
func TestHTTPStatusLineWithoutReason(t *testing.T) {
	be := robustCanned(t, map[string]string{
		"plain": "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
		"404":   "HTTP/1.1 404\r\nContent-Length: 2\r\n\r\nno",
		"hop":   "HTTP/1.1 200\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok",
		"103":   "HTTP/1.1 103\r\nLink: </a>\r\n\r\nHTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
		"crlf":  "\r\nHTTP/1.1 200\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok",
	})
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	for _, tc := range []struct{ path, lines string }{
		{"plain", "HTTP/1.1 200 \r\n"},
		{"404", "HTTP/1.1 404 \r\n"},
		{"hop", "HTTP/1.1 200 \r\n"},
		{"103", "HTTP/1.1 103 \r\nHTTP/1.1 200 \r\n"},
		{"crlf", "HTTP/1.1 200 \r\n"},
	} {
		h1Write(t, c, "GET /r/"+tc.path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		var got string
		for range strings.Count(tc.lines, "\n") {
			head, err := h1ReadHead(br)
			if err != nil {
				t.Fatalf("%s: head %q, %v", tc.path, head, err)
			}
			line, _, _ := strings.Cut(head, "\n")
			got += line + "\n"
		}
		if got != tc.lines {
			t.Errorf("%s: status lines %q, want %q", tc.path, got, tc.lines)
		}
		if b := make([]byte, 2); !readFull(br, b) {
			t.Fatalf("%s: body missing", tc.path)
		}
	}
}

func readFull(r io.Reader, b []byte) bool {
	_, err := io.ReadFull(r, b)
	return err == nil
}

// Request targets outside the forms of RFC 9112 3.2 (or with a fragment)
// get a 400 and never reach the server, as in HAProxy.
func TestHTTPRequestTargetForms(t *testing.T) {
	lines := make(chan string, 16)
	be := h1StartRawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			head, err := h1ReadHead(br)
			if err != nil {
				return
			}
			line, _, _ := strings.Cut(head, "\r\n")
			lines <- line
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	for _, tc := range []struct {
		target, method string
		ok             bool
		haproxyDiffers string
	}{
		{target: "/echo", ok: true},
		{target: "http://x/echo", ok: true},
		{target: "*", method: "OPTIONS", ok: true},
		{target: "echo"},
		{target: "e:cho"},
		{target: "?a"},
		{target: "/echo#frag"},
		{target: "/echo?a#b"},
		{target: "http://x/echo#f"},
		{target: "/x", method: "CONNECT"},
		{target: "x", method: "CONNECT"},
		{target: "x", haproxyDiffers: "HAProxy 2.6 forwards a target without slash equal to Host"},
		{target: "x:80", haproxyDiffers: "HAProxy 2.6 forwards an authority-form target equal to Host outside CONNECT"},
		{target: "*x", haproxyDiffers: "HAProxy 2.6 forwards any target starting with *"},
	} {
		method := tc.method
		if method == "" {
			method = "GET"
		}
		t.Run(method+" "+tc.target, func(t *testing.T) {
			if tc.haproxyDiffers != "" && h1IsHAProxy() {
				t.Skip(tc.haproxyDiffers)
			}
			c, br := h1Dial(t, port)
			h1Write(t, c, method+" "+tc.target+" HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, body := h1ReadResp(t, br, method)
			if !tc.ok {
				h1CheckError(t, resp, body, 400, h1Text400)
				h1ExpectClosed(t, c, br)
				select {
				case l := <-lines:
					t.Fatalf("server got %q", l)
				default:
				}
				return
			}
			if resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
			if l := <-lines; !strings.HasPrefix(l, method+" "+tc.target+" ") {
				t.Errorf("server got %q", l)
			}
		})
	}
}
