package stream

import (
	"net"
	"strconv"
	"testing"
)

// TestHashBalancedRequestAllocs proves that hash-based balancing (key
// extraction, hashing, table lookup) adds no allocation to the keep-alive
// request path.
func TestHashBalancedRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	for _, bal := range []string{
		" balance uri\n",
		" balance uri whole\n hash-type consistent djb2 avalanche\n",
		" balance url_param id\n hash-type consistent\n",
		" balance hdr(User-Agent)\n hash-type map-based wt6\n",
		" balance source\n hash-type consistent\n",
	} {
		t.Run(bal, func(t *testing.T) {
			cfg, port := keepAliveConfig(t, "always")
			startRuntime(t, cfg+bal)
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req := []byte("GET /small/x?id=42 HTTP/1.1\r\nHost: bench\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n")
			buf := make([]byte, 4096)
			for range 50 {
				roundTrip(t, c, req, buf)
			}
			allocs := testing.AllocsPerRun(1000, func() { roundTrip(t, c, req, buf) })
			if allocs >= 0.5 {
				t.Fatalf("%.2f allocations per hash-balanced keep-alive request, want 0", allocs)
			}
		})
	}
}
