package fcgi

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/http1"
)

// fakeApp is the application's side of a Conn: what the proxy wrote, and
// the records it answers with, read in pieces of at most chunk bytes.
type fakeApp struct {
	written bytes.Buffer
	answer  []byte
	chunk   int
}

func (f *fakeApp) Read(p []byte) (int, error) {
	if len(f.answer) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(f.answer), max(f.chunk, 1))
	copy(p, f.answer[:n])
	f.answer = f.answer[n:]
	return n, nil
}
func (f *fakeApp) Write(p []byte) (int, error)        { return f.written.Write(p) }
func (f *fakeApp) Close() error                       { return nil }
func (f *fakeApp) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (f *fakeApp) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (f *fakeApp) SetDeadline(t time.Time) error      { return nil }
func (f *fakeApp) SetReadDeadline(t time.Time) error  { return nil }
func (f *fakeApp) SetWriteDeadline(t time.Time) error { return nil }

// stdout is a response of the application: its CGI output as FCGI_STDOUT
// records of at most split bytes, then FCGI_END_REQUEST.
func stdout(cgi string, split int) []byte {
	var b []byte
	for len(cgi) > 0 {
		n := min(len(cgi), split)
		b = AppendRecords(b, TypeStdout, requestID, []byte(cgi[:n]))
		cgi = cgi[n:]
	}
	b = AppendHeader(b, TypeStdout, requestID, 0)
	b = AppendHeader(b, TypeEndRequest, requestID, 8)
	return append(b, 0, 0, 0, 0, RequestComplete, 0, 0, 0)
}

