package stream

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// rulesConfig is the shape of the bench "rules" scenario: 10 ACLs, a map
// lookup, 2 header rewrites, a use_backend choice, a response rewrite;
// plus variables carried to the response.
func rulesConfig(t testing.TB) (cfg string, fePort int) {
	b1, b2 := rawBackend(t), rawBackend(t)
	fePort = freeLocalPort(t)
	mapFile := filepath.Join(t.TempDir(), "hosts.map")
	os.WriteFile(mapFile, []byte("bench be_a\nother be_b\n"), 0o644)
	cfg = "defaults\n mode http\n timeout connect 5s\n timeout client 30s\n timeout server 30s\n http-reuse always\n" +
		"frontend fe\n bind 127.0.0.1:" + strconv.Itoa(fePort) + "\n" +
		" acl a1 path_beg /static/ /images/\n acl a2 path_end .css .js\n acl a3 hdr(host) -i admin.example\n" +
		" acl a4 method POST PUT\n acl a5 src 10.0.0.0/8\n acl a6 hdr_sub(user-agent) -i bot\n" +
		" acl a7 url_param(debug) 1\n acl a8 req.cook(session) -m found\n acl a9 path_reg ^/api/v[0-9]+/\n acl a10 hdr_cnt(x-forwarded-for) gt 3\n" +
		" http-request deny if a3 || a6 a5\n http-request set-header X-Client %[src]\n http-request set-header X-Host %[req.hdr(host),lower]\n" +
		" http-request deny if a4 a7 a8 a9 a10\n" +
		" use_backend be_b if a1 || a2\n use_backend %[req.hdr(host),lower,map(" + mapFile + ",be_a)]\n default_backend be_a\n" +
		" http-request set-var(txn.host) req.hdr(host),lower\n http-request set-var(sess.n) var(sess.n,0),add(1)\n" +
		" http-response set-header X-Via dhproxy\n http-response set-header X-Host %[var(txn.host)]-%[var(sess.n)]\n" +
		"backend be_a\n server s1 127.0.0.1:" + strconv.Itoa(b1) + "\n" +
		"backend be_b\n server s2 127.0.0.1:" + strconv.Itoa(b2) + "\n"
	return cfg, fePort
}

// TestRulesRequestAllocs: the rule engine allocates nothing per request
// either, once its scratch buffers have grown.
func TestRulesRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	cfg, port := rulesConfig(t)
	startRuntime(t, cfg)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /small?x=1 HTTP/1.1\r\nHost: Bench\r\nUser-Agent: test\r\nCookie: a=b\r\n\r\n")
	buf := make([]byte, 4096)
	for range 50 {
		roundTrip(t, c, req, buf)
	}
	allocs := testing.AllocsPerRun(2000, func() { roundTrip(t, c, req, buf) })
	if allocs >= 0.5 {
		t.Fatalf("%.2f allocations per keep-alive request with rules, want 0", allocs)
	}
}

func BenchmarkRulesRequest(b *testing.B) {
	cfg, port := rulesConfig(b)
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
