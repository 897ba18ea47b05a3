package logging

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// HAProxy prints dates in the process's local zone; pin it so the golden
// lines below (captured from haproxy 2.6.12 running with TZ=UTC) hold on
// any machine. Tests that need another zone set time.Local themselves.
func TestMain(m *testing.M) {
	time.Local = time.UTC
	os.Exit(m.Run())
}

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05.000000", s)
	if err != nil {
		panic(err)
	}
	return t
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func term(s string) (t [4]byte) {
	copy(t[:], s)
	return t
}

// httpEntry is the first request of a haproxy 2.6.12 run, which logged:
// 127.0.0.1:48224 [25/Nov/2026:10:35:38.954] http-in static/srv1 0/0/0/2/2 200 137 - - ---- 1/1/0/0/0 0/0 "GET /index.html HTTP/1.1"
func httpEntry() *Entry {
	return &Entry{
		ClientIP: netip.MustParseAddr("127.0.0.1"), ClientPort: 48224,
		FrontendIP: netip.MustParseAddr("127.0.0.1"), FrontendPort: 18000,
		Accept:   at("2026-11-25 10:35:38.954321"),
		ReqStart: at("2026-11-25 10:35:38.954987"),
		Frontend: "http-in", Backend: "static", Server: "srv1",
		TR: 0, Tw: 0, Tc: 0, Tr: ms(2), Ta: ms(2) + 700*time.Microsecond, Tt: ms(2),
		Status: 200, BytesOut: 137, BytesIn: 78,
		Term:    term("----"),
		ActConn: 1, FeConn: 1,
		Method: []byte("GET"), URI: []byte("/index.html"), Proto: "HTTP/1.1",
		HTTP: true,
	}
}

