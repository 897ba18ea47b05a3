package stream

import (
	"net"
	"strconv"
	"testing"
	"time"
)

// A connection counts in rt.starting, which slows accepting down while
// large, from its accept until its session first waits for its client
// (or ends, or becomes a long one): whatever becomes of it, the count
// comes back to 0.
func TestStartingCount(t *testing.T) {
	fastParking(t)
	cfg, port := keepAliveConfig(t, "safe")
	tcpPort := freeLocalPort(t)
	cfg += "frontend ft\n mode tcp\n bind 127.0.0.1:" + strconv.Itoa(tcpPort) + "\n default_backend bt\n" +
		"backend bt\n mode tcp\n server s1 127.0.0.1:" + strconv.Itoa(rawBackend(t)) + "\n"
	rt := startRuntime(t, cfg)
	starting := func(want int32) func() bool {
		return func() bool { return rt.starting.Load() == want }
	}
	dial := func(p int) net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	buf := make([]byte, 4096)

	silent := dial(port)
	waitFor(t, "a silent client counts", starting(1))
	silent.Close()
	waitFor(t, "a silent client that left does not", starting(0))

	kept := dial(port)
	roundTrip(t, kept, []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n"), buf)
	waitFor(t, "a keep-alive client waiting for its next request does not count", starting(0))
	waitFor(t, "it parks", func() bool { return rt.parker.Parked() == 1 })
	roundTrip(t, kept, []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n"), buf)
	if n := rt.starting.Load(); n != 0 {
		t.Fatalf("starting %d after a parked connection woke", n)
	}

	closing := dial(port)
	roundTrip(t, closing, []byte("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"), buf)
	waitFor(t, "a closed connection does not count", starting(0))

	tunnel := dial(tcpPort)
	roundTrip(t, tunnel, []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n"), buf)
	waitFor(t, "a tcp session under way does not count", starting(0))
}

// Clients that connect and send nothing slow accepting down but do not
// stop it: a client behind a crowd of them is served.
func TestSilentCrowdDoesNotStopAccepting(t *testing.T) {
	cfg, port := keepAliveConfig(t, "safe")
	rt := startRuntime(t, cfg)
	const silent = maxStarting + 4*acceptBatch
	for range silent {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	waitFor(t, "the silent clients are accepted", func() bool { return rt.starting.Load() == silent })
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second)) // fail rather than hang
	roundTrip(t, c, []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n"), make([]byte, 4096))
}
