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

// TestConnectRequestBytesAsHAProxy: %U counts an HTTP/1 CONNECT's Host
// without a default port (":80", ":443"), as haproxy 2.6's HTTP/1 layer
// holds it (its request line keeps the port), then the tunnel's bytes.
// dhproxy counted the port (4 bytes more for x:443). The Host forwarded
// is the one without the port too (TestConnectHostAsHAProxy).
func TestConnectRequestBytesAsHAProxy(t *testing.T) {
	be := connectPongServer(t)
	reqs := []string{
		"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n",
		"CONNECT x:80 HTTP/1.1\r\nHost: x:80\r\n\r\n",
		"CONNECT x:8443 HTTP/1.1\r\nHost: x:8443\r\n\r\n",
		"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	// e.g. the first: 20 + len("CONNECT") + len("x:443") + len("HTTP/1.1"),
	// host x, 1 for the end of the head, "ping"
	want := "---- 38 50 200\n---- 38 49 200\n---- 38 56 200\n---- 38 50 200\n"
	for _, path := range []string{haproxyBin, bin} {
		logPort, next := udpLog(t)
		port := freePort(t)
		p := startBinary(t, path, logHead(logPort, "http", `log-format "%tsc %B %U %ST"`)+fmt.Sprintf(`listen l
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d
`, port, be), port)
		next.skipProbe()
		var got strings.Builder
		for _, r := range reqs {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, r)
			br := bufio.NewReader(c)
			if _, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"}); err != nil {
				t.Fatalf("%s, %q: %v", path, r, err)
			}
			io.WriteString(c, "ping")
			io.ReadAll(br) // "pong" and the server's FIN
			c.Close()
			l, _ := next(10 * time.Second)
			got.WriteString(l + "\n")
		}
		p.stop()
		if got.String() != want {
			t.Errorf("%s logged\n%swant\n%s", path, got.String(), want)
		}
	}
}
