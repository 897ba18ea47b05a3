package e2e

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestRequestBytesLoggedAsHAProxy: %U counts an HTTP/1 request as haproxy
// 2.6 holds it (HTX): the request line's parts plus 20, each field's name
// and value, 1 for the end of the head, the body's bytes; its HTTP/1
// layer drops Connection's close and keep-alive options, and the field
// once empty; a chunked body counts its data and 1 for its end. dhproxy
// counted the bytes as they came.
func TestRequestBytesLoggedAsHAProxy(t *testing.T) {
	web, stop := startHTTPBackend(t, "web")
	defer stop()
	reqs := []string{
		"GET / HTTP/1.0\r\n\r\n",
		"GET /abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
		"GET / HTTP/1.1\r\nHost: x\r\nX-A:   v  \r\nKeep-Alive: 1\r\nProxy-Connection: x\r\nTE: x\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive,  X-B ,close\r\nX-B: 1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nX-T:  a b \r\nX-U:\r\n\r\n",
		// the body's second part likely comes once the request went to the server
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n|3\r\nabc\r\n0\r\n\r\n",
	}
	// the same, the server refusing the connection (the part of the body
	// read with the head counted), without the request sent in two parts
	want := "U=33\nU=41\nU=59\nU=73\nU=55\nU=69\nU=78\nU=72\n" + "U=33\nU=41\nU=59\nU=73\nU=55\nU=69\nU=78"
	dead := freePort(t)
	for _, path := range []string{haproxyBin, bin} {
		logPort, next := udpLog(t)
		port, dport := freePort(t), freePort(t)
		p := startBinary(t, path, logHead(logPort, "http", "option dontlognull")+fmt.Sprintf(`listen l
    bind 127.0.0.1:%d
    log-format "U=%%U"
    server s 127.0.0.1:%d
listen d
    bind 127.0.0.1:%d
    retries 0
    log-format "U=%%U"
    server s 127.0.0.1:%d
`, port, web, dport, dead), port)
		var got []string
		sends := append([]string(nil), reqs...)
		sends = append(sends, reqs[:len(reqs)-1]...)
		for i, r := range sends {
			to := port
			if i >= len(reqs) {
				to = dport
			}
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", to))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			for i, part := range strings.Split(r, "|") {
				if i > 0 {
					time.Sleep(50 * time.Millisecond)
				}
				io.WriteString(c, part)
			}
			io.ReadAll(c) // the last request's connection is closed by the proxy's client timeout otherwise
			c.Close()
			got = append(got, next.line(t, fmt.Sprintf("%s, %q", path, r)))
		}
		p.stop()
		if g := strings.Join(got, "\n"); g != want {
			t.Errorf("%s logged\n%s\nwant\n%s", path, g, want)
		}
	}
}
