package e2e

import (
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/conn/conntest"
)

// TestDontLogNullFailedConnectAsHAProxy: under "option dontlognull", a
// mode tcp connection whose server could not be reached is logged when
// the client sent bytes meanwhile (haproxy read them: %U counts them),
// and not when it sent none, whether it waited or closed; the line of a
// "log-separate-errors" frontend goes at level err. A timed-out connect
// ends in "sC" (in mode http too), a refused one in "SC". dhproxy logged
// none of them, and "SC" for a timeout.
func TestDontLogNullFailedConnectAsHAProxy(t *testing.T) {
	dead, hole := freePort(t), int(conntest.FullBacklog(t).Port())
	type tcase struct {
		name, send string
		wait, hole bool
		extra      string
	}
	cases := []tcase{
		{name: "refused_data", send: "xyz", wait: true},
		{name: "refused_none", wait: true},
		{name: "refused_close"},
		{name: "timeout_data", send: "x", wait: true, hole: true},
		{name: "timeout_none", wait: true, hole: true},
		{name: "timeout_close", hole: true},
		{name: "refused_tcplog", send: "x", wait: true, extra: "option tcplog\n    option log-separate-errors"},
		{name: "timeout_http", send: "GET / HTTP/1.0\r\n\r\n", wait: true, hole: true, extra: "mode http\n    log-format \"%ft %b/%s %ST %tsc B=%B rc=%rc\""},
		{name: "last", send: "x", wait: true},
	}
	got := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		logPort, next := udpLog(t)
		ready := freePort(t)
		cfg := fmt.Sprintf(`global
    log 127.0.0.1:%d format short local0
defaults
    mode tcp
    option dontlognull
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
    retries 1
listen ready
    bind 127.0.0.1:%d
    server s 127.0.0.1:%d
`, logPort, ready, dead)
		ports := map[string]int{}
		for _, c := range cases {
			ports[c.name] = freePort(t)
			srv, extra := dead, `log-format "%ft %b/%s %ts U=%U B=%B rc=%rc"`
			if c.hole {
				srv = hole
			}
			if c.extra != "" {
				extra = c.extra
			}
			cfg += fmt.Sprintf("listen %s\n    log global\n    %s\n    bind 127.0.0.1:%d\n    server s 127.0.0.1:%d\n", c.name, extra, ports[c.name], srv)
		}
		p := startBinary(t, path, cfg, ready)
		for _, tc := range cases {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[tc.name]))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte(tc.send))
			if tc.wait {
				io.ReadAll(c)
			}
			c.Close()
		}
		var lines []string
		for !strings.Contains(strings.Join(lines, "\n"), "last last/s") {
			l := next.line(t, fmt.Sprintf("%s, after\n%s", path, strings.Join(lines, "\n")))
			if f := strings.Fields(l); len(f) == 9 && f[2] == "refused_tcplog" {
				// tcplog: the level, the names, %B, the state and %rc
				l = l[:strings.IndexByte(l, '>')+1] + strings.Join([]string{f[2], f[3], f[5], f[6], f[7][strings.LastIndexByte(f[7], '/')+1:]}, " ")
			}
			lines = append(lines, l)
		}
		sort.Strings(lines)
		got[path] = strings.Join(lines, "\n")
		p.stop()
	}
	want := strings.Join([]string{
		"<3>refused_tcplog refused_tcplog/s 0 SC 1",
		"<6>last last/s SC U=1 B=0 rc=1",
		"<6>refused_data refused_data/s SC U=3 B=0 rc=1",
		"<6>timeout_data timeout_data/s sC U=1 B=0 rc=1",
		"<6>timeout_http timeout_http/s 503 sC-- B=217 rc=1",
	}, "\n")
	for _, path := range []string{haproxyBin, bin} {
		if got[path] != want {
			t.Errorf("%s logged\n%s\nwant\n%s", path, got[path], want)
		}
	}
}
