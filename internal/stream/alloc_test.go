package stream

import (
	"bytes"
	"net"
	"strconv"
	"testing"

	"dhproxy/internal/config"
	"dhproxy/internal/model"
)

// rawBackend answers every request on each connection with a fixed
// keep-alive response, without allocating, so that allocation counts
// measured across the process are the proxy's.
func rawBackend(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				n := 0
				for {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
					for {
						i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						if _, err := c.Write(resp); err != nil {
							return
						}
						n = copy(buf, buf[i+4:n])
					}
				}
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
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
	b1, b2 := rawBackend(t), rawBackend(t)
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

func BenchmarkKeepAliveRequest(b *testing.B) {
	cfg, port := keepAliveConfig(b, "always")
	startRuntime(b, cfg)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /small HTTP/1.1\r\nHost: bench\r\n\r\n")
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		roundTrip(b, c, req, buf)
	}
}
