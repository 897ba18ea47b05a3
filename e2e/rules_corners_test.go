package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// Corners of haproxy 2.6's rule actions, each compared with haproxy.

// set-dst, set-dst-port and set-src-port in tcp-request content and
// http-request rules of mode http change the addresses the request's
// fetches see, for that request only; in mode tcp the content rules'
// destination is the one use_backend sees.
func TestRulesAddressActions(t *testing.T) {
	be := rulesBackend(t, "app")
	other := rulesBackend(t, "other")
	port, tport := freePort(t), freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    tcp-request content set-dst-port int(4001) if { path /tcp }
    tcp-request content set-src-port int(5001) if { path /tcp }
    tcp-request content set-dst str(127.0.0.9) if { path /tcp }
    http-request set-src-port int(5002) if { path /http }
    http-request set-dst str(127.0.0.8) if { path /http }
    http-request set-dst-port int(4002) if { path /http }
    http-request set-dst str(::1) if { path /v6 }
    http-request return status 200 hdr X-A "%%[src_port] %%[dst]:%%[dst_port]"
listen tcp
    mode tcp
    bind 127.0.0.1:%d
    tcp-request inspect-delay 2s
    tcp-request content set-dst-port int(4444) if { req.payload(0,4) -m str MOVE }
    tcp-request content accept
    use_backend other if { dst_port 4444 }
    server s 127.0.0.1:%d
backend other
    mode tcp
    server s 127.0.0.1:%d
`, tport, be, other), port, tport)
	c, br := h1Dial(t, port)
	clientPort := c.LocalAddr().(*net.TCPAddr).Port
	real := fmt.Sprintf("%d 127.0.0.1:%d", clientPort, port)
	for _, tc := range []struct{ path, want string }{
		{"/tcp", "5001 127.0.0.9:4001"},
		{"/http", "5002 127.0.0.8:4002"},
		{"/other", real},                                    // the next request on the connection has the real ones back
		{"/v6", fmt.Sprintf("%d ::1:%d", clientPort, port)}, // another family keeps the port
	} {
		h1Write(t, c, "GET "+tc.path+" HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, _ := h1ReadResp(t, br, "GET")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-A") != tc.want {
			t.Errorf("%s: status %d, X-A %q; want 200 and %q", tc.path, resp.StatusCode, resp.Header.Get("X-A"), tc.want)
		}
	}
	for _, tc := range []struct{ first, want string }{{"MOVE", "other"}, {"GET", "app"}} {
		c, br := h1Dial(t, tport)
		h1Write(t, c, tc.first+" / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		resp, body := h1ReadResp(t, br, "GET")
		if got := resp.Header.Get("X-Backend"); got != tc.want {
			t.Errorf("mode tcp, %q: backend %q (status %d %q), want %q", tc.first, got, resp.StatusCode, body, tc.want)
		}
	}
}

// http-response silent-drop and tcp-response content silent-drop in
// mode http drop the client's connection without a word.
func TestRulesResponseSilentDrop(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    http-request set-var(txn.h) int(1) if { path /hdrop }
    http-request set-var(txn.t) int(1) if { path /tdrop }
    http-response silent-drop if { var(txn.h) -m found }
    default_backend b
backend b
    tcp-response content silent-drop if { var(txn.t) -m found }
    server s 127.0.0.1:%d
`, be), port)
	for _, path := range []string{"/hdrop", "/tdrop"} {
		expectSilentDrop(t, path, port, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	out, err := curl(t, "-s", "-o", "/dev/null", "-w", "%{http_code}", fmt.Sprintf("http://127.0.0.1:%d/ok", port))
	if err != nil || out != "200" {
		t.Errorf("a response not dropped: %q %v", out, err)
	}
}

// tcp-response content close in mode http closes the server connection
// before its response is read, as haproxy 2.6 runs these rules there: the
// client gets a 502 and keeps its connection. res.len reads 0 there
// (haproxy ignores layer 6 fetches on HTTP proxies), srv_name names the
// server.
func TestRulesTCPResponseCloseModeHTTP(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    default_backend b
backend b
    tcp-response content set-var(txn.l) res.len
    tcp-response content set-var(txn.s) srv_name
    tcp-response content close if { var(txn.c) -m found }
    http-request set-var(txn.c) int(1) if { path /close }
    http-response set-header X-L "%%[var(txn.l)] %%[var(txn.s)]"
    server s1 127.0.0.1:%d
`, be), port)
	c, br := h1Dial(t, port)
	for _, tc := range []struct {
		path   string
		status int
		xl     string
	}{{"/close", http.StatusBadGateway, ""}, {"/again", http.StatusOK, "0 s1"}} {
		h1Write(t, c, "GET "+tc.path+" HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, body := h1ReadResp(t, br, "GET")
		if resp.StatusCode != tc.status || resp.Header.Get("X-L") != tc.xl || tc.status == http.StatusOK && !strings.HasPrefix(body, "GET "+tc.path) {
			t.Errorf("%s: status %d, X-L %q, body %q; want %d and %q", tc.path, resp.StatusCode, resp.Header.Get("X-L"), body, tc.status, tc.xl)
		}
	}
}

// sc-set-gpt(I,N) without a value sets 0, as haproxy reads it.
func TestRulesSetGPTWithoutValue(t *testing.T) {
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+`
    http-request track-sc0 src table st
    http-request sc-set-gpt(1,0) int(7)
    http-request set-var(txn.before) sc_get_gpt(1,0)
    http-request sc-set-gpt(1,0)
    http-request return status 200 hdr X-G "%[var(txn.before)] %[sc_get_gpt(1,0)]"
backend st
    stick-table type ip size 10 store gpt(2)
`, port)
	out, err := curl(t, "-s", "-o", "/dev/null", "-w", "%header{x-g}", fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil || out != "7 0" {
		t.Errorf("X-G %q %v; want \"7 0\"", out, err)
	}
}

// The log line shows the addresses the address actions gave the request
// (%ci:%cp, %fi:%fp), as haproxy's; in mode tcp those of the content
// rules.
func TestRulesAddressActionsLogged(t *testing.T) {
	be := rulesBackend(t, "app")
	port, tport := freePort(t), freePort(t)
	logPort, next := udpLog(t)
	startProxy(t, logHead(logPort, "http")+fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    log-format "%%{+Q}HP %%ci:%%cp %%fi:%%fp"
    http-request set-src-port int(5002) if { path /http }
    http-request set-dst str(127.0.0.8) if { path /http }
    http-request set-dst-port int(4002) if { path /http }
    default_backend be
backend be
    server s 127.0.0.1:%d
listen tcp
    mode tcp
    bind 127.0.0.1:%d
    log-format "TCP %%ci:%%cp %%fi:%%fp"
    tcp-request content set-dst-port int(4444)
    tcp-request content set-dst str(127.0.0.7)
    server s 127.0.0.1:%d
`, port, be, tport, be), port, tport)
	tc, tbr := h1Dial(t, tport)
	h1Write(t, tc, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	h1ReadResp(t, tbr, "GET")
	tc.Close()
	tcpClient := fmt.Sprintf("127.0.0.1:%d ", tc.LocalAddr().(*net.TCPAddr).Port)
	c, br := h1Dial(t, port)
	cport := c.LocalAddr().(*net.TCPAddr).Port
	for _, path := range []string{"/http", "/other"} {
		h1Write(t, c, "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n")
		h1ReadResp(t, br, "GET")
	}
	want := map[string]string{
		`"/http"`:  "127.0.0.1:5002 127.0.0.8:4002",
		`"/other"`: fmt.Sprintf("127.0.0.1:%d 127.0.0.1:%d", cport, port),
		"TCP":      tcpClient + "127.0.0.7:4444",
	}
	for len(want) > 0 {
		path, addrs, _ := strings.Cut(next.line(t, fmt.Sprintf("log lines %v not seen", want)), " ")
		if path == "TCP" && !strings.HasPrefix(addrs, tcpClient) {
			continue // the harness's readiness probe
		}
		if w, ok := want[path]; ok {
			if addrs != w {
				t.Errorf("%s logged %q, want %q", path, addrs, w)
			}
			delete(want, path)
		}
	}
}