// readResponse reads the converted response and checks it is one HTTP/1.1
// response, framed so that a keep-alive client finds its end.
func readResponse(t testing.TB, fc *Conn) string {
	var out []byte
	buf := make([]byte, 7)
	for {
		n, err := fc.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	return string(out)
}

func exchange(t *testing.T, app *App, req, cgi string, split int) (sent []byte, resp string) {
	t.Helper()
	fa := &fakeApp{answer: stdout(cgi, split), chunk: 5}
	fc := NewConn(fa, nil, app)
	if _, err := fc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	return fa.written.Bytes(), readResponse(t, fc)
}

var testApp = &App{DocRoot: "/srv", Index: "index.php", KeepConn: true, Reason: func(int) string { return "Reason" }}

func TestResponseConversion(t *testing.T) {
	for _, c := range []struct{ name, req, cgi, want string }{
		{"no status", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "Content-Type: text/plain\r\n\r\nhi",
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"},
		{"status, LF lines", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "Status: 404 Not Found\nX: y\n\nnope",
			"HTTP/1.1 404 Not Found\r\nX: y\r\nContent-Length: 4\r\n\r\nnope"},
		{"status without reason", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "Status: 418\r\n\r\n",
			"HTTP/1.1 418 Reason\r\nContent-Length: 0\r\n\r\n"},
		{"location after status", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "Status: 404 Not Found\r\nLocation: /x\r\n\r\n",
			"HTTP/1.1 302 Moved Temporarily\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"},
		{"status after location", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "Location: /x\r\nStatus: 301 Moved\r\n\r\n",
			"HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"},
		{"no interim status", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "Status: 101 Switching\r\n\r\n", ""},
		{"application's length", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "Content-Length: 3\r\n\r\nabc",
			"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"},
		{"HEAD", "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", "Content-Type: a\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: a\r\n\r\n"},
		{"HTTP/1.0", "GET / HTTP/1.0\r\nHost: h\r\n\r\n", "\r\nbody",
			"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nbody"},
		{"long body chunked", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "A: b\r\n\r\n" + strings.Repeat("z", respLimit+1),
			"HTTP/1.1 200 OK\r\nA: b\r\nTransfer-Encoding: chunked\r\n\r\n3c01\r\n" + strings.Repeat("z", respLimit+1) + "\r\n0\r\n\r\n"},
		{"long body, HTTP/1.0", "GET / HTTP/1.0\r\nHost: h\r\n\r\n", "A: b\r\n\r\n" + strings.Repeat("z", respLimit+1),
			"HTTP/1.0 200 OK\r\nA: b\r\nConnection: close\r\n\r\n" + strings.Repeat("z", respLimit+1)},
	} {
		for _, split := range []int{1, 3, 1 << 20} {
			_, got := exchange(t, testApp, c.req, c.cgi, split)
			if got != c.want {
				t.Errorf("%s (records of %d bytes):\n got %q\nwant %q", c.name, split, got, c.want)
			}
		}
	}
}

// params decodes the FCGI_PARAMS stream of what the proxy sent.
func params(t *testing.T, sent []byte) (names []string, vals map[string]string, stdin string, keep bool) {
	t.Helper()
	vals = map[string]string{}
	var stream []byte
	for len(sent) > 0 {
		h, content, n, err := ParseRecord(sent)
		if err != nil || n == 0 {
			t.Fatalf("bad records: %v %q", err, sent)
		}
		switch h.Type {
		case TypeBeginRequest:
			keep = content[2]&flagKeepConn != 0
		case TypeParams:
			stream = append(stream, content...)
		case TypeStdin:
			stdin += string(content)
		}
		sent = sent[n:]
	}
	for len(stream) > 0 {
		n, v, rest, err := NextPair(stream)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, string(n))
		vals[string(n)] = string(v)
		stream = rest
	}
	return names, vals, stdin, keep
}

func TestRequestParams(t *testing.T) {
	re := regexpMatcher(`^(/.+\.php)(/.*)?$`)
	app := &App{DocRoot: "/srv", Index: "index.php", PathInfo: re, KeepConn: true}
	fa := &fakeApp{answer: stdout("\r\n", 10)}
	fc := NewConn(fa, nil, app)
	fc.Req = Request{Params: []Param{{"REDIRECT_STATUS", []byte("200")}, {"X_A", []byte("1")}, {"X_A", []byte("2")}, {"EMPTY", nil}},
		Hidden: []string{"authorization", "connection", "transfer-encoding"}}
	req := "POST /a%20b.php/more/info?q=1 HTTP/1.1\r\nHost: ex.org\r\nX-Long-Name: v\r\nAuthorization: secret\r\nConnection: keep-alive\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
	if _, err := fc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	if _, err := fc.Write([]byte("6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_, vals, stdin, keep := params(t, fa.written.Bytes())
	want := map[string]string{
		"HTTP_HOST": "ex.org", "HTTP_X_LONG_NAME": "v", "CONTENT_TYPE": "text/plain", "REDIRECT_STATUS": "200", "X_A": "2",
		"GATEWAY_INTERFACE": "CGI/1.1", "DOCUMENT_ROOT": "/srv", "SCRIPT_NAME": "/a b.php", "PATH_INFO": "/more/info",
		"REQUEST_URI": "/a%20b.php/more/info?q=1", "REQUEST_METHOD": "POST", "QUERY_STRING": "q=1", "SERVER_NAME": "ex.org",
		"SERVER_PORT": "0", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_PORT": "0", "SCRIPT_FILENAME": "/srv/a b.php",
		"PATH_TRANSLATED": "/srv/more/info", "CONTENT_LENGTH": "11", "SERVER_SOFTWARE": Software,
	}
	for k, v := range want {
		if vals[k] != v {
			t.Errorf("%s = %q, want %q", k, vals[k], v)
		}
	}
	for _, k := range []string{"HTTP_AUTHORIZATION", "HTTP_CONNECTION", "HTTP_TRANSFER_ENCODING", "EMPTY", "HTTPS", "REMOTE_ADDR"} {
		if v, ok := vals[k]; ok {
			t.Errorf("%s = %q sent, want none", k, v)
		}
	}
	if stdin != "hello world" || !keep {
		t.Errorf("stdin %q keep-conn %v", stdin, keep)
	}
}

func TestIndexAndSetScriptName(t *testing.T) {
	sent, _ := exchange(t, testApp, "GET /dir/ HTTP/1.1\r\nHost: h\r\n\r\n", "\r\n", 10)
	_, vals, _, _ := params(t, sent)
	if vals["SCRIPT_NAME"] != "/dir/index.php" || vals["SCRIPT_FILENAME"] != "/srv/dir/index.php" || vals["CONTENT_LENGTH"] != "0" {
		t.Errorf("%v", vals)
	}
	fa := &fakeApp{answer: stdout("\r\n", 10)}
	fc := NewConn(fa, nil, testApp)
	fc.Req.Params = []Param{{"SCRIPT_NAME", []byte("/front.php")}}
	fc.Write([]byte("GET /x/y HTTP/1.1\r\nHost: h\r\n\r\n"))
	if _, vals, _, _ := params(t, fa.written.Bytes()); vals["SCRIPT_NAME"] != "/front.php" || vals["SCRIPT_FILENAME"] != "/srv/front.php" {
		t.Errorf("set-param SCRIPT_NAME: %v", vals)
	}
}

// TestKeepConn: a kept connection carries a second exchange; stderr goes
// to the request's function; a rejected request is an error.
func TestKeepConnAndStderr(t *testing.T) {
	second := stdout("\r\ntwo", 100)
	errRec := AppendRecords(nil, TypeStderr, requestID, []byte("oops"))
	// an answer to FCGI_GET_VALUES (request id 0) is skipped
	values := AppendPair(nil, "FCGI_MPXS_CONNS", "0")
	errRec = append(append(AppendHeader(nil, TypeGetValuesResult, 0, len(values)), values...), errRec...)
	fa := &fakeApp{answer: append(append(errRec, stdout("\r\none", 100)...), second...), chunk: 1 << 20}
	fc := NewConn(fa, nil, testApp)
	var logged []string
	fc.Req.Stderr = func(b []byte) { logged = append(logged, string(b)) }
	for _, want := range []string{"one", "two"} {
		fc.Write([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
		buf := make([]byte, 1000)
		var got []byte
		for {
			n, err := fc.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil || bytes.HasSuffix(got, []byte(want)) {
				break
			}
		}
		if !bytes.HasSuffix(got, []byte("Content-Length: 3\r\n\r\n"+want)) {
			t.Errorf("exchange %s: %q", want, got)
		}
	}
	if len(logged) != 1 || logged[0] != "oops" {
		t.Errorf("stderr: %q", logged)
	}
	rej := AppendHeader(nil, TypeEndRequest, requestID, 8)
	fa = &fakeApp{answer: append(rej, 0, 0, 0, 0, Overloaded, 0, 0, 0)}
	fc = NewConn(fa, nil, testApp)
	fc.Write([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
	if _, err := fc.Read(make([]byte, 10)); err != ErrRejected {
		t.Errorf("overloaded: %v", err)
	}
}

func TestPairs(t *testing.T) {
	long := strings.Repeat("v", 300)
	b := AppendPair(nil, "A", long)
	b = AppendPair(b, strings.Repeat("n", 128), "")
	n, v, rest, err := NextPair(b)
	if err != nil || string(n) != "A" || string(v) != long {
		t.Fatal(n, err)
	}
	n, v, rest, err = NextPair(rest)
	if err != nil || len(n) != 128 || len(v) != 0 || len(rest) != 0 {
		t.Fatal(len(n), err)
	}
	if _, _, _, err := NextPair([]byte{0x80, 0, 0}); err == nil {
		t.Error("truncated length accepted")
	}
}

// FuzzRecords: the record and name-value pair parsers never read past
// their input, and what they parse encodes back to the same bytes.
func FuzzRecords(f *testing.F) {
	f.Add(stdout("Status: 200\r\n\r\nhi", 4))
	f.Add(AppendPair(AppendHeader(nil, TypeGetValuesResult, 0, 0), "FCGI_MAX_REQS", "1"))
	f.Add([]byte{1, 6, 0, 1, 0xff, 0xff, 0xff, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			h, content, n, err := ParseRecord(b)
			if err != nil || n == 0 {
				return
			}
			if n > len(b) || len(content) != int(h.ContentLn) {
				t.Fatalf("record of %d bytes in %d", n, len(b))
			}
			if re := AppendHeader(nil, h.Type, h.ID, len(content)); !bytes.Equal(re[:6], b[:6]) {
				t.Fatalf("header %x re-encoded %x", b[:6], re[:6])
			}
			for p := content; len(p) > 0; {
				name, value, rest, err := NextPair(p)
				if err != nil {
					break
				}
				if len(rest) >= len(p) {
					t.Fatal("no progress")
				}
				if re := AppendPairBytes(nil, name, value); len(re) > len(p)-len(rest) {
					t.Fatalf("pair of %d bytes re-encoded in %d", len(p)-len(rest), len(re))
				}
				p = rest
			}
			b = b[n:]
		}
	})
}

// FuzzResponse: whatever the application answers, Conn returns either an
// error or one HTTP/1.1 response the pipeline's parser accepts, whose
// framing ends where the converted bytes end.
func FuzzResponse(f *testing.F) {
	f.Add([]byte("Status: 404 Not Found\r\nLocation: /x\r\n\r\nbody"), 3, false)
	f.Add([]byte("Content-Length: 2\r\n\r\nok"), 100, true)
	f.Add([]byte("X: y\n\n"+strings.Repeat("a", 100)), 7, false)
	f.Add([]byte("Status: 204\r\n\r\n"), 1, true)
	f.Fuzz(func(t *testing.T, cgi []byte, split int, head bool) {
		if split <= 0 || split > 1<<16 {
			split = 1 << 16
		}
		fa := &fakeApp{answer: stdout(string(cgi), split), chunk: 13}
		fc := NewConn(fa, nil, &App{DocRoot: "/", KeepConn: true})
		req := "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
		if head {
			req = "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n"
		}
		if _, err := fc.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		var out []byte
		buf := make([]byte, 512)
		var rerr error
		for {
			n, err := fc.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				rerr = err
				break
			}
		}
		if rerr != io.EOF {
			return // refused: the pipeline answers 502
		}
		var resp http1.Response
		hn, err := http1.ParseResponse(out, &resp)
		if err != nil {
			// a field the HTTP/1 parser refuses is refused there too (502)
			return
		}
		body := out[hn:]
		switch resp.BodyFraming(head) {
		case http1.FramingNone:
			if len(body) != 0 && !head {
				t.Fatalf("%d bytes after a bodyless response: %q", len(body), out)
			}
		case http1.FramingLength:
			if int64(len(body)) != resp.ContentLength && !(resp.ContentLength >= 0 && bytes.Contains(cgi, []byte("ength"))) {
				t.Fatalf("Content-Length %d, body %d: %q", resp.ContentLength, len(body), out)
			}
		case http1.FramingChunked:
			var cs http1.ChunkScanner
			n, done, err := cs.Scan(body)
			if err != nil && !bytes.Contains(cgi, []byte("ncoding")) {
				t.Fatalf("chunked body: %v %q", err, out)
			}
			if err == nil && (!done || n != len(body)) && !bytes.Contains(cgi, []byte("ncoding")) {
				t.Fatalf("chunked body ends at %d of %d (done %v): %q", n, len(body), done, out)
			}
		}
	})
}

type reMatcher struct{ re *regexp.Regexp }

func (m reMatcher) FindSubmatchIndex(b []byte) []int { return m.re.FindSubmatchIndex(b) }

func regexpMatcher(s string) Matcher { return reMatcher{regexp.MustCompile(s)} }

// TestKeptConnAllocs: a request and its response on a kept connection
// allocate nothing once its buffers have grown, but the match indexes of
// path-info's regular expression.
func TestKeptConnAllocs(t *testing.T) {
	app := &App{DocRoot: "/srv", Index: "index.php", KeepConn: true, Reason: func(int) string { return "Reason" }, Now: time.Now}
	keptConnAllocs(t, app, 0)
	app.PathInfo = regexpMatcher(`^(/.+\.php)(/.*)?$`)
	keptConnAllocs(t, app, 1)
}

func keptConnAllocs(t *testing.T, app *App, want float64) {
	answer := stdout("Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\n"+strings.Repeat("b", 3000), 1000)
	fa := &fakeApp{chunk: 1 << 20}
	fc := NewConn(fa, nil, app)
	fc.Req = Request{Remote: netip.MustParseAddrPort("192.0.2.1:4321"), Local: netip.MustParseAddrPort("[::ffff:192.0.2.2]:80"),
		Params: []Param{{"REDIRECT_STATUS", []byte("200")}}, Hidden: []string{"connection"}}
	req := []byte("GET /a%20b.php/x?q=1 HTTP/1.1\r\nHost: ex.org\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n")
	buf := make([]byte, 16<<10)
	run := func() {
		fa.written.Reset()
		fa.answer = answer
		if _, err := fc.Write(req); err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := fc.Read(buf); err != nil {
				break
			}
		}
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != want {
		t.Errorf("%v allocations per exchange, want %v", n, want)
	}
}

// TestChunkedGatherBound: a chunked body is held to be counted, up to
// maxGathered.
func TestChunkedGatherBound(t *testing.T) {
	fa := &fakeApp{}
	fc := NewConn(fa, nil, testApp)
	if _, err := fc.Write([]byte("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	chunk := []byte("10000\r\n" + strings.Repeat("a", 0x10000) + "\r\n")
	var err error
	for i := 0; i < maxGathered/0x10000+1 && err == nil; i++ {
		if fa.written.Len() != 0 {
			t.Fatal("records sent before the body's end")
		}
		_, err = fc.Write(chunk)
	}
	if err != ErrProtocol {
		t.Errorf("a body over %d bytes: %v", maxGathered, err)
	}
}
