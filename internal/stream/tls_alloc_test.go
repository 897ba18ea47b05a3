package stream

import (
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// recordCounter counts the TLS records a client receives, from their
// headers in the raw bytes it reads.
type recordCounter struct {
	net.Conn
	records atomic.Int64
	left    int // bytes of the current record still to come
	hdr     []byte
}

func (r *recordCounter) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	b := p[:n]
	for len(b) > 0 {
		if r.left > 0 {
			k := min(r.left, len(b))
			r.left -= k
			b = b[k:]
			continue
		}
		k := min(5-len(r.hdr), len(b))
		r.hdr = append(r.hdr, b[:k]...)
		b = b[k:]
		if len(r.hdr) == 5 {
			r.left = int(r.hdr[3])<<8 | int(r.hdr[4])
			r.hdr = r.hdr[:0]
			r.records.Add(1)
		}
	}
	return n, err
}

// tlsKeepAliveClient connects to a TLS keep-alive frontend in front of
// servers answering resp, and warms the path up.
func tlsKeepAliveClient(t *testing.T, resp []byte, path string) (c *tls.Conn, rc *recordCounter, req, buf []byte) {
	t.Helper()
	cfg, port := tlsKeepAliveConfig(t, "")
	b1, b2 := rawBackendWith(t, resp), rawBackendWith(t, resp)
	cfg = strings.Replace(cfg, "http-request set-var(txn.p) path\n http-response set-header X-Path %[var(txn.p)]\n", "", 1)
	cfg = replaceServers(t, cfg, b1, b2)
	startRuntime(t, cfg)
	nc, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	rc = &recordCounter{Conn: nc, hdr: make([]byte, 0, 5)}
	c = tls.Client(rc, &tls.Config{InsecureSkipVerify: true, ServerName: "t"})
	t.Cleanup(func() { c.Close() })
	req = []byte("GET " + path + " HTTP/1.1\r\nHost: bench\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n")
	buf = make([]byte, 32<<10)
	for range 50 { // handshake, pools, idle connections to both servers
		roundTrip(t, c, req, buf)
	}
	return c, rc, req, buf
}

// replaceServers points the two servers of a keepAliveConfig at b1 and b2.
func replaceServers(t *testing.T, cfg string, b1, b2 int) string {
	t.Helper()
	i := strings.Index(cfg, " server s1 ")
	if i < 0 {
		t.Fatal("no server line in config")
	}
	return cfg[:i] + " server s1 127.0.0.1:" + strconv.Itoa(b1) + "\n server s2 127.0.0.1:" + strconv.Itoa(b2) + "\n"
}

// A TLS keep-alive request allocates nothing in the proxy beyond what
// crypto/tls does itself: each record it reads from the network costs one
// small allocation (its atLeastReader escapes into bytes.Buffer.ReadFrom),
// one in the proxy and one in the test's client, as the whole process is
// measured.
func TestTLSKeepAliveRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	c, _, req, buf := tlsKeepAliveClient(t, []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"), "/small")
	if allocs := testing.AllocsPerRun(2000, func() { roundTrip(t, c, req, buf) }); allocs >= 2.5 {
		t.Fatalf("%.2f allocations per TLS keep-alive request, want 2 (crypto/tls's)", allocs)
	}
}

// A response goes to a TLS client as one record (so one write): head and
// body together, the head rewritten (its Connection field dropped), and
// for 8 KiB too (records are full size from the start, as haproxy's).
func TestTLSResponseOneRecord(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		resp       []byte
	}{
		{"small", "/small", []byte("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello")},
		{"8k", "/8k", []byte("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 8192\r\nConnection: keep-alive\r\n\r\n" +
			strings.Repeat("x", 8192-5) + "hello")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rc, req, buf := tlsKeepAliveClient(t, tc.resp, tc.path)
			const n = 20
			before := rc.records.Load()
			for range n {
				roundTrip(t, c, req, buf)
			}
			if got := rc.records.Load() - before; got != n {
				t.Fatalf("%d records for %d responses, want one each", got, n)
			}
		})
	}
}
