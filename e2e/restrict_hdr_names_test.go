package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// headEchoServer answers every request with its head as received.
func headEchoServer(t *testing.T) int {
	t.Helper()
	port, _ := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
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
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", head.Len(), head.String())
		}
	})
	return port
}

// option http-restrict-req-hdr-names: after a proxy's http-request rules
// (which still see them), header names outside [A-Za-z0-9-] are removed
// (delete) or the request is refused with a 403 (reject).
func TestHTTPRestrictReqHdrNames(t *testing.T) {
	echo := headEchoServer(t)
	del, rej, keep := freePort(t), freePort(t), freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	startProxy(t, fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend del
    bind 127.0.0.1:%d
    option http-restrict-req-hdr-names delete
    http-request set-header X-Rules-Saw %%[req.fhdr(x_under)]
    default_backend echo
frontend keep
    bind 127.0.0.1:%d
    default_backend echo
frontend rej
    bind 127.0.0.1:%d
    default_backend strict
backend echo
    server s 127.0.0.1:%d
backend strict
    option http-restrict-req-hdr-names reject
    server s 127.0.0.1:%d
`, sock, del, keep, rej, echo, echo), del, keep, rej)
	get := func(port int) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
		req.Header["X_under"] = []string{"u"}
		req.Header["X.dot"] = []string{"d"}
		req.Header["X-Ok"] = []string{"ok"}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.ToLower(string(body))
	}
	code, head := get(del)
	if code != 200 || strings.Contains(head, "x_under") || strings.Contains(head, "x.dot") || !strings.Contains(head, "x-ok: ok") || !strings.Contains(head, "x-rules-saw: u") {
		t.Errorf("delete: %d, the server got:\n%s", code, head)
	}
	code, head = get(keep)
	if code != 200 || !strings.Contains(head, "x_under: u") || !strings.Contains(head, "x.dot: d") {
		t.Errorf("preserve (the default): %d, the server got:\n%s", code, head)
	}
	if code, body := get(rej); code != 403 || !strings.Contains(body, "403 forbidden") {
		t.Errorf("reject: %d %q, want haproxy's 403", code, body)
	}
	// counted as a denied request, as haproxy counts it
	want := map[string]string{"rej,FRONTEND": "1", "strict,BACKEND": "1", "del,FRONTEND": "0"}
	for _, line := range strings.Split(cliCmd(t, sock, "show stat"), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 11 {
			continue
		}
		if w, ok := want[f[0]+","+f[1]]; ok {
			if f[10] != w {
				t.Errorf("%s,%s dreq = %s, want %s", f[0], f[1], f[10], w)
			}
			delete(want, f[0]+","+f[1])
		}
	}
	if len(want) != 0 {
		t.Errorf("no stats line for %v", want)
	}
}

// option disable-h2-upgrade: the HTTP/2 preface on an HTTP/1 bind gets a
// 400 (without the option the connection turns to HTTP/2, as in haproxy:
// TestH2ImplicitUpgradeAsHAProxy).
func TestDisableH2Upgrade(t *testing.T) {
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    option disable-h2-upgrade
    http-request return status 200
`, port), port)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 400 ") {
		t.Errorf("the preface got %q (%v), want a 400", line, err)
	}
}
