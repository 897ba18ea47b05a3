package e2e

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBadRequestTimersAsHAProxy: a connection that closes or times out
// before its first request is logged as haproxy 2.6 logs it: a client that
// sent nothing has its request dated at the accept (Ti 0, Ta = Tt), one that
// sent part of a head at its first byte. The timers are compared rounded to
// 100 ms.
func TestBadRequestTimersAsHAProxy(t *testing.T) {
	type step struct {
		fe      int           // which frontend: 0, or 1 with timeout http-request 300ms
		wait    time.Duration // before the bytes
		partial string        // sent after wait ("" sends nothing)
		hold    time.Duration // before closing (0: wait for the proxy to close)
	}
	steps := []step{
		{0, 0, "", 300 * time.Millisecond},
		{0, 200 * time.Millisecond, "GET /x", 100 * time.Millisecond},
		{1, 0, "", 0},
		{1, 100 * time.Millisecond, "GET /x", 0},
	}
	rounded := regexp.MustCompile(`=-?\d+`)
	logs := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		logPort, nextLine := udpLog(t)
		fes := [2]int{freePort(t), freePort(t)}
		p := startBinary(t, path, logHead(logPort, "http", `log-format "%ST %tsc Ti=%Ti Ta=%Ta Tt=%Tt %{+Q}r"`)+fmt.Sprintf(`frontend f0
    bind 127.0.0.1:%d
    default_backend b
frontend f1
    bind 127.0.0.1:%d
    timeout http-request 300ms
    default_backend b
backend b
    server s1 127.0.0.1:%d
`, fes[0], fes[1], freePort(t)), fes[0])
		nextLine.skipProbe() // its empty connection is one of the lines too
		for i, s := range steps {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fes[s.fe]))
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(s.wait)
			if s.partial != "" {
				c.Write([]byte(s.partial))
			}
			if s.hold > 0 {
				time.Sleep(s.hold)
			} else {
				c.SetReadDeadline(time.Now().Add(3 * time.Second))
				io.Copy(io.Discard, c)
			}
			c.Close()
			for {
				l := nextLine.line(t, fmt.Sprintf("%s, step %d", path, i))
				if !strings.Contains(l, "BADREQ") {
					continue
				}
				l = rounded.ReplaceAllStringFunc(l, func(v string) string {
					n, _ := strconv.Atoi(v[1:])
					if n < 0 {
						return v
					}
					return "=" + strconv.Itoa((n+50)/100*100)
				})
				logs[path] = append(logs[path], l)
				break
			}
		}
		p.stop()
	}
	got, want := strings.Join(logs[bin], "\n"), strings.Join(logs[haproxyBin], "\n")
	if got != want {
		t.Errorf("dhproxy logged\n%s\nhaproxy\n%s", got, want)
	}
	if !strings.Contains(got, `400 CR-- Ti=0 Ta=300 Tt=300 "<BADREQ>"`) {
		t.Errorf("an empty connection's request is not dated at its accept:\n%s", got)
	}
}

// TestBadRequestRepliesAsHAProxy: a request refused before it became one
// (a malformed head, a head that times out, a client closing mid-head, an
// HTTP/1.0 GET with a body) gets haproxy 2.6's raw reply byte for byte, and
// its "<BADREQ>" line counts no byte either way (%B and %U 0).
func TestBadRequestRepliesAsHAProxy(t *testing.T) {
	requests := []struct {
		send  string
		close bool // the client closes after sending, without reading
	}{
		{"GET /a b HTTP/1.1\r\nhost: a\r\n\r\n", false},
		{"GET /x HTTP/1.1\r\nhost: a\r\ncontent-length: 3x\r\n\r\n", false},
		{"GET /x HTTP/1.0\r\ncontent-length: 3\r\n\r\nabc", false},
		{"GET /x", false}, // times out (timeout http-request)
		{"GET /x", true},
	}
	got := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		logPort, nextLine := udpLog(t)
		fe := freePort(t)
		p := startBinary(t, path, logHead(logPort, "http", "timeout http-request 300ms", `log-format "%ST %B %U %tsc %{+Q}r"`)+fmt.Sprintf(`frontend f
    bind 127.0.0.1:%d
    default_backend b
backend b
    server s1 127.0.0.1:%d
`, fe, freePort(t)), fe)
		nextLine.skipProbe()
		for _, r := range requests {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe))
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte(r.send))
			reply := []byte{}
			if !r.close {
				c.SetReadDeadline(time.Now().Add(3 * time.Second))
				reply, _ = io.ReadAll(c)
			}
			c.Close()
			l := nextLine.line(t, fmt.Sprintf("%s, after %q", path, r.send))
			got[path] += fmt.Sprintf("%q\n  %s\n", reply, l)
		}
		p.stop()
	}
	if got[bin] != got[haproxyBin] {
		t.Errorf("dhproxy:\n%s\nhaproxy:\n%s", got[bin], got[haproxyBin])
	}
}

// TestBadRequestDontLogNullAsHAProxy: with "option dontlognull" a refused
// request is still logged when bytes of it came, though its line counts
// none (%U 0); an empty connection (closed or timed out) is not.
func TestBadRequestDontLogNullAsHAProxy(t *testing.T) {
	comparesWithHAProxy(t)
	steps := []struct {
		send string
		wait time.Duration // before closing; 0: read until the proxy closes
	}{
		{"", 100 * time.Millisecond},
		{"", 0}, // times out
		{"GET /x", 100 * time.Millisecond},
		{"GET /x", 0},
		{"GET /a b HTTP/1.1\r\nhost: a\r\n\r\n", 0},
	}
	got := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		logPort, nextLine := udpLog(t)
		fe := freePort(t)
		p := startBinary(t, path, logHead(logPort, "http", "option dontlognull", "timeout http-request 300ms", `log-format "%ST %B %U %tsc %{+Q}r"`)+fmt.Sprintf(`frontend f
    bind 127.0.0.1:%d
    default_backend b
backend b
    server s1 127.0.0.1:%d
`, fe, freePort(t)), fe)
		for _, s := range steps {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe))
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte(s.send))
			if s.wait > 0 {
				time.Sleep(s.wait)
			} else {
				c.SetReadDeadline(time.Now().Add(3 * time.Second))
				io.ReadAll(c)
			}
			c.Close()
		}
		got[path] = nextLine.rest(time.Second)
		p.stop()
	}
	if strings.Join(got[bin], "\n") != strings.Join(got[haproxyBin], "\n") {
		t.Errorf("dhproxy logged\n%s\nhaproxy\n%s", strings.Join(got[bin], "\n"), strings.Join(got[haproxyBin], "\n"))
	}
	if len(got[bin]) != 3 {
		t.Errorf("%d lines, want the 3 requests that sent bytes:\n%s", len(got[bin]), strings.Join(got[bin], "\n"))
	}
}
