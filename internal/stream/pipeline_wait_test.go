package stream

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"testing"
	"time"

	"dhproxy/internal/conn/conntest"
)

// TestRequestSentDuringResponseIsServedAtOnce: a client that sends its next
// request (in its own packet) while the proxy still waits for the server's
// answer to the previous one gets both answers without a stall: readiness
// that came during the first exchange must not be lost by the wait for the
// second request.
func TestRequestSentDuringResponseIsServedAtOnce(t *testing.T) {
	const delay = 40 * time.Millisecond
	b := conntest.Port(conntest.Serve(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line != "\r\n" {
				continue
			}
			time.Sleep(delay)
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
		}
	}))
	cfg, port := keepAliveConfigFor(t, "always", b, b)
	startRuntime(t, cfg)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	buf := make([]byte, 4096)
	roundTrip(t, c, req, buf) // the server connections exist from here on

	start := time.Now()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay / 2) // the proxy is waiting for the first answer
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n := 0
	for bytes.Count(buf[:n], []byte("hello")) < 2 {
		m, err := c.Read(buf[n:])
		if err != nil {
			t.Fatalf("after %v: %v (got %q)", time.Since(start), err, buf[:n])
		}
		n += m
	}
	// Two server exchanges of 40 ms each; a lost wake-up waits for the
	// idle sweeper (200 ms) or the keep-alive timeout.
	if d := time.Since(start); d > 2*delay+80*time.Millisecond {
		t.Errorf("both answers took %v, want about %v", d, 2*delay)
	}
}
