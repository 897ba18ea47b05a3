package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// set-mark and set-tos: the client connection's socket gets the mark
// (SO_MARK) and TOS the rules give it, read back with ss.
func TestSetMarkSetTOS(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("no ss to read the sockets with:", err)
	}
	be := rulesBackend(t, "app")
	tcpPort, httpPort := freePort(t), freePort(t)
	startProxy(t, fmt.Sprintf(`
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen tcp
    mode tcp
    bind 127.0.0.1:%d
    tcp-request connection set-mark 0x10
    tcp-request content set-tos 0x20
    server s 127.0.0.1:%d
listen web
    mode http
    bind 127.0.0.1:%d
    tcp-request content set-mark 7 if { path /a }
    http-request set-mark 0x11 if { path /b }
    http-request set-tos 0x28 if { path /b }
    http-request set-var(txn.c) int(1) if { path /c }
    http-response set-tos 0x48 if { status 200 } { var(txn.c) -m int 1 }
    server s 127.0.0.1:%d
`, tcpPort, be, httpPort, be), tcpPort, httpPort)
	// sockopts shows the mark and tos of the proxy's side of the client
	// connection from local port.
	sockopts := func(port int, local string) string {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			out, err := exec.Command("ss", "-tneH", "--tos", "state", "established", "src", fmt.Sprintf("127.0.0.1:%d", port), "dst", local).CombinedOutput()
			if err != nil {
				t.Fatalf("ss: %v %s", err, out)
			}
			if s := string(out); strings.Contains(s, "tos:") || time.Now().After(deadline) {
				return s
			}
		}
	}
	// mode tcp: a request through, the connection kept open
	c, br := h1Dial(t, tcpPort)
	h1Write(t, c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	h1ReadResp(t, br, "GET")
	out := sockopts(tcpPort, c.LocalAddr().String())
	if !strings.Contains(out, "fwmark:0x10") || !strings.Contains(out, "tos:0x20") {
		t.Errorf("mode tcp socket:\n%s", out)
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/a", []string{"fwmark:0x7 ", "tos:0 "}},
		{"/b", []string{"fwmark:0x11 ", "tos:0x28 "}},
		{"/c", []string{"cgroup:/ <-> tos:0x48 "}}, // no fwmark
	} {
		c, br := h1Dial(t, httpPort)
		h1Write(t, c, "GET "+tc.path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		h1ReadResp(t, br, "GET")
		out := sockopts(httpPort, c.LocalAddr().String())
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: socket:\n%s\nwant %q", tc.path, out, w)
			}
		}
	}
}

// tcp-request connection|session set-src-port and set-dst-port: the
// connection's ports from then on, as the fetches and the log see them.
func TestSetSrcDstPort(t *testing.T) {
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+`
    tcp-request connection set-src-port int(4242)
    tcp-request session set-dst-port src_port,add(1)
    http-request return status 200 content-type text/plain lf-string "%[src]:%[src_port] %[dst]:%[dst_port]"
`, port)
	out, err := curl(t, "-s", fmt.Sprintf("http://127.0.0.1:%d/", port))
	if want := "127.0.0.1:4242 127.0.0.1:4243"; err != nil || out != want {
		t.Errorf("got %q %v, want %q", out, err, want)
	}
}
