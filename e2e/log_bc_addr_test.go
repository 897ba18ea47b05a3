package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestBackendAddrFetchesLoggedAsHAProxy: bc_src, bc_src_port, bc_dst and
// bc_dst_port in a log-format, which haproxy 2.6 accepts: the server
// connection's ends in mode http and mode tcp, none for a server on a
// UNIX socket. dhproxy refused them there ("needs 'HTTP response
// headers'") and had none in mode tcp.
func TestBackendAddrFetchesLoggedAsHAProxy(t *testing.T) {
	us := filepath.Join(t.TempDir(), "x.sock")
	unixEcho(t, us)
	web, stop := startHTTPBackend(t, "w")
	defer stop()
	want := strings.Join([]string{
		fmt.Sprintf("h src=127.0.0.1 sp=1 dst=127.0.0.1 dp=%d 127.0.0.1 127.0.0.1:%[1]d", web),
		"l src=- sp=- dst=- dp=- unix unix:0",
		fmt.Sprintf("t src=127.0.0.1 sp=1 dst=127.0.0.1 dp=%d 127.0.0.1 127.0.0.1:%[1]d", web),
	}, "\n")
	for _, path := range []string{haproxyBin, bin} {
		logPort, next := udpLog(t)
		ports := []int{freePort(t), freePort(t), freePort(t)}
		p := startBinary(t, path, logHead(logPort, "tcp", "option dontlognull",
			`log-format "%f src=%[bc_src] sp=%[bc_src_port,bool] dst=%[bc_dst] dp=%[bc_dst_port] %bi %si:%sp"`)+fmt.Sprintf(`listen l
    bind 127.0.0.1:%d
    server s1 %s
listen t
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d
listen h
    mode http
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%[4]d
`, ports[0], us, ports[1], web, ports[2]), ports[2])
		for _, port := range ports {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(3 * time.Second))
			c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
			c.Read(make([]byte, 1))
			c.Close()
		}
		var lines []string
		for len(lines) < 3 {
			lines = append(lines, next.line(t, fmt.Sprintf("%s, after\n%s", path, strings.Join(lines, "\n"))))
		}
		p.stop()
		sort.Strings(lines)
		if got := strings.Join(lines, "\n"); got != want {
			t.Errorf("%s logged\n%s\nwant\n%s", path, got, want)
		}
	}
}
