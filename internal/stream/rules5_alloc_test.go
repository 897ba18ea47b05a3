package stream

import (
	"net"
	"strconv"
	"testing"
)

// TestMoreRulesRequestAllocs: log-format variables in header formats,
// set-var-fmt, process variables, normalize-uri, del-header -m,
// set-log-level and tcp-request content rules in mode http allocate
// nothing per request either.
func TestMoreRulesRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	be, port := rawBackend(t), freeLocalPort(t)
	cfg := "global\n expose-experimental-directives\n" +
		"defaults\n mode http\n timeout connect 5s\n timeout client 30s\n timeout server 30s\n http-reuse always\n" +
		"frontend fe\n bind 127.0.0.1:" + strconv.Itoa(port) + "\n" +
		" tcp-request content set-var(txn.p) path\n" +
		" http-request normalize-uri path-merge-slashes\n http-request normalize-uri path-strip-dotdot\n" +
		" http-request normalize-uri query-sort-by-name\n" +
		" http-request set-header X-Client-IP %ci\n http-request set-header X-Req %[src]:%cp\n" +
		" http-request set-var-fmt(txn.who) \"%ci %[path] %HM\"\n http-request set-var(proc.last) path\n" +
		" http-request del-header ^x-drop -m reg\n http-request set-log-level err\n" +
		" default_backend be\n" +
		"backend be\n server s1 127.0.0.1:" + strconv.Itoa(be) + "\n"
	startRuntime(t, cfg)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET //a/../small?y=2&x=1 HTTP/1.1\r\nHost: Bench\r\nX-Drop-Me: 1\r\n\r\n")
	buf := make([]byte, 4096)
	for range 50 {
		roundTrip(t, c, req, buf)
	}
	allocs := testing.AllocsPerRun(2000, func() { roundTrip(t, c, req, buf) })
	if allocs >= 0.5 {
		t.Fatalf("%.2f allocations per keep-alive request with these rules, want 0", allocs)
	}
}
