package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestFailedConnectLogsServerAsHAProxy: when every connection attempt
// fails, the log names the server tried last with a queue time of 0, in
// mode http and mode tcp, as haproxy 2.6 writes it (it was <NOSRV>, and a
// queue time of -1).
func TestFailedConnectLogsServerAsHAProxy(t *testing.T) {
	dead := freePort(t)
	lines := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		logPort, next := udpLog(t)
		fh, ft := freePort(t), freePort(t)
		p := startBinary(t, path, logHead(logPort, "http", "retries 1")+fmt.Sprintf(`frontend f
    mode http
    log-format "%%ft %%b/%%s Tw=%%Tw Tc=%%Tc %%ts rc=%%rc"
    bind 127.0.0.1:%d
    default_backend b
backend b
    mode http
    server s1 127.0.0.1:%d
listen t
    mode tcp
    log-format "%%ft %%b/%%s Tc=%%Tc %%ts rc=%%rc"
    bind 127.0.0.1:%d
    server s2 127.0.0.1:%d
`, fh, dead, ft, dead), fh)
		waitPort(t, ft, 5*time.Second)
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", fh))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ft))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("x"))
		io.ReadAll(c)
		c.Close()
		for len(lines[path]) < 2 { // the readiness probes' connections log lines of their own
			if l := next.line(t, fmt.Sprintf("%s, after %d", path, len(lines[path]))); strings.Contains(l, " SC ") {
				lines[path] = append(lines[path], l)
			}
		}
		sort.Strings(lines[path])
		p.stop()
	}
	want := "f b/s1 Tw=0 Tc=-1 SC rc=1\nt t/s2 Tc=-1 SC rc=1" // tcp's Tw: 0 or 1 ms in haproxy
	for _, path := range []string{haproxyBin, bin} {
		if got := strings.Join(lines[path], "\n"); got != want {
			t.Errorf("%s logged\n%s\nwant\n%s", path, got, want)
		}
	}
}
