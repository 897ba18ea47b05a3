package compression

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http/httputil"
	"strings"
	"testing"

	"dhproxy/internal/http1"
)

func hdrs(kv ...string) []http1.Header {
	var hs []http1.Header
	for i := 0; i < len(kv); i += 2 {
		hs = append(hs, http1.Header{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return hs
}

func TestChoose(t *testing.T) {
	gz := []Algo{Gzip}
	both := []Algo{Gzip, RawDeflate}
	for _, c := range []struct {
		name  string
		algos []Algo
		h     []http1.Header
		want  Algo
		from  bool // chosen from Accept-Encoding
	}{
		{"none configured", nil, hdrs("Accept-Encoding", "gzip"), None, false},
		{"no header", gz, nil, None, false},
		{"gzip", gz, hdrs("Accept-Encoding", "gzip, deflate, br"), Gzip, true},
		{"case", gz, hdrs("accept-encoding", "GZip"), Gzip, true},
		{"not offered", gz, hdrs("Accept-Encoding", "br, deflate"), None, false},
		{"q=0 refuses", gz, hdrs("Accept-Encoding", "gzip;q=0"), None, false},
		{"q=0.000 refuses", gz, hdrs("Accept-Encoding", "gzip; q=0.000"), None, false},
		{"higher q wins", both, hdrs("Accept-Encoding", "gzip;q=0.5, deflate;q=0.8"), RawDeflate, true},
		{"first on a tie", both, hdrs("Accept-Encoding", "deflate, gzip"), RawDeflate, true},
		{"two headers", both, hdrs("Accept-Encoding", "br", "Accept-Encoding", "gzip"), Gzip, true},
		{"star takes the last configured", both, hdrs("Accept-Encoding", "*"), RawDeflate, true},
		{"other params", gz, hdrs("Accept-Encoding", "gzip;level=1;q=0"), None, false},
		{"prefix is not a match", gz, hdrs("Accept-Encoding", "gzipx, x-gzip"), None, false},
		{"identity without header", []Algo{Identity}, nil, Identity, false},
		{"identity fallback", []Algo{Gzip, Identity}, hdrs("Accept-Encoding", "br"), Identity, false},
		{"Mozilla/4", gz, hdrs("User-Agent", "Mozilla/4.0 (compatible)", "Accept-Encoding", "gzip"), None, false},
		{"MSIE 7", gz, hdrs("User-Agent", "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", "Accept-Encoding", "gzip"), Gzip, true},
		{"MSIE 6 without SV1", gz, hdrs("User-Agent", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", "Accept-Encoding", "gzip"), None, false},
		{"MSIE 6 SV1", gz, hdrs("User-Agent", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", "Accept-Encoding", "gzip"), Gzip, true},
		{"Mozilla/5", gz, hdrs("User-Agent", "Mozilla/5.0", "Accept-Encoding", "gzip"), Gzip, true},
	} {
		if got, from := Choose(c.algos, c.h); got != c.want || from != c.from {
			t.Errorf("%s: Choose = %v, %v, want %v, %v", c.name, got, from, c.want, c.from)
		}
	}
}

func TestParseQ(t *testing.T) {
	for in, want := range map[string]int{"1": 1000, "0": 0, "0.5": 500, "0.123": 123, "0.1239": 123, "1.0": 1000, "2": 1000, "x": 1000, "": 1000, "0.": 0} {
		if got := parseQ([]byte(in)); got != want {
			t.Errorf("parseQ(%q) = %d, want %d", in, got, want)
		}
	}
}

func resp(t *testing.T, raw string) *http1.Response {
	t.Helper()
	var r http1.Response
	if _, err := http1.ParseResponse([]byte(raw), &r); err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return &r
}

func TestCompressible(t *testing.T) {
	get := &http1.Request{Method: []byte("GET")}
	get.Minor = 1
	head := &http1.Request{Method: []byte("HEAD")}
	head.Minor = 1
	get10 := &http1.Request{Method: []byte("GET")}
	connect := &http1.Request{Method: []byte("CONNECT")}
	connect.Minor = 1
	html := []string{"text/html", "text/plain"}
	const ok = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 10\r\n"
	for _, c := range []struct {
		name  string
		req   *http1.Request
		raw   string
		types []string
		want  bool
	}{
		{"plain", get, ok + "\r\n", html, true},
		{"HEAD", head, ok + "\r\n", html, false},
		{"CONNECT", connect, ok + "\r\n", html, false},
		{"HTTP/1.0 request", get10, ok + "\r\n", html, false},
		{"HTTP/1.0 response", get, "HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n", nil, false},
		{"203", get, "HTTP/1.1 203 X\r\nContent-Length: 10\r\n\r\n", nil, true},
		{"204", get, "HTTP/1.1 204 X\r\n\r\n", nil, false},
		{"206", get, "HTTP/1.1 206 X\r\nContent-Length: 10\r\n\r\n", nil, false},
		{"304", get, "HTTP/1.1 304 X\r\n\r\n", nil, false},
		{"404", get, "HTTP/1.1 404 X\r\nContent-Length: 10\r\n\r\n", nil, false},
		{"chunked", get, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", nil, true},
		{"until close", get, "HTTP/1.1 200 OK\r\n\r\n", nil, false},
		{"empty", get, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", nil, false},
		{"encoded", get, ok + "Content-Encoding: br\r\n\r\n", html, false},
		{"no-transform", get, ok + "Cache-Control: public, No-Transform\r\n\r\n", html, false},
		{"other cache-control", get, ok + "Cache-Control: no-transformx, max-age=3\r\n\r\n", html, true},
		{"strong etag", get, ok + "ETag: \"a\"\r\n\r\n", html, true},
		{"weak etag", get, ok + "ETag: W/\"a\"\r\n\r\n", html, true},
		{"bad etag", get, ok + "ETag: a\r\n\r\n", html, false},
		{"two etags", get, ok + "ETag: \"a\"\r\nETag: \"b\"\r\n\r\n", html, false},
		{"type not listed", get, "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 10\r\n\r\n", html, false},
		{"type case", get, "HTTP/1.1 200 OK\r\nContent-Type: TEXT/PLAIN\r\nContent-Length: 10\r\n\r\n", html, true},
		{"no type, list", get, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", html, false},
		{"no type, no list", get, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", nil, true},
		{"any type", get, "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 10\r\n\r\n", nil, true},
		{"multipart", get, "HTTP/1.1 200 OK\r\nContent-Type: multipart/mixed\r\nContent-Length: 10\r\n\r\n", nil, false},
	} {
		if got := RequestAllows(c.req) && Compressible(resp(t, c.raw), c.types); got != c.want {
			t.Errorf("%s: Compressible = %v, want %v", c.name, got, c.want)
		}
	}
}

func headText(hs []http1.Header) string {
	var b strings.Builder
	for _, h := range hs {
		b.WriteString(string(h.Name) + ": " + string(h.Value) + "\n")
	}
	return b.String()
}

func TestEditHeaders(t *testing.T) {
	r := resp(t, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 10\r\nETag: \"x\"\r\n\r\n")
	hs, buf := EditHeaders(r.Headers, false, Gzip, nil)
	want := "Content-Type: text/html\nETag: W/\"x\"\nTransfer-Encoding: chunked\nVary: Accept-Encoding\nContent-Encoding: gzip\n"
	if got := headText(hs); got != want || string(buf) != "W/\"x\"" {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	r = resp(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: W/\"x\"\r\n\r\n")
	hs, _ = EditHeaders(r.Headers, true, Identity, nil)
	want = "Transfer-Encoding: chunked\nETag: W/\"x\"\nVary: Accept-Encoding\n"
	if got := headText(hs); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

// dechunk decodes a chunked body with net/http's reader.
func dechunk(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(httputil.NewChunkedReader(bufio.NewReader(bytes.NewReader(b))))
	if err != nil {
		t.Fatalf("chunked framing: %v in %q", err, b)
	}
	return out
}

func decode(t *testing.T, a Algo, b []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch a {
	case Gzip:
		r, err = gzip.NewReader(bytes.NewReader(b))
	case Deflate:
		r, err = zlib.NewReader(bytes.NewReader(b))
	case RawDeflate:
		r = flate.NewReader(bytes.NewReader(b))
	default:
		return b
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%v: %v", a, err)
	}
	return out
}

func TestEncoderRoundTrip(t *testing.T) {
	body := bytes.Repeat([]byte("<p>compress me, 0123456789</p>\n"), 5000)
	for a := Identity; a < numAlgos; a++ {
		for round := 0; round < 2; round++ { // the second from the pool
			e := Get(a, 1)
			var wire []byte
			for i := 0; i < len(body); i += 7000 {
				e.Write(body[i:min(i+7000, len(body))])
				wire = append(wire, e.Chunk()...)
				if e.Chunk() != nil {
					t.Fatalf("%v: a second Chunk with nothing written gave one", a)
				}
			}
			wire = append(wire, e.Last([]byte("X-T: 1\r\n"))...)
			if !bytes.HasSuffix(wire, []byte("0\r\nX-T: 1\r\n\r\n")) {
				t.Fatalf("%v: no last-chunk and trailers at the end: %q", a, wire[max(0, len(wire)-40):])
			}
			got := decode(t, a, dechunk(t, wire))
			if !bytes.Equal(got, body) {
				t.Fatalf("%v: body differs after the round trip (%d bytes, want %d)", a, len(got), len(body))
			}
			if e.In != int64(len(body)) || e.Out <= 0 || (a != Identity && e.Out >= e.In/4) {
				t.Fatalf("%v: In %d Out %d", a, e.In, e.Out)
			}
			e.Put()
		}
	}
}

func TestEncoderEmptyBody(t *testing.T) {
	e := Get(Gzip, 1)
	defer e.Put()
	wire := e.Last(nil)
	if got := decode(t, Gzip, dechunk(t, wire)); len(got) != 0 {
		t.Fatalf("got %q", got)
	}
}

// A pooled encoder is reset, not rebuilt: a response costs no new
// compressor (a flate writer allocates about 1 MB).
func TestEncoderPooledAllocs(t *testing.T) {
	body := bytes.Repeat([]byte("abcdefgh"), 512)
	run := func() {
		e := Get(Gzip, 1)
		e.Write(body)
		e.Chunk()
		e.Last(nil)
		e.Put()
	}
	run()
	if n := testing.AllocsPerRun(50, run); n > 0 {
		t.Fatalf("%.1f allocations per response, want 0", n)
	}
}

func FuzzChoose(f *testing.F) {
	f.Add("gzip;q=0.5, deflate;q=0.8, *;q=0.1", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)")
	f.Add(";;q=,,", "")
	f.Add("gzip;  q=1.000 ; x", "Mozilla/4")
	f.Fuzz(func(t *testing.T, ae, ua string) {
		hs := hdrs("User-Agent", ua, "Accept-Encoding", ae)
		a, _ := Choose([]Algo{Identity, Gzip, RawDeflate}, hs)
		if a == Deflate || a >= numAlgos || a == None && !brokenUserAgent([]byte(ua)) {
			t.Fatalf("Choose gave %v (identity is configured)", a)
		}
	})
}

// tune.comp.maxlevel reaches the compressor: a higher level gives fewer
// bytes on a page that rewards it.
func TestEncoderLevel(t *testing.T) {
	var page []byte
	for i := 0; len(page) < 200000; i++ {
		page = append(page, []byte(strings.Repeat("ab", i%7)+"<td>"+strings.Repeat("x", i%13)+"</td>\n")...)
	}
	size := func(level int) int64 {
		e := Get(Gzip, level)
		defer e.Put()
		e.Write(page)
		e.Last(nil)
		return e.Out
	}
	if one, nine := size(1), size(9); nine >= one {
		t.Fatalf("level 9 gave %d bytes, level 1 %d", nine, one)
	}
}
