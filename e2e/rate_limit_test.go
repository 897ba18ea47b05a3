package e2e

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// TestRateLimitSessionsAsHAProxy: "rate-limit sessions" on a frontend and
// the global "maxconnrate" and "maxsessrate" hold new connections at the
// rate given: 25 connections at 10 per second take more than 1.4 s
// (without a limit, a few milliseconds), through haproxy and dhproxy.
func TestRateLimitSessionsAsHAProxy(t *testing.T) {
	for _, limit := range []struct{ global, frontend string }{
		{"", "rate-limit sessions 10"},
		{"maxconnrate 10", ""},
		{"maxsessrate 10", ""},
	} {
		for _, path := range []string{haproxyBin, bin} {
			fe := freePort(t)
			p := startBinary(t, path, fmt.Sprintf(`global
    %s
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d
    %s
    http-request return status 200
`, limit.global, fe, limit.frontend), fe)
			time.Sleep(1100 * time.Millisecond) // the readiness probe's second is over
			start := time.Now()
			for range 25 {
				c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", fe), 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n")
				if b, _ := io.ReadAll(c); len(b) == 0 {
					t.Errorf("%s %q: no answer", path, limit)
				}
				c.Close()
			}
			if took := time.Since(start); took < 1400*time.Millisecond {
				t.Errorf("%s %q: 25 connections in %v, want at least 1.4 s at 10 per second", path, limit, took)
			}
			p.stop()
		}
	}
}
