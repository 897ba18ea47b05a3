package stream

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// TestHealthy: the proxy is healthy while every frontend reaches a server
// that is up; a frontend whose servers all fail their checks, or a stopped
// proxy, is not.
func TestHealthy(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	deadPort := freeLocalPort(t) // nothing listens there
	cfg := fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend a
    bind 127.0.0.1:%d
    default_backend good
frontend b
    bind 127.0.0.1:%d
    default_backend bad
backend good
    server s1 %s check inter 100 fall 1 rise 1
backend bad
    server s1 127.0.0.1:%d check inter 100 fall 1 rise 1
    server s2 %s check inter 100 fall 1 rise 1 disabled
`, freeLocalPort(t), freeLocalPort(t), up.Addr(), deadPort, up.Addr())
	rt := startRuntime(t, cfg)
	if !rt.Healthy() {
		t.Fatal("unhealthy before any check ran (servers start UP)")
	}
	deadline := time.Now().Add(5 * time.Second)
	for rt.Healthy() {
		if time.Now().After(deadline) {
			t.Fatal("still healthy with every server of frontend b down")
		}
		time.Sleep(20 * time.Millisecond)
	}

	rt2 := startRuntime(t, fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
listen l
    bind 127.0.0.1:%d
    server s1 %s check inter 100
`, freeLocalPort(t), up.Addr()))
	time.Sleep(300 * time.Millisecond) // a few checks
	if !rt2.Healthy() {
		t.Fatal("listen section with a live server is unhealthy")
	}
	rt2.Close()
	if rt2.Healthy() {
		t.Fatal("a stopped proxy is healthy")
	}
}
