package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConnectHostAsHAProxy: an HTTP/1 CONNECT reaches its server as
// haproxy 2.6 sends it: the request line as the client wrote it, the Host
// without a default port (":80", ":443"; haproxy's HTTP/1 layer holds it
// so); a Host whose host or port differs from the target's, or that leaves
// out a port other than 80 or 443, is refused with 400 and logged as
// haproxy logs it. A GET's Host keeps its port. Header names are compared in lower case (haproxy lowercases
// them, dhproxy keeps the client's).
func TestConnectHostAsHAProxy(t *testing.T) {
	heads := make(chan string, 1)
	be, _ := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		var head []string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if l = strings.TrimRight(l, "\r\n"); l == "" {
				break
			}
			if name, value, ok := strings.Cut(l, ":"); ok && len(head) > 0 {
				l = strings.ToLower(name) + ":" + value
			}
			head = append(head, l)
		}
		heads <- strings.Join(head, "|")
		io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
	})
	cases := []struct{ req, want string }{
		{"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443", "CONNECT example.test:443 HTTP/1.1|host: example.test"},
		{"CONNECT example.test:80 HTTP/1.1\r\nHost: example.test:80", "CONNECT example.test:80 HTTP/1.1|host: example.test"},
		{"CONNECT example.test:8443 HTTP/1.1\r\nHost: example.test:8443", "CONNECT example.test:8443 HTTP/1.1|host: example.test:8443"},
		{"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test", "CONNECT example.test:443 HTTP/1.1|host: example.test"},
		{"CONNECT example.test:443 HTTP/1.1\r\nHost: EXAMPLE.test:443", "CONNECT example.test:443 HTTP/1.1|host: EXAMPLE.test"},
		{"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443", "CONNECT 127.0.0.1:443 HTTP/1.1|host: 127.0.0.1"},
		{"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443", "CONNECT [::1]:443 HTTP/1.1|host: [::1]"},
		{"CONNECT example.test:443 HTTP/1.0\r\nHost: example.test:443", "CONNECT example.test:443 HTTP/1.0|host: example.test|connection: keep-alive"},
		{"CONNECT example.test:443 HTTP/1.1\r\nHost: other.test:443", "400"},
		{"CONNECT example.test:443 HTTP/1.1\r\nHost: other.test", "400"},
		{"CONNECT example.test:8443 HTTP/1.1\r\nHost: example.test", "400"},
		{"CONNECT example.test:8443 HTTP/1.1\r\nHost: example.test:443", "400"},
		{"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:80", "400"},
		{"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:", "CONNECT example.test:443 HTTP/1.1|host: example.test:"},
		{"CONNECT example.test:8443 HTTP/1.1\r\nHost: example.test:", "400"},
		{"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:0443", "400"},
		{"GET / HTTP/1.1\r\nHost: example.test:443", "GET / HTTP/1.1|host: example.test:443"},
	}
	logs := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		logPort, next := udpLog(t)
		port := freePort(t)
		p := startBinary(t, path, logHead(logPort, "http", `log-format "%ST %tsc %U %{+Q}r"`)+fmt.Sprintf(`listen l
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d
`, port, be), port)
		next.skipProbe()
		for _, tc := range cases {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, tc.req+"\r\n\r\n")
			method, _, _ := strings.Cut(tc.req, " ")
			resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
			c.Close()
			var got string
			switch {
			case err != nil:
				t.Fatalf("%s, %q: %v", path, tc.req, err)
			case resp.StatusCode == 200:
				got = <-heads
			default:
				got = resp.Status[:3]
			}
			if got != tc.want {
				t.Errorf("%s, %q: %q, want %q", path, tc.req, got, tc.want)
			}
			logs[path] += next.line(t, tc.req) + "\n"
		}
		p.stop()
	}
	if logs[bin] != logs[haproxyBin] {
		t.Errorf("dhproxy logged\n%shaproxy\n%s", logs[bin], logs[haproxyBin])
	}
}