func TestFormatHTTPGolden(t *testing.T) {
	cases := []struct {
		name string
		edit func(e *Entry)
		want string
	}{
		{"haproxy 2.6 capture", func(e *Entry) {},
			`127.0.0.1:48224 [25/Nov/2026:10:35:38.954] http-in static/srv1 0/0/0/2/2 200 137 - - ---- 1/1/0/0/0 0/0 "GET /index.html HTTP/1.1"`},
		// configuration.txt 8.2.3's example, whose {1wt.eu} {} captures dhproxy has not.
		{"doc 8.2.3 example", func(e *Entry) {
			e.ClientIP, e.ClientPort = netip.MustParseAddr("10.0.1.2"), 33317
			e.ReqStart = at("2009-02-06 12:14:14.655000")
			e.TR, e.Tw, e.Tc, e.Tr, e.Ta = ms(10), 0, ms(30), ms(69), ms(109)
			e.BytesOut = 2750
			e.BeConn, e.SrvConn = 1, 1
		}, `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1"`},
		{"denied: no backend, no server, steps not reached", func(e *Entry) {
			e.ClientPort = 34986
			e.ReqStart = at("2026-11-25 10:39:05.681200")
			e.Backend, e.Server = "", "<NOSRV>"
			e.TR, e.Tw, e.Tc, e.Tr, e.Ta = 0, -1, -1, -1, 0
			e.Status, e.BytesOut, e.Term = 403, 192, term("PR--")
			e.URI = []byte("/deny")
		}, `127.0.0.1:34986 [25/Nov/2026:10:39:05.681] http-in http-in/<NOSRV> 0/-1/-1/-1/0 403 192 - - PR-- 1/1/0/0/0 0/0 "GET /deny HTTP/1.1"`},
		{"bad request", func(e *Entry) {
			e.ClientPort = 48390
			e.ReqStart = at("2026-11-25 10:39:16.670000")
			e.Backend, e.Server = "", ""
			e.TR, e.Tw, e.Tc, e.Tr, e.Ta = -1, -1, -1, -1, 0
			e.Status, e.BytesOut, e.Term = 400, 0, term("CR--")
			e.Method, e.URI, e.Proto = nil, nil, ""
		}, `127.0.0.1:48390 [25/Nov/2026:10:39:16.670] http-in http-in/<NOSRV> -1/-1/-1/-1/0 400 0 - - CR-- 1/1/0/0/0 0/0 "<BADREQ>"`},
		{"retries, redispatch, queues", func(e *Entry) {
			e.Backend, e.Server = "dead", "d1"
			e.Tw, e.Tc, e.Tr, e.Ta = ms(2002), -1, -1, ms(2003)
			e.Status, e.BytesOut, e.Term = 503, 217, term("SC--")
			e.Retries, e.Redispatched = 2, true
			e.SrvQueue, e.BeQueue = 3, 4
		}, `127.0.0.1:48224 [25/Nov/2026:10:35:38.954] http-in dead/d1 0/2002/-1/-1/2003 503 217 - - SC-- 1/1/0/0/+2 3/4 "GET /index.html HTTP/1.1"`},
		{"IPv6 client", func(e *Entry) {
			e.ClientIP, e.ClientPort = netip.MustParseAddr("::1"), 41364
		}, `::1:41364 [25/Nov/2026:10:35:38.954] http-in static/srv1 0/0/0/2/2 200 137 - - ---- 1/1/0/0/0 0/0 "GET /index.html HTTP/1.1"`},
		{"IPv4-mapped client on a v6 listener", func(e *Entry) {
			e.ClientIP = netip.MustParseAddr("::ffff:10.0.0.1")
		}, `::ffff:10.0.0.1:48224 [25/Nov/2026:10:35:38.954] http-in static/srv1 0/0/0/2/2 200 137 - - ---- 1/1/0/0/0 0/0 "GET /index.html HTTP/1.1"`},
		{"unix socket client", func(e *Entry) {
			e.ClientIP, e.ClientPort = netip.Addr{}, 3
		}, `unix:3 [25/Nov/2026:10:35:38.954] http-in static/srv1 0/0/0/2/2 200 137 - - ---- 1/1/0/0/0 0/0 "GET /index.html HTTP/1.1"`},
		// haproxy 2.6 logged "GET /a%20b?x=1#22y HTTP/1.1" for curl's /a%20b?x=1"y.
		{"escaped request line", func(e *Entry) {
			e.URI = []byte("/a%20b?x=1\"y#z\x01\xc3\xa9{|}")
		}, `127.0.0.1:48224 [25/Nov/2026:10:35:38.954] http-in static/srv1 0/0/0/2/2 200 137 - - ---- 1/1/0/0/0 0/0 "GET /a%20b?x=1#22y#23z#01#C3#A9{|} HTTP/1.1"`},
		{"zero Term prints dashes, status -1", func(e *Entry) {
			e.Term, e.Status = [4]byte{}, -1
		}, `127.0.0.1:48224 [25/Nov/2026:10:35:38.954] http-in static/srv1 0/0/0/2/2 -1 137 - - ---- 1/1/0/0/0 0/0 "GET /index.html HTTP/1.1"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := httpEntry()
			c.edit(e)
			if got := string(FormatHTTP(nil, e)); got != c.want {
				t.Errorf("\ngot  %s\nwant %s", got, c.want)
			}
		})
	}
}

// A request line longer than 1023 bytes is cut there before encoding
// (haproxy 2.6 with "len 4096" logged 1023 bytes between the quotes, no
// version), and the result appended after what dst already holds.
func TestFormatHTTPLongRequestLine(t *testing.T) {
	e := httpEntry()
	e.URI = []byte("/" + strings.Repeat("a", 1100))
	got := string(FormatHTTP([]byte("prefix "), e))
	if !strings.HasPrefix(got, "prefix 127.0.0.1:48224 ") {
		t.Fatalf("dst not appended to: %.40q", got)
	}
	i := strings.IndexByte(got, '"')
	quoted := got[i+1 : len(got)-1]
	if len(quoted) != 1023 || !strings.HasPrefix(quoted, "GET /aaa") || !strings.HasSuffix(got, `aaaa"`) {
		t.Errorf("request line of %d bytes, ends %q", len(quoted), got[len(got)-12:])
	}
	// Escapes expand after the cut: 1023 raw bytes, 3 per escaped byte.
	e.URI = []byte("/" + strings.Repeat("\"", 1100))
	got = string(FormatHTTP(nil, e))
	i = strings.IndexByte(got, '"')
	if n := len(got[i+1:len(got)-1]) - len("GET /"); n != (1023-5)*3 {
		t.Errorf("escaped tail of %d bytes, want %d", n, (1023-5)*3)
	}
}

func TestFormatTCPGolden(t *testing.T) {
	e := &Entry{
		ClientIP: netip.MustParseAddr("127.0.0.1"), ClientPort: 33164,
		Accept:   at("2026-11-25 10:39:39.087654"),
		Frontend: "tcpf", Backend: "statict", Server: "srv1",
		Tw: 0, Tc: 0, Tt: ms(5), BytesOut: 138, Term: term("----"),
		ActConn: 1, FeConn: 1, Status: -1,
	}
	// haproxy 2.6.12 logged this stream, which never queued, with Tw=1.
	want := `127.0.0.1:33164 [25/Nov/2026:10:39:39.087] tcpf statict/srv1 1/0/5 138 -- 1/1/0/0/0 0/0`
	if got := string(FormatTCP(nil, e)); got != want {
		t.Errorf("\ngot  %s\nwant %s", got, want)
	}
	// And this one to a refused server (3 retries, never connected).
	e.ClientPort, e.Accept = 44646, at("2026-11-25 10:40:19.455000")
	e.Frontend, e.Backend, e.Server = "tcpg", "deadt", "d1"
	e.Tc, e.Tt, e.BytesOut, e.Term, e.Retries = -1, ms(3006), 0, term("SC--"), 3
	want = `127.0.0.1:44646 [25/Nov/2026:10:40:19.455] tcpg deadt/d1 1/-1/3006 0 SC 1/1/0/0/3 0/0`
	if got := string(FormatTCP(nil, e)); got != want {
		t.Errorf("\ngot  %s\nwant %s", got, want)
	}
	e.Tw, e.Server = -1, ""
	want = `127.0.0.1:44646 [25/Nov/2026:10:40:19.455] tcpg deadt/<NOSRV> -1/-1/3006 0 SC 1/1/0/0/3 0/0`
	if got := string(FormatTCP(nil, e)); got != want {
		t.Errorf("\ngot  %s\nwant %s", got, want)
	}
}

func TestFormatCLFGolden(t *testing.T) {
	e := httpEntry()
	e.ClientPort = 38254
	e.Accept = at("2026-11-25 10:39:39.064900")
	e.ReqStart = at("2026-11-25 10:39:39.065100")
	e.Frontend = "clf"
	e.URI = []byte("/clf?q=1")
	// haproxy 2.6.12, "option httplog clf"; note the trailing space.
	want := `127.0.0.1 - - [25/Nov/2026:10:39:39 +0000] "GET /clf?q=1 HTTP/1.1" 200 137 "" "" 38254 064 "clf" "static" "srv1" 0 0 0 2 2 ---- 1 1 0 0 0 0 0 "" "" `
	if got := string(FormatCLF(nil, e)); got != want {
		t.Errorf("\ngot  %q\nwant %q", got, want)
	}
	e.Backend, e.Server, e.Redispatched, e.Retries, e.Tw = "", "", true, 1, -1
	e.Method = nil
	want = `127.0.0.1 - - [25/Nov/2026:10:39:39 +0000] "<BADREQ>" 200 137 "" "" 38254 064 "clf" "clf" "<NOSRV>" 0 -1 0 2 2 ---- 1 1 0 0 +1 0 0 "" "" `
	if got := string(FormatCLF(nil, e)); got != want {
		t.Errorf("\ngot  %q\nwant %q", got, want)
	}
}

// %tr, %t and the rfc3164/iso headers follow the local zone; %trg is GMT.
func TestFormatLocalZone(t *testing.T) {
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = time.FixedZone("VET", -4*3600)
	e := httpEntry()
	if got := string(FormatHTTP(nil, e)); !strings.Contains(got, "[25/Nov/2026:06:35:38.954]") {
		t.Errorf("httplog date not local: %s", got)
	}
	if got := string(FormatTCP(nil, e)); !strings.Contains(got, "[25/Nov/2026:06:35:38.954]") {
		t.Errorf("tcplog date not local: %s", got)
	}
	if got := string(FormatCLF(nil, e)); !strings.Contains(got, "[25/Nov/2026:10:35:38 +0000]") {
		t.Errorf("clf date not GMT: %s", got)
	}
}

func TestFormatDefault(t *testing.T) {
	e := httpEntry()
	e.ClientPort, e.Frontend, e.FrontendPort = 34186, "plain", 18002
	if got, want := string(FormatDefault(nil, e)), "Connect from 127.0.0.1:34186 to 127.0.0.1:18002 (plain/HTTP)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e.HTTP = false
	e.ClientIP, e.FrontendIP = netip.MustParseAddr("::1"), netip.MustParseAddr("::1")
	if got, want := string(FormatDefault(nil, e)), "Connect from ::1:34186 to ::1:18002 (plain/TCP)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e.ClientIP, e.ClientPort = netip.Addr{}, 2
	if got, want := string(FormatDefault(nil, e)), "Connect to unix:2 (plain/TCP)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFormattersDoNotAllocate(t *testing.T) {
	e := httpEntry()
	e.ClientIP = netip.MustParseAddr("2001:db8::1")
	e.URI = []byte("/a\"b#c?" + strings.Repeat("x", 200))
	buf := make([]byte, 0, 4096)
	for name, f := range map[string]func([]byte, *Entry) []byte{
		"FormatHTTP": FormatHTTP, "FormatTCP": FormatTCP, "FormatCLF": FormatCLF, "FormatDefault": FormatDefault,
	} {
		if n := testing.AllocsPerRun(200, func() { buf = f(buf[:0], e) }); n != 0 {
			t.Errorf("%s: %v allocations per line", name, n)
		}
	}
}

func TestEntryErrorPolicy(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(e *Entry)
		isErr bool
	}{
		{"normal", func(e *Entry) {}, false},
		{"local termination", func(e *Entry) { e.Term = term("LR--") }, false},
		{"client abort", func(e *Entry) { e.Term = term("CD--") }, true},
		{"retried without error", func(e *Entry) { e.Retries = 1 }, true},
		{"redispatched", func(e *Entry) { e.Redispatched = true }, true},
		{"5xx in http", func(e *Entry) { e.Status = 502 }, true},
		{"4xx in http", func(e *Entry) { e.Status = 404 }, false},
		{"status ignored in tcp", func(e *Entry) { e.Status, e.HTTP = 502, false }, false},
	}
	for _, c := range cases {
		e := httpEntry()
		c.edit(e)
		if got := e.IsError(); got != c.isErr {
			t.Errorf("%s: IsError = %v", c.name, got)
		}
		wantLevel := LevelInfo
		if c.isErr {
			wantLevel = LevelErr
		}
		if got := TrafficLevel(e, true); got != wantLevel {
			t.Errorf("%s: level %v with log-separate-errors", c.name, got)
		}
		if got := TrafficLevel(e, false); got != LevelInfo {
			t.Errorf("%s: level %v without log-separate-errors", c.name, got)
		}
		if got := ShouldLog(e, false, true); got != c.isErr {
			t.Errorf("%s: dontlog-normal logs=%v", c.name, got)
		}
	}
	e := httpEntry()
	if !ShouldLog(e, true, false) {
		t.Error("dontlognull dropped a request that sent bytes")
	}
	e.BytesIn = 0
	if ShouldLog(e, true, false) || !ShouldLog(e, false, false) {
		t.Error("dontlognull must drop exactly the connections that sent nothing")
	}
}

