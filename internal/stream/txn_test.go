package stream

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"dhproxy/internal/acl"
	"dhproxy/internal/config"
	"dhproxy/internal/http1"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
	"dhproxy/internal/txn"
)

// TestRequestEdits applies request rules to a parsed request and checks
// the head the server would receive.
func TestRequestEdits(t *testing.T) {
	const head = "GET /api/users?id=7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\n\r\n"
	for _, c := range []struct {
		rules []string
		want  string
	}{
		{nil, head},
		{[]string{"set-header X-Client %[src]"}, "GET /api/users?id=7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\nx-client: 192.0.2.1\r\n\r\n"},
		{[]string{"set-header X-Tag %[hdr(x-tag,1)]%[hdr(x-tag,2)]"}, "GET /api/users?id=7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Session: id=abc; other=1\r\nx-tag: ab\r\n\r\n"},
		{[]string{"add-header X-Tag c"}, "GET /api/users?id=7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\nx-tag: c\r\n\r\n"},
		{[]string{"del-header x-tag", "del-header user-agent"}, "GET /api/users?id=7 HTTP/1.1\r\nHost: Shop.Example\r\nX-Session: id=abc; other=1\r\n\r\n"},
		{[]string{"replace-header X-Session ^id=([a-z]+);.*$ sid=\\1;ip=%[src]"}, "GET /api/users?id=7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: sid=abc;ip=192.0.2.1\r\nX-Tag: b\r\n\r\n"},
		{[]string{"replace-header X-Tag ^z$ y"}, head},
		{[]string{"set-path /v2%[path]"}, "GET /v2/api/users?id=7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\n\r\n"},
		{[]string{"set-header Host %[hdr(host),lower]", "set-path %[path,regsub(^/api,)]"}, "GET /users?id=7 HTTP/1.1\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\nhost: shop.example\r\n\r\n"},
		{[]string{"set-header X-A 1 if { path_beg /web }", "set-header X-B 2 unless { path_beg /web }"}, "GET /api/users?id=7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\nx-b: 2\r\n\r\n"},
		{[]string{"set-pathq /new?a=b"}, "GET /new?a=b HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\n\r\n"},
		{[]string{"set-query q=%[url_param(id)]"}, "GET /api/users?q=7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\n\r\n"},
		{[]string{"set-uri /x"}, "GET /x HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\n\r\n"},
		{[]string{"set-method POST"}, "POST /api/users?id=7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\n\r\n"},
		{[]string{"replace-path ^/api/(.*) /v2/\\1"}, "GET /v2/users?id=7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\n\r\n"},
		{[]string{"replace-path ^/web/(.*) /\\1"}, head},
		{[]string{"replace-pathq ^/api/users\\?id=([0-9]+) /u/\\1"}, "GET /u/7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\n\r\n"},
		{[]string{"replace-uri ^(.*)$ \\1&x=1"}, "GET /api/users?id=7&x=1 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\n\r\n"},
		// literal text around samples whose converters write to the scratch
		{[]string{"set-header X-H h-%[hdr(host),lower]-%[hdr(host),upper]-%[path,field(2,/)]."}, "GET /api/users?id=7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\nx-h: h-shop.example-SHOP.EXAMPLE-api.\r\n\r\n"},
		{[]string{"set-path /p-%[path,upper]"}, "GET /p-/API/USERS?id=7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\n\r\n"},
		{[]string{"set-header X-A 1", "allow", "set-header X-B 2"}, "GET /api/users?id=7 HTTP/1.1\r\nHost: Shop.Example\r\nUser-Agent: curl\r\nX-Tag: a\r\nX-Session: id=abc; other=1\r\nX-Tag: b\r\nx-a: 1\r\n\r\n"},
	} {
		p := &model.Proxy{Name: "fe", Cap: model.CapFE | model.CapBE}
		comp := &sample.Compiler{}
		var set acl.Set
		for _, line := range c.rules {
			r, _, err := rules.ParseHTTP(comp, &set, strings.Fields(line), false, "test")
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			p.HTTPRequestRules = append(p.HTTPRequestRules, r)
		}
		be := &Backend{P: p, name: []byte("fe")}
		rt := &Runtime{}
		rt.bufs.Size = 16384 // rewrites are bounded by tune.bufsize
		s := &httpSession{fe: &Frontend{P: p, rt: rt, name: []byte("fe"), backend: be, phases: txn.Frontend{P: p, Rules: true}}, tx: new(txnState)}
		s.clientIP = netip.MustParseAddr("192.0.2.1")
		s.buf = []byte(head)
		s.w = len(s.buf)
		if _, err := http1.ParseRequest(s.buf, &s.req); err != nil {
			t.Fatal(err)
		}
		s.tx.begin()
		if answered, _ := s.tx.Request(s, p); answered {
			t.Fatalf("%v answered", c.rules)
		}
		got := s.requestHead(0, s.req.HeadLen, be, nil, true, false)
		if got == nil {
			got = s.buf[:s.req.HeadLen]
		}
		if string(got) != c.want {
			t.Errorf("%v:\n got %q\nwant %q", c.rules, got, c.want)
		}
	}
}

