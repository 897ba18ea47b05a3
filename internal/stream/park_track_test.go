package stream

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// An idle keep-alive connection keeps its connection trackers (tcp-request
// connection track-sc*) and none of its last request's (http-request
// track-sc*), as in haproxy 2.6, whether it waits on its goroutine or
// parked: the counts read on another connection are the same, and the
// connection trackers end when the parked connection does (client close or
// keep-alive timeout).
func TestParkedConnectionTrackers(t *testing.T) {
	fastParking(t)
	fePort := freeLocalPort(t)
	rt := startRuntime(t, fmt.Sprintf(`defaults
 mode http
 timeout connect 5s
 timeout client 30s
 timeout server 30s
 timeout http-keep-alive 600ms
frontend fe
 bind 127.0.0.1:%d
 stick-table type ip size 10 store http_req_cnt
 tcp-request connection track-sc1 src table conns
 http-request track-sc0 src
 http-request return status 200 content-type text/plain lf-string "tr=%%[sc0_trackers] c=%%[sc1_trackers]"
backend conns
 stick-table type ip size 10 store conn_cnt
`, fePort))
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(fePort))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	get := func(c net.Conn, r *bufio.Reader) string {
		t.Helper()
		fmt.Fprintf(c, "GET /f HTTP/1.1\r\nHost: t\r\n\r\n")
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.TrimSpace(string(b))
	}
	want := func(c net.Conn, r *bufio.Reader, what, w string) {
		t.Helper()
		if got := get(c, r); got != w {
			t.Errorf("%s: %s, want %s", what, got, w)
		}
	}
	idle, ri := dial()
	want(idle, ri, "first request", "tr=1 c=1")
	waitFor(t, "the idle connection parks", func() bool { return rt.parker.Parked() == 1 })
	a, ra := dial()
	want(a, ra, "next to a parked connection", "tr=1 c=2")
	waitFor(t, "both connections park", func() bool { return rt.parker.Parked() == 2 })
	want(idle, ri, "the parked connection woken", "tr=1 c=2")
	// Its transaction's tracker ends just after the response went out, as
	// in haproxy: a request on another connection right after that
	// response may still count it, once the woken connection parked it
	// does not.
	waitFor(t, "the woken connection parks again", func() bool { return rt.parker.Parked() == 2 })
	want(a, ra, "next to the woken connection", "tr=1 c=2")
	waitFor(t, "both connections park again", func() bool { return rt.parker.Parked() == 2 })
	idle.Close()
	waitFor(t, "the closed connection's tracker ends", func() bool { return get(a, ra) == "tr=1 c=1" })
	// Parked connections that the keep-alive timeout closes end their
	// trackers too.
	b, rb := dial()
	// a's last request (the wait above) may hold its tracker a moment
	// after its response: haproxy ends it at the same point.
	waitFor(t, "a new connection counts itself and a", func() bool { return get(b, rb) == "tr=1 c=2" })
	waitFor(t, "it parks", func() bool { return rt.parker.Parked() >= 1 })
	if n, err := b.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read %d bytes; want the keep-alive timeout's end", n)
	}
	a.Read(make([]byte, 1)) // its timeout came first
	waitFor(t, "the parked connections end", func() bool { return rt.parker.Parked() == 0 })
	c, rc := dial()
	want(c, rc, "after the keep-alive timeouts", "tr=1 c=1")
}
