package stream

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// After SoftStop, no new connection is accepted; a busy keep-alive
// connection and a parked one are each answered once more, with
// "Connection: close", then closed; and Wait returns.
func TestSoftStopClosesAfterNextResponse(t *testing.T) {
	fastParking(t)
	cfg, port := keepAliveConfig(t, "safe")
	rt := startRuntime(t, cfg)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	req := []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	buf := make([]byte, 4096)
	var conns [2]net.Conn
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, c, req, buf)
		conns[i] = c
	}
	waitFor(t, "both connections park", func() bool { return rt.parker.Parked() == 2 })
	// One connection is woken before the stop: it is in a worker then.
	if _, err := conns[0].Write([]byte("GET /x HTTP/1.1\r\nHost: t\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one connection resumes", func() bool { return rt.parker.Parked() == 1 })
	rt.SoftStop()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("a soft-stopped runtime still accepts connections")
	}
	done := make(chan struct{})
	go func() { rt.Wait(); close(done) }()
	if _, err := conns[0].Write([]byte("\r\n")); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		if i == 1 {
			if _, err := c.Write(req); err != nil {
				t.Fatal(err)
			}
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if !bytes.HasPrefix(resp, []byte("HTTP/1.1 200")) || !bytes.Contains(resp, []byte("\r\nConnection: close\r\n")) || !bytes.HasSuffix(resp, []byte("hello")) {
			t.Fatalf("connection %d: got %q, want a whole 200 with Connection: close, then the end", i, resp)
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the last sessions ended")
	}
}
