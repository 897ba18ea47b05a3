package e2e

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLogTCPAsHAProxy: "log tcp@<addr>" targets (global, a defaults section
// two frontends inherit, a frontend, a log-forward) send their lines over
// TCP through the implicit rings haproxy 2.6 creates ("ring#<n>", listed and
// shown by "show events"): the target's format, its len, "<line>\n" framing.
func TestLogTCPAsHAProxy(t *testing.T) {
	type result struct{ events, global, deflt, front, relay string }
	got := map[string]result{}
	pid := regexp.MustCompile(`(haproxy|dhproxy)(\[| )\d+`)
	for _, path := range []string{haproxyBin, bin} {
		gs, ds, fs, rs := syslogTCPServer(t), syslogTCPServer(t), syslogTCPServer(t), syslogTCPServer(t)
		fe1, fe2, udpIn := freePort(t), freePort(t), freeUDPPort(t)
		sock := filepath.Join(t.TempDir(), "api.sock")
		startBinary(t, path, fmt.Sprintf(`global
    nbthread 1
    stats socket %s level admin
    log-tag haproxy
    log tcp@127.0.0.1:%d len 100 local0 info
ring explicit
    size 16384
defaults
    mode http
    timeout connect 1s
    timeout client 2s
    timeout server 2s
    option httplog
    option dontlognull
    log global
    log tcp4@127.0.0.1:%d format raw local1
frontend f1
    bind 127.0.0.1:%d
    log tcp@127.0.0.1:%d format rfc5424 local2
    http-request return status 200
frontend f2
    bind 127.0.0.1:%d
    http-request return status 200
log-forward relay
    dgram-bind 127.0.0.1:%d
    log tcp@127.0.0.1:%d local4
`, sock, gs.port, ds.port, fe1, fs.port, fe2, udpIn, rs.port), fe1)
		for i, fe := range []int{fe1, fe2, fe1, fe2} {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "GET /%d%s HTTP/1.0\r\n\r\n", i, strings.Repeat("x", 40*i))
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			bufio.NewReader(c).ReadString('\n')
			c.Close()
		}
		tx, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", udpIn))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"<13>Oct 11 22:14:15 host1 app[123]: relayed", "<34>1 2003-10-11T22:14:15.003Z mach su - ID47 - five", "bare"} {
			tx.Write([]byte(m))
		}
		tx.Close()
		time.Sleep(300 * time.Millisecond)
		events := cliCmd(t, sock, "show events")
		for _, ring := range []string{"ring#1", "ring#2", "ring#3", "ring#4"} {
			events += "== " + ring + "\n" + cliCmd(t, sock, "show events "+ring)
		}
		norm := func(s string) string {
			// haproxy's startup messages ring, which dhproxy does not have
			s = strings.Replace(s, "    buf0       : type=buffer, 0 dropped, in-memory ring buffer\n", "", 1)
			s = maskNow(s)
			s = regexp.MustCompile(`\[\d\d/\w+/\d{4}:[\d:.]+\]`).ReplaceAllString(s, "[<accept>]")
			// the readiness probe's connection may still count in actconn/feconn
			s = regexp.MustCompile(`LR-- \d+/\d+/`).ReplaceAllString(s, "LR-- <conns>/")
			// a local answer takes 0 ms, or 1 when a millisecond ends meanwhile
			s = regexp.MustCompile(`/-1/-1/-1/[01] `).ReplaceAllString(s, "/-1/-1/-1/<Ta> ")
			s = pid.ReplaceAllString(s, "haproxy$2<pid>")
			s = regexp.MustCompile(`declared into '[^']*'`).ReplaceAllString(s, "declared into '<cfg>'")
			return regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "<addr>")
		}
		got[path] = result{norm(events), norm(gs.wait()), norm(ds.wait()), norm(fs.wait()), norm(rs.wait())}
	}
	h, d := got[haproxyBin], got[bin]
	if !strings.Contains(h.events, "ring#4") || h.global == "" || h.deflt == "" || h.front == "" || !strings.Contains(h.relay, "relayed") {
		t.Fatalf("haproxy logged too little:\n%s\n%q\n%q\n%q\n%q", h.events, h.global, h.deflt, h.front, h.relay)
	}
	if h.events != d.events {
		t.Errorf("show events differs:\n%s", diffLines(strings.Split(h.events, "\n"), strings.Split(d.events, "\n")))
	}
	for _, c := range []struct{ name, h, d string }{{"global", h.global, d.global}, {"defaults", h.deflt, d.deflt}, {"frontend", h.front, d.front}, {"log-forward", h.relay, d.relay}} {
		if c.h != c.d {
			t.Errorf("%s's server received:\nhaproxy: %q\ndhproxy: %q", c.name, c.h, c.d)
		}
	}
}