// A server at 0.0.0.0 connects to the request's destination, which
// http-request set-dst and set-dst-port choose (haproxy's transparent
// idiom): port 0 takes the destination's port, another port stays. The
// requests of one client connection going to different places each reach
// their own; in mode tcp, tcp-request content set-dst does the same.
func TestRulesAddressTransparentServer(t *testing.T) {
	pa := rulesBackend(t, "a")
	pb := freePort(t)
	startHTTPBackendAt(t, fmt.Sprintf("127.0.0.2:%d", pb), "b")
	port, tport := freePort(t), freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    http-request set-dst str(127.0.0.1) if { path /a }
    http-request set-dst-port int(%d) if { path /a }
    http-request set-dst str(127.0.0.2) unless { path /a }
    http-request set-dst-port int(%d) if { path /b }
    use_backend fixed if { path /fixed }
    default_backend any
backend any
    server s 0.0.0.0:0
backend fixed
    server s 0.0.0.0:%d
listen tcp
    mode tcp
    bind 127.0.0.1:%d
    tcp-request content set-dst str(127.0.0.2)
    tcp-request content set-dst-port int(%d)
    server s 0.0.0.0:0
`, pa, pb, pb, tport, pb), port, tport)
	c, br := h1Dial(t, port)
	for _, tc := range []struct{ path, want string }{
		{"/a", "a"}, {"/b", "b"}, {"/a", "a"}, {"/fixed", "b"}, {"/b", "b"},
	} {
		h1Write(t, c, "GET "+tc.path+" HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, body := h1ReadResp(t, br, "GET")
		if got := resp.Header.Get("X-Backend"); resp.StatusCode != http.StatusOK || got != tc.want {
			t.Errorf("%s: status %d, server %q (%q); want 200 from %q", tc.path, resp.StatusCode, got, body, tc.want)
		}
	}
	c, br = h1Dial(t, tport)
	h1Write(t, c, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if resp, body := h1ReadResp(t, br, "GET"); resp.Header.Get("X-Backend") != "b" {
		t.Errorf("mode tcp: status %d, server %q (%q); want b", resp.StatusCode, resp.Header.Get("X-Backend"), body)
	}
}