// The byte counts haproxy 2.6.12 logged (%U, %B) for real messages.
func TestHTXSizeMatchesHAProxy(t *testing.T) {
	b := func(s string) []byte { return []byte(s) }
	// curl -H "X-A: 12345" http://127.0.0.1:18000/x logged %U = 91.
	var get HTXSize
	get.StartLine(b("GET"), b("/x"), b("HTTP/1.1"))
	for _, h := range [][2]string{{"Host", "127.0.0.1:18000"}, {"User-Agent", "curl/7.88.1"}, {"Accept", "*/*"}, {"X-A", "12345"}} {
		get.Header(b(h[0]), b(h[1]))
	}
	get.EndOfHeaders()
	if get != 91 {
		t.Errorf("GET counted %d, haproxy 91", get)
	}
	// The same with -H "Transfer-Encoding: chunked" --data-binary 0123456789: %U = 164.
	var post HTXSize
	post.StartLine(b("POST"), b("/c"), b("HTTP/1.1"))
	for _, h := range [][2]string{{"Host", "127.0.0.1:18000"}, {"User-Agent", "curl/7.88.1"}, {"Accept", "*/*"}, {"Transfer-Encoding", "chunked"}, {"Content-Type", "application/x-www-form-urlencoded"}} {
		post.Header(b(h[0]), b(h[1]))
	}
	post.EndOfHeaders()
	post.Data(10)
	post.EndOfTrailers()
	if post != 164 {
		t.Errorf("chunked POST counted %d, haproxy 164", post)
	}
	// HAProxy's 503 page: %B = 217.
	var page HTXSize
	page.StartLine(b("HTTP/1.1"), b("503"), b("Service Unavailable"))
	page.Header(b("content-length"), b("107"))
	page.Header(b("cache-control"), b("no-cache"))
	page.Header(b("content-type"), b("text/html"))
	page.EndOfHeaders()
	page.Data(107)
	if page != 217 {
		t.Errorf("503 page counted %d, haproxy 217", page)
	}
	// A chunked response with a trailer, %B = 148.
	var res HTXSize
	res.StartLine(b("HTTP/1.1"), b("200"), b("OK"))
	for _, h := range [][2]string{{"server", "BaseHTTP/0.6 Python/3.11.7"}, {"date", "Wed, 25 Nov 2026 10:49:42 GMT"}, {"transfer-encoding", "chunked"}, {"trailer", "X-T"}} {
		res.Header(b(h[0]), b(h[1]))
	}
	res.EndOfHeaders()
	res.Data(5)
	res.Data(3)
	res.Trailer(b("x-t"), b("yes"))
	res.EndOfTrailers()
	if res != 148 {
		t.Errorf("chunked response with trailer counted %d, haproxy 148", res)
	}
}

