package e2e

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rawGet sends one HTTP/1.0 GET to port and returns the response body.
func rawGet(t *testing.T, port int) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", h1Addr(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: x\r\n\r\n")
	b, _ := io.ReadAll(c)
	_, body, _ := strings.Cut(string(b), "\r\n\r\n")
	return body
}

// tcp-request connection and session rules set sess variables, stick
// counters and the connection's addresses, which the requests see.
func TestTCPRequestConnectionSessionActions(t *testing.T) {
	port, port2 := freePort(t), freePort(t)
	cfg := defaultsSection("http", "2s", "5s", "5s") + fmt.Sprintf(`

frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 1k store gpc0,gpc1,gpt0
    tcp-request connection set-var(sess.via) str(conn)
    tcp-request connection set-var(txn.lost) str(lost)
    tcp-request connection track-sc0 src
    tcp-request connection sc-inc-gpc0(0)
    tcp-request connection set-dst str(127.0.0.9)
    tcp-request session set-var-fmt(sess.both) "%%[var(sess.via)]+sess"
    tcp-request connection set-var(sess.gone) str(x)
    tcp-request session sc-inc-gpc1(0) if { sc0_get_gpc0 gt 0 }
    tcp-request session sc-inc-gpc1(0) if { sc0_get_gpc0 lt 0 }
    tcp-request session sc-set-gpt0(0) 7
    tcp-request session set-src str(10.9.8.7)
    tcp-request session unset-var(sess.gone)
    http-request return status 200 content-type text/plain lf-string "via=%%[var(sess.via)] both=%%[var(sess.both)] lost=%%[var(txn.lost)] gone=%%[var(sess.gone)] src=%%[src] dst=%%[dst] gpc0=%%[sc0_get_gpc0] gpc1=%%[sc0_get_gpc1] gpt0=%%[sc0_get_gpt0]"
frontend fe2
    bind 127.0.0.1:%d
    tcp-request connection set-var(sess.only) str(y)
    tcp-request session unset-var(sess.only)
    http-request return status 200 content-type text/plain lf-string "only=%%[var(sess.only)]"
`, port, port2)
	p := startProxy(t, cfg, port, port2)
	defer p.stop()
	// every sess variable the connection rules set, unset by the session
	// rules, is gone
	if got := rawGet(t, port2); got != "only=" {
		t.Errorf("a connection whose sess variables were all unset: %q", got)
	}
	// the readiness probe's connection counts too, maybe after a first
	// request: from a later request on, each connection adds one to both
	// counters
	rawGet(t, port)
	time.Sleep(200 * time.Millisecond)
	first := 0
	for i := range 3 {
		got := rawGet(t, port)
		var n int
		if _, err := fmt.Sscanf(got[strings.Index(got, "gpc0=")+5:], "%d", &n); err != nil || i == 0 && n < 1 {
			t.Fatalf("connection %d: %q: no gpc0", i+1, got)
		}
		if i == 0 {
			first = n
		}
		want := fmt.Sprintf("via=conn both=conn+sess lost= gone= src=10.9.8.7 dst=127.0.0.9 gpc0=%d gpc1=%d gpt0=7", first+i, first+i)
		if got != want {
			t.Errorf("connection %d: %q, want %q", i+1, got, want)
		}
	}
}

// A mode tcp content set-src is what the log and the later rules see.
func TestTCPRequestContentSetSrc(t *testing.T) {
	port, be := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`
defaults
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend fe
    mode tcp
    bind 127.0.0.1:%d
    tcp-request content set-src str(10.1.2.3)
    tcp-request content reject unless { src 10.1.2.3 }
    default_backend be

backend be
    mode tcp
    server s 127.0.0.1:%d

frontend echo
    mode http
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain string ok
`, port, be, be)
	p := startProxy(t, cfg, port, be)
	defer p.stop()
	if got := rawGet(t, port); got != "ok" {
		t.Errorf("through the content set-src: %q, want ok", got)
	}
}

// capture is refused in connection and session rules with haproxy's words.
func TestTCPRequestCaptureRefused(t *testing.T) {
	for _, phase := range []string{"connection", "session"} {
		_, stderr, code := runCheck(t, "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend f\n    bind 127.0.0.1:1\n    tcp-request "+phase+" capture src len 10\n")
		want := "'capture src' is not allowed in 'tcp-request " + phase + "' rules in frontend 'f'"
		if code == 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, ":8") {
			t.Errorf("%s: exit %d, stderr %q; want %q at line 8", phase, code, stderr, want)
		}
	}
}

// sc_kbytes_in and src_kbytes_in read a tracked entry's byte count in
// KiB, rounded down, as haproxy answers them.
func TestStickKBytesIn(t *testing.T) {
	port := freePort(t)
	cfg := defaultsSection("http", "2s", "5s", "5s") + fmt.Sprintf(`

frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 1k store bytes_in_cnt,bytes_out_cnt
    http-request track-sc0 src
    http-request return status 200 content-type text/plain lf-string "in=%%[sc0_kbytes_in] src_in=%%[src_kbytes_in] tab=%%[src,table_kbytes_in(fe)] out=%%[sc_kbytes_out(0)]"
`, port)
	p := startProxy(t, cfg, port)
	defer p.stop()
	post := func(n int) string {
		c, err := net.DialTimeout("tcp", h1Addr(port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "POST / HTTP/1.0\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", n, strings.Repeat("a", n))
		b, _ := io.ReadAll(c)
		_, body, _ := strings.Cut(string(b), "\r\n\r\n")
		return body
	}
	post(10240)
	// the first POST's 10 KiB and its head (under 1 KiB) are counted
	if got, want := post(0), "in=10 src_in=10 tab=10 out=0"; got != want {
		t.Errorf("after 10 KiB: %q, want %q", got, want)
	}
}

// tcp-request content capture in mode http takes a capture slot of the
// frontend, as http-request capture ... len does.
func TestTCPRequestContentCapture(t *testing.T) {
	port := freePort(t)
	cfg := defaultsSection("http", "2s", "5s", "5s") + fmt.Sprintf(`

frontend fe
    bind 127.0.0.1:%d
    declare capture request len 4
    tcp-request content capture req.hdr(host),upper len 3
    http-request capture path id 0
    http-request return status 200 content-type text/plain lf-string "0=%%[capture.req.hdr(0)] 1=%%[capture.req.hdr(1)]"
`, port)
	p := startProxy(t, cfg, port)
	defer p.stop()
	if got, want := rawGet(t, port), "0=/ 1=X"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
