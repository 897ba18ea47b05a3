package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestTCPIdleTimeoutsAsHAProxy: an idle mode tcp connection whose timeout
// client and timeout server differ ends as with haproxy 2.6. The side idle
// for its timeout first is no longer read and the other side gets a FIN;
// the connection ends when that side closes too, or at its own timeout:
// the log says the first timeout (cD, sD), Tt the end. dhproxy ended both
// sides at the first timeout. Compared: when and how (FIN, reset) each
// side sees its end, the log line's state, timers and counts; times as the
// nearest of 0, 300ms, 1s.
func TestTCPIdleTimeoutsAsHAProxy(t *testing.T) {
	type step struct {
		client, server string // the timeouts
		ping           bool   // the client sends "ping" first, the server answers "pong"
		hold           bool   // the side that gets the proxy's FIN first keeps its side open 2 s
	}
	steps := []step{
		{"300ms", "1s", false, false},
		{"1s", "300ms", false, false},
		{"300ms", "1s", true, false},
		{"1s", "300ms", true, false},
		{"300ms", "1s", false, true},
		{"300ms", "1s", true, true},
		{"1s", "300ms", false, true},
		{"1s", "300ms", true, true},
	}
	var hold atomic.Bool
	ends := make(chan string, 1)
	be, _ := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		start := time.Now()
		buf := make([]byte, 16)
		for {
			n, err := c.Read(buf)
			if string(buf[:n]) == "ping" {
				c.Write([]byte("pong"))
				start = time.Now()
			}
			if err != nil {
				end := fmt.Sprintf("server %s after %s", endKind(err), near(time.Since(start)))
				ends <- end
				if hold.Load() && err == io.EOF {
					time.Sleep(2 * time.Second)
				}
				return
			}
		}
	})
	rounded := regexp.MustCompile(`=-?\d+`)
	got := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		for _, s := range steps {
			logPort, nextLine := udpLog(t)
			port := freePort(t)
			hold.Store(false)
			p := startBinary(t, path, fmt.Sprintf("global\n    log 127.0.0.1:%d format raw local0", logPort)+
				defaultsSection("tcp", "1s", s.client, s.server, "log global", `log-format "%ts Tw=%Tw Tc=%Tc Tt=%Tt %B %U %ac/%fc/%bc/%sc/%rc %sq/%bq"`)+fmt.Sprintf(`
listen l
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d
`, port, be), port)
			nextLine.skipProbe()
			select { // the readiness probe's server connection
			case <-ends:
			case <-time.After(2 * time.Second):
			}
			hold.Store(s.hold)
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			start := time.Now()
			if s.ping {
				io.WriteString(c, "ping")
				io.ReadFull(c, make([]byte, 4))
				start = time.Now()
			}
			_, err = c.Read(make([]byte, 1))
			cl := fmt.Sprintf("client %s after %s", endKind(err), near(time.Since(start)))
			var sv string
			if !s.hold {
				c.Close()
			}
			select {
			case sv = <-ends:
			case <-time.After(3 * time.Second):
				sv = "server: no end"
			}
			c.Close()
			l := nextLine.line(t, fmt.Sprintf("%s, %+v", path, s))
			l = rounded.ReplaceAllStringFunc(l, func(v string) string {
				n, _ := strconv.Atoi(v[1:])
				if n < 0 {
					return v
				}
				return "=" + near(time.Duration(n)*time.Millisecond)
			})
			got[path] += fmt.Sprintf("client %s server %s ping %v hold %v: %s; %s; %s\n", s.client, s.server, s.ping, s.hold, cl, sv, l)
			p.stop()
		}
	}
	if got[bin] != got[haproxyBin] {
		t.Errorf("dhproxy:\n%shaproxy:\n%s", got[bin], got[haproxyBin])
	}
}

// endKind says how a read ended: "EOF", "reset" or the error.
func endKind(err error) string {
	switch {
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case err == nil:
		return "data"
	}
	return strings.TrimPrefix(err.Error(), "read ")
}

// near names the time of the steps' a duration is closest to: 0, one of
// the timeouts (300ms, 1s) or more, so that a late wake-up compares equal.
func near(d time.Duration) string {
	switch {
	case d < 150*time.Millisecond:
		return "0"
	case d < 650*time.Millisecond:
		return "300ms"
	case d < 1500*time.Millisecond:
		return "1s"
	}
	return "more"
}