// The sizes HAProxy 2.6 logs for its own replies.
func TestReplyHTXSize(t *testing.T) {
	for _, c := range []struct {
		status int
		want   int64
	}{{403, 192}, {503, 217}} {
		var out []byte
		out = rules.ErrorReply(c.status).Append(out, nil, nil, nil, true, false)
		if got := replyHTXSize(out); got != c.want {
			t.Errorf("%d page: %d, want %d", c.status, got, c.want)
		}
	}
}

// BenchmarkRuleEngine measures the request phases of the bench "rules"
// shape alone (10 ACLs, a map lookup, 2 header rewrites, use_backend)
// and the rewritten head, without any I/O.
func BenchmarkRuleEngine(b *testing.B) {
	cfgText, _ := rulesConfig(b)
	cfg, rt := ioFreeRuntime(b, cfgText)
	fe := &Frontend{P: cfg.Proxy("fe"), rt: rt, name: []byte("fe"), backend: rt.backends["be_a"]}
	fe.setRules(rt)
	s := &httpSession{fe: fe, tx: new(txnState)}
	s.clientIP = netip.MustParseAddr("192.0.2.1")
	s.buf = []byte("GET /small?x=1 HTTP/1.1\r\nHost: Bench\r\nUser-Agent: test\r\nCookie: a=b\r\n\r\n")
	s.w = len(s.buf)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := http1.ParseRequest(s.buf, &s.req); err != nil {
			b.Fatal(err)
		}
		be, answered, _ := s.requestPhases()
		if answered || be == nil {
			b.Fatal("answered or no backend")
		}
		s.requestHead(0, s.req.HeadLen, be, nil, true, false)
	}
}

// ioFreeRuntime builds cfgText into a Runtime that holds only its backends
// and buffer size: enough to run a request's phases without any I/O.
func ioFreeRuntime(b testing.TB, cfgText string) (*model.Config, *Runtime) {
	path := filepath.Join(b.TempDir(), "test.cfg")
	if err := writeFile(path, cfgText); err != nil {
		b.Fatal(err)
	}
	var d config.Diags
	cfg := model.Build(config.Load([]string{path}, nil, &d), &d)
	if cfg == nil {
		b.Fatal("config refused")
	}
	backends := map[string]*Backend{}
	for _, p := range cfg.Proxies {
		if p.IsBackend() {
			backends[p.Name] = &Backend{P: p, name: []byte(p.Name)}
		}
	}
	rt := &Runtime{backends: backends}
	rt.bufs.Size = 16384 // rewrites are bounded by tune.bufsize
	return cfg, rt
}
