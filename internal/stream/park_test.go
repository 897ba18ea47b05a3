package stream

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fastParking makes connections park after 20 ms of silence, for the tests.
func fastParking(t *testing.T) {
	pa, se := parkAfter, sweepEvery
	parkAfter, sweepEvery = 20*time.Millisecond, 5*time.Millisecond
	t.Cleanup(func() { parkAfter, sweepEvery = pa, se })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// Clients pause around the parking delay between requests, so that waits
// are cut while requests arrive: every answer must still be right.
func TestParkedSessionsResume(t *testing.T) {
	fastParking(t)
	cfg, port := keepAliveConfig(t, "safe")
	rt := startRuntime(t, cfg)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			rnd := rand.New(rand.NewPCG(uint64(i), 7))
			for n := range 25 {
				time.Sleep(time.Duration(rnd.IntN(40)) * time.Millisecond)
				fmt.Fprintf(c, "GET /c%d/r%d HTTP/1.1\r\nHost: t\r\n\r\n", i, n)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				line, err := r.ReadString('\n')
				if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
					errs <- fmt.Errorf("client %d request %d: %q %v", i, n, line, err)
					return
				}
				for {
					h, err := r.ReadString('\n')
					if err != nil {
						errs <- err
						return
					}
					if h == "\r\n" {
						break
					}
				}
				if _, err := io.ReadFull(r, make([]byte, 5)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if rt.parker == nil {
		t.Fatal("no parker")
	}
}

func TestParkedSessionKeepAliveTimeout(t *testing.T) {
	fastParking(t)
	cfg, port := keepAliveConfig(t, "safe")
	cfg = strings.Replace(cfg, "timeout client 30s", "timeout client 30s\n timeout http-keep-alive 300ms", 1)
	rt := startRuntime(t, cfg)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 4096)
	sent := time.Now()
	roundTrip(t, c, []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n"), buf)
	answered := time.Now()
	waitFor(t, "the connection parks", func() bool { return rt.parker.Parked() == 1 })
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(buf); err != io.EOF {
		t.Fatalf("read %d bytes, %v; want EOF when the keep-alive timeout ends", n, err)
	}
	// Never early: the timeout starts when the response went out, after
	// the request left here (the coarse clock, up to 95ms stale under
	// load, once dated it earlier).
	if d, e := time.Since(sent), time.Since(answered); d < 300*time.Millisecond || e > 1500*time.Millisecond {
		t.Fatalf("closed %v after the request, %v after the response, want 300ms after the response", d, e)
	}
	if n := rt.parker.Parked(); n != 0 {
		t.Fatalf("%d sessions still parked", n)
	}
}

// A keep-alive timeout shorter than the park delay ends the idle wait by
// itself, as haproxy's does at the timeout: the wait's deadline only moved
// later, so it ended when the connection parked (up to a sweep after
// parkAfter, 250-300 ms for 100 ms), or at timeout client.
func TestKeepAliveShorterThanParkDelay(t *testing.T) {
	pa := parkAfter
	parkAfter = 30 * time.Second // the parker out of the way
	t.Cleanup(func() { parkAfter = pa })
	cfg, port := keepAliveConfig(t, "safe")
	cfg = strings.Replace(cfg, "timeout client 30s", "timeout client 30s\n timeout http-keep-alive 100ms", 1)
	startRuntime(t, cfg)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 4096)
	sent := time.Now()
	roundTrip(t, c, []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n"), buf)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(buf); err != io.EOF {
		t.Fatalf("read %d bytes, %v; want EOF when the 100ms keep-alive timeout ends", n, err)
	}
	if d := time.Since(sent); d < 100*time.Millisecond {
		t.Fatalf("closed %v after the request, before the keep-alive timeout", d)
	}
}

// A parked connection still counts against maxconn, and gives its slot
// back when the client leaves.
func TestParkedSessionHoldsMaxconn(t *testing.T) {
	fastParking(t)
	cfg, port := keepAliveConfig(t, "safe")
	cfg = strings.Replace(cfg, "frontend fe\n", "frontend fe\n maxconn 1\n", 1)
	rt := startRuntime(t, cfg)
	buf := make([]byte, 4096)
	a, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, a, []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n"), buf)
	waitFor(t, "the connection parks", func() bool { return rt.parker.Parked() == 1 })
	if got := rt.actconn.Load(); got != 1 {
		t.Fatalf("actconn %d with one parked connection, want 1", got)
	}
	b, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Write([]byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n"))
	b.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := b.Read(buf); err == nil {
		t.Fatalf("second connection served (%q) while the first held maxconn", buf[:n])
	}
	a.Close()
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	n := 0
	for !strings.HasSuffix(string(buf[:n]), "hello") {
		m, err := b.Read(buf[n:])
		if err != nil {
			t.Fatalf("second connection after the first left: %v (%q)", err, buf[:n])
		}
		n += m
	}
}

// Stopping closes parked connections, as HAProxy closes idle ones.
func TestParkedSessionsClosedOnStop(t *testing.T) {
	fastParking(t)
	cfg, port := keepAliveConfig(t, "safe")
	rt := startRuntime(t, cfg)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 4096)
	roundTrip(t, c, []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n"), buf)
	waitFor(t, "the connection parks", func() bool { return rt.parker.Parked() == 1 })
	rt.Close()
	done := make(chan struct{})
	go func() { rt.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return: a parked session was not closed")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("client read %v, want EOF", err)
	}
}

// A worker left without work ends after a tick or two of the purge loop (250-500 ms): after a burst
// of new clients, whose connections park, the workers that served them end
// soon, and their stacks and session objects go back with the next trim
// rather than after the memory was measured (bench/idle.py reads it one
// second after the burst).
func TestIdleWorkersEndSoonAfterABurst(t *testing.T) {
	fastParking(t)
	cfg, port := keepAliveConfig(t, "always")
	rt := startRuntime(t, cfg)
	buf := make([]byte, 4096)
	req := []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	for range 8 {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, c, req, buf)
	}
	waitFor(t, "the connections park", func() bool { return rt.parker.Parked() == 8 })
	start := time.Now()
	waitFor(t, "idle workers end", func() bool { return rt.idleWork.Load() == 0 })
	if took := time.Since(start); took >= 490*time.Millisecond {
		t.Errorf("idle workers ended %v after the last connection parked, want less than 490ms", took)
	}
}

// New keep-alive clients beyond maxFirstWaits park after their first
// response instead of each holding a goroutine until a sweep sees the
// crowd (parkAfter is an hour here: no sweep parks them); all are served
// again when they speak.
func TestNewClientsBeyondFirstWaitsParkAtOnce(t *testing.T) {
	pa := parkAfter
	parkAfter = time.Hour
	t.Cleanup(func() { parkAfter = pa })
	cfg, port := keepAliveConfig(t, "always")
	rt := startRuntime(t, cfg)
	buf := make([]byte, 4096)
	req := []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	const n = maxFirstWaits + 8
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, c, req, buf)
		conns = append(conns, c)
	}
	waitFor(t, "the clients beyond the first waits park", func() bool { return rt.parker.Parked() == n-maxFirstWaits })
	// The parked ones first, while the first waits go on: woken because
	// their client spoke, they read rather than park at once again.
	for _, c := range slices.Backward(conns) {
		roundTrip(t, c, req, buf)
	}
}
