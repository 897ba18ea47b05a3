package stream

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"dhproxy/internal/http1"
)

// benchRulesFrontend is the frontend fe_rules of the bench's "rules"
// scenario (bench/run.sh), word for word but for the map file's path,
// with the backends it names and a plain frontend (fe_plain) on the same
// backends: the two frontends' difference is the cost of the rules.
func benchRulesConfig(t testing.TB, b1, b2, rulesPort, plainPort int) string {
	mapFile := filepath.Join(t.TempDir(), "hosts.map")
	err := os.WriteFile(mapFile, []byte("# Host header (lowercased)   backend\n"+
		"www.example.com        be_http\nexample.com            be_http\nshop.example.com       be_http\n"+
		"m.example.com          be_http\nblog.example.com       be_http\nstatic.example.com     be_static\n"+
		"cdn.example.com        be_static\nimg.example.com        be_static\nmedia.example.com      be_static\n"+
		"api.example.com        be_api\napi-v2.example.com     be_api\npartners.example.com   be_api\n"+
		"beta.example.com       be_beta\ncanary.example.com     be_beta\nadmin.example.com      be_admin\n"+
		"ops.example.com        be_admin\nwww.example.org        be_http\nwww.example.net        be_http\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := "127.0.0.1:"+strconv.Itoa(b1), "127.0.0.1:"+strconv.Itoa(b2)
	return "defaults\n mode http\n timeout connect 5s\n timeout client 30s\n timeout server 30s\n" +
		" timeout http-keep-alive 30s\n option http-keep-alive\n http-reuse always\n" +
		"frontend fe_rules\n bind 127.0.0.1:" + strconv.Itoa(rulesPort) + "\n" +
		" acl p_static  path_beg /static/ /assets/ /images/\n" +
		" acl p_api     path_beg /api/ /graphql\n" +
		" acl p_media   path_end -i .jpg .jpeg .png .gif .webp .svg .ico .mp4\n" +
		" acl h_admin   hdr(host) -i admin.example.com admin.example.org\n" +
		" acl d_api     hdr_dom(host) -i api.example.net\n" +
		" acl p_item    path_reg ^/v[0-9]+/items/[0-9]+(/.*)?$\n" +
		" acl m_write   method POST PUT PATCH DELETE\n" +
		" acl c_beta    req.cook(beta) -m found\n" +
		" acl q_debug   url_param(debug) -m found\n" +
		" acl s_office  src 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16\n" +
		" http-request del-header X-Internal\n" +
		" http-request set-header X-Client %[src]\n" +
		" http-request deny deny_status 403 if h_admin !s_office\n" +
		" http-response set-header X-Bench-Rules 1\n" +
		" use_backend be_static if p_static || p_media\n" +
		" use_backend be_api    if p_api || p_item || d_api m_write\n" +
		" use_backend be_beta   if c_beta\n" +
		" use_backend be_admin  if h_admin\n" +
		" use_backend be_static if q_debug s_office\n" +
		" use_backend %[req.hdr(host),lower,map(" + mapFile + ",be_http)]\n" +
		" default_backend be_http\n" +
		"frontend fe_plain\n bind 127.0.0.1:" + strconv.Itoa(plainPort) + "\n default_backend be_http\n" +
		"backend be_http\n balance roundrobin\n server s1 " + s1 + "\n server s2 " + s2 + "\n" +
		"backend be_static\n server s1 " + s1 + "\n" +
		"backend be_api\n balance roundrobin\n server s1 " + s1 + "\n server s2 " + s2 + "\n" +
		"backend be_beta\n server s2 " + s2 + "\n" +
		"backend be_admin\n server s2 " + s2 + "\n"
}

// benchRulesRequest is the request wrk sends in the bench's rules scenario.
var benchRulesRequest = []byte("GET /small HTTP/1.1\r\nHost: www.example.com\r\n\r\n")

// TestBenchRulesRequestAllocs: the bench's rules frontend allocates
// nothing per keep-alive request.
func TestBenchRulesRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	port := freeLocalPort(t)
	startRuntime(t, benchRulesConfig(t, rawBackend(t), rawBackend(t), port, freeLocalPort(t)))
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 4096)
	for range 50 {
		roundTrip(t, c, benchRulesRequest, buf)
	}
	allocs := testing.AllocsPerRun(2000, func() { roundTrip(t, c, benchRulesRequest, buf) })
	if allocs >= 0.5 {
		t.Fatalf("%.2f allocations per keep-alive request on the bench's rules frontend, want 0", allocs)
	}
}

// BenchmarkBenchRulesPhases measures the rule work of one request of the
// bench's rules scenario without any I/O: the request phases (ACLs,
// header edits, use_backend), the rewritten request head, the response
// rules and the rewritten response head (a keep-alive exchange with
// nothing to rewrite forwards both heads as they came). "plain" is the same request
// through a frontend without rules; rules minus plain is what the rules
// cost.
func BenchmarkBenchRulesPhases(b *testing.B) {
	cfg, rt := ioFreeRuntime(b, benchRulesConfig(b, 1, 2, 3, 4))
	backends := rt.backends
	const resp = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 05 Dec 2026 23:23:05 GMT\r\n" +
		"Content-Type: text/plain\r\nContent-Length: 100\r\nConnection: keep-alive\r\n\r\n"
	for _, name := range []string{"rules", "plain"} {
		b.Run(name, func(b *testing.B) {
			fe := &Frontend{P: cfg.Proxy("fe_" + name), rt: rt, name: []byte("fe_" + name), backend: backends["be_http"]}
			fe.setRules(rt)
			s := &httpSession{fe: fe, tx: new(txnState)}
			s.clientIP = netip.MustParseAddr("127.0.0.1")
			s.clientPort = 40000
			s.buf = append([]byte(nil), benchRulesRequest...)
			s.w = len(s.buf)
			rbuf := []byte(resp)
			s.sbuf = rbuf
			srv := &Server{backend: backends["be_http"]}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := http1.ParseRequest(s.buf, &s.req); err != nil {
					b.Fatal(err)
				}
				be, answered, _ := s.requestPhases()
				if answered || be != backends["be_http"] {
					b.Fatal("answered or not be_http")
				}
				s.requestHead(0, s.req.HeadLen, be, nil, true, false)
				if _, err := http1.ParseResponse(rbuf, &s.resp); err != nil {
					b.Fatal(err)
				}
				if fe.phases.Rules {
					if r := s.responseRules(be); r != nil {
						b.Fatal("response answered")
					}
				}
				s.responseHead(srv, true, false, false)
			}
		})
	}
}
