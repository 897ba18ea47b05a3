package stream

import (
	"net"
	"strconv"
	"testing"
)

// TestStickAndHashExprRequestAllocs proves that stick rules (key fetch,
// table lookup and store) and "balance hash <expr>" add no allocation to
// the keep-alive request path once the client's entry exists.
func TestStickAndHashExprRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	for _, extra := range []string{
		" stick-table type ip size 1k expire 1m\n stick on src\n",
		" stick-table type string len 16 size 1k expire 1m\n stick match req.cook(SID)\n stick store-request req.cook(SID)\n stick on hdr(User-Agent)\n",
		" stick-table type integer size 1k\n stick on url_param(id)\n",
		" balance hash req.cook(SID)\n",
		" balance hash src\n hash-type consistent\n",
		" balance hash path\n",
	} {
		t.Run(extra, func(t *testing.T) {
			cfg, port := keepAliveConfig(t, "always")
			startRuntime(t, cfg+extra)
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req := []byte("GET /small/x?id=42 HTTP/1.1\r\nHost: bench\r\nUser-Agent: test\r\nCookie: a=1; SID=abc123\r\n\r\n")
			buf := make([]byte, 4096)
			for range 50 {
				roundTrip(t, c, req, buf)
			}
			allocs := testing.AllocsPerRun(1000, func() { roundTrip(t, c, req, buf) })
			if allocs >= 0.5 {
				t.Fatalf("%.2f allocations per keep-alive request, want 0", allocs)
			}
		})
	}
}
