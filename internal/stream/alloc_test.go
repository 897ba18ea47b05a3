package stream

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"

	"dhproxy/internal/config"
	"dhproxy/internal/conn/conntest"
	"dhproxy/internal/model"
)

// rawBackend answers every request on each connection with a fixed
// keep-alive response, without allocating, so that allocation counts
// measured across the process are the proxy's.
func rawBackend(t testing.TB) int {
	return rawBackendWith(t, []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"))
}

// resp16k is a response as nginx sends a 16 KiB file: its Connection field
// makes the proxy rewrite the head; the body ends with "hello".
var resp16k = []byte("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/octet-stream\r\n" +
	"Content-Length: 16384\r\nConnection: keep-alive\r\nAccept-Ranges: bytes\r\n\r\n" +
	strings.Repeat("x", 16384-5) + "hello")

// rawBackendWith is rawBackend answering resp.
func rawBackendWith(t testing.TB, resp []byte) int {
	return conntest.Port(conntest.Serve(t, conntest.Answer(resp)))
}

// startRuntime builds cfg text into a running Runtime.
func startRuntime(t testing.TB, cfgText string) *Runtime {
	t.Helper()
	dir := t.TempDir()
	path := dir + "/test.cfg"
	if err := writeFile(path, cfgText); err != nil {
		t.Fatal(err)
	}
	var d config.Diags
	cfg := model.Build(config.Load([]string{path}, nil, &d), &d)
	if cfg == nil {
		var b bytes.Buffer
		d.Write(&b, 0)
		t.Fatalf("config refused:\n%s", b.String())
	}
	rt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt
}

func freeLocalPort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func keepAliveConfig(t testing.TB, reuse string) (cfg string, fePort int) {
	return keepAliveConfigFor(t, reuse, rawBackend(t), rawBackend(t))
}

// keepAliveConfigFor is keepAliveConfig with the servers on ports b1 and b2.
func keepAliveConfigFor(t testing.TB, reuse string, b1, b2 int) (cfg string, fePort int) {
	fePort = freeLocalPort(t)
	cfg = "defaults\n mode http\n timeout connect 5s\n timeout client 30s\n timeout server 30s\n http-reuse " + reuse + "\n" +
		"frontend fe\n bind 127.0.0.1:" + strconv.Itoa(fePort) + "\n default_backend be\n" +
		"backend be\n server s1 127.0.0.1:" + strconv.Itoa(b1) + "\n server s2 127.0.0.1:" + strconv.Itoa(b2) + "\n"
	return cfg, fePort
}

// roundTrip sends one request on c and reads the fixed response.
func roundTrip(tb testing.TB, c net.Conn, req, buf []byte) {
	if _, err := c.Write(req); err != nil {
		tb.Fatal(err)
	}
	n := 0
	for !bytes.HasSuffix(buf[:n], []byte("hello")) {
		m, err := c.Read(buf[n:])
		if err != nil {
			tb.Fatal(err)
		}
		n += m
	}
}

// TestKeepAliveRequestAllocs proves the keep-alive request path does not
// allocate: the whole process (client, proxy, backends) is measured.
func TestKeepAliveRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	cfg, port := keepAliveConfig(t, "always")
	startRuntime(t, cfg)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /small HTTP/1.1\r\nHost: bench\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n")
	buf := make([]byte, 4096)
	for range 50 { // warm pools and the idle connections to both servers
		roundTrip(t, c, req, buf)
	}
	allocs := testing.AllocsPerRun(2000, func() { roundTrip(t, c, req, buf) })
	// Deadline timers are allocated by the runtime now and then; a real
	// per-request allocation shows as >= 1.
	if allocs >= 0.5 {
		t.Fatalf("%.2f allocations per keep-alive request, want 0", allocs)
	}
}

// TestKeepAliveRequestAllocs16k: the same for a 16 KiB response whose head
// is rewritten (its Connection field dropped), which goes out in one write
// from the larger server-side buffer.
func TestKeepAliveRequestAllocs16k(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	cfg, port := keepAliveConfigFor(t, "always", rawBackendWith(t, resp16k), rawBackendWith(t, resp16k))
	startRuntime(t, cfg)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /16k HTTP/1.1\r\nHost: bench\r\n\r\n")
	buf := make([]byte, 32<<10)
	for range 50 {
		roundTrip(t, c, req, buf)
	}
	if allocs := testing.AllocsPerRun(1000, func() { roundTrip(t, c, req, buf) }); allocs >= 0.5 {
		t.Fatalf("%.2f allocations per 16 KiB keep-alive request, want 0", allocs)
	}
}

func BenchmarkKeepAliveRequest(b *testing.B) {
	benchKeepAlive(b, rawBackend(b), rawBackend(b), "/small")
}

func BenchmarkKeepAliveRequest16k(b *testing.B) {
	benchKeepAlive(b, rawBackendWith(b, resp16k), rawBackendWith(b, resp16k), "/16k")
}

func benchKeepAlive(b *testing.B, b1, b2 int, path string) {
	cfg, port := keepAliveConfigFor(b, "always", b1, b2)
	startRuntime(b, cfg)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: bench\r\n\r\n")
	buf := make([]byte, 32<<10)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		roundTrip(b, c, req, buf)
	}
}
