package e2e

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestReturnRequestBodyBytesAsHAProxy: a request the proxy answers itself
// (http-request return) counts in %U, and so in the stats' bin, the body
// its buffer holds, as haproxy 2.6's does: 20 + len("POST") + len("/") +
// len("HTTP/1.0"), host x, content-length 10, 1, the 10 bytes. dhproxy
// counted the head only.
func TestReturnRequestBodyBytesAsHAProxy(t *testing.T) {
	for _, path := range []string{haproxyBin, bin} {
		logPort, next := udpLog(t)
		sock := filepath.Join(t.TempDir(), "api.sock")
		port := freePort(t)
		p := startBinary(t, path, fmt.Sprintf("global\n    stats socket %s level admin\n    log 127.0.0.1:%d format raw local0", sock, logPort)+defaultsSection("http", "1s", "5s", "5s", "log global", `log-format "U=%U B=%B"`)+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain string ok
`, port), port)
		next.skipProbe()
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "POST / HTTP/1.0\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789")
		io.ReadAll(c)
		c.Close()
		l, _ := next(5 * time.Second)
		waitField(t, sock, "fe/FRONTEND", "scur", "0")
		rows, names := statRows(t, cliCmd(t, sock, "show stat"))
		got := fmt.Sprintf("%s bin=%s bout=%s", l, field(t, rows, names, "fe/FRONTEND", "bin"), field(t, rows, names, "fe/FRONTEND", "bout"))
		p.stop()
		if want := "U=65 B=73 bin=65 bout=73"; got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}