// Cookie and header captures in httplog and httplog clf, as haproxy
// 2.6.12 writes them (capture cookie SESS len 12, capture request header
// Host len 20, User-Agent len 5 absent, capture response header
// Content-Type len 20).
func TestFormatCaptures(t *testing.T) {
	e := httpEntry()
	e.ClientPort = 38254
	e.Accept = at("2026-11-25 10:39:39.064900")
	e.ReqStart = at("2026-11-25 10:39:39.065100")
	e.Frontend = "clf"
	e.URI = []byte("/a")
	e.CookieReq, e.CookieRes = []byte("SESSION=abcd"), []byte(`SESSX="q#"`)
	e.ReqCaps, e.ResCaps = [][]byte{[]byte("h.example"), nil}, [][]byte{[]byte("text/plain")}
	want := `127.0.0.1 - - [25/Nov/2026:10:39:39 +0000] "GET /a HTTP/1.1" 200 137 "" "" 38254 064 "clf" "static" "srv1" 0 0 0 2 2 ---- 1 1 0 0 0 0 0 "SESSION=abcd" "SESSX="q#"" "h.example" "" "text/plain"`
	if got := string(FormatCLF(nil, e)); got != want {
		t.Errorf("clf:\ngot  %q\nwant %q", got, want)
	}
	if got := string(FormatHTTP(nil, e)); !strings.Contains(got, ` 200 137 SESSION=abcd SESSX="q#" ---- `) || !strings.Contains(got, `{h.example|} {text/plain} "GET /a HTTP/1.1"`) {
		t.Errorf("httplog: %q", got)
	}
	e.CookieReq = nil
	if got := string(FormatHTTP(nil, e)); !strings.Contains(got, ` 200 137 - SESSX="q#" ---- `) {
		t.Errorf("httplog without a request cookie: %q", got)
	}
}
