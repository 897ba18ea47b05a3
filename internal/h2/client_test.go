package h2

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// startH2Server serves h over cleartext HTTP/2 (prior knowledge) with
// x/net/http2's server, and returns a connected ClientConn.
func startH2Server(t *testing.T, cfg ClientConfig, h http.HandlerFunc) *ClientConn {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http2.Server{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(c, &http2.ServeConnOpts{Handler: h})
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc, err := NewClientConn(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close(); l.Close() })
	return cc
}

// exchange sends an HTTP/1.1 request over a new stream of cc and returns
// the HTTP/1.1 response read until the stream's end.
func exchange(t *testing.T, cc *ClientConn, req string) (string, error) {
	t.Helper()
	if !cc.Reserve(false) {
		t.Fatal("no stream slot")
	}
	cs := cc.NewStream()
	defer cs.Close()
	cs.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(cs, req); err != nil {
		return "", err
	}
	b, err := io.ReadAll(cs)
	return string(b), err
}

func TestClientGetAndTrailers(t *testing.T) {
	cc := startH2Server(t, ClientConfig{}, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Trailer", "Grpc-Status")
		w.Header().Set("X-Seen", r.Method+" "+r.Host+" "+r.URL.RequestURI()+" "+r.Proto+" te="+r.Header.Get("Te")+" body="+string(body)+" trailer="+r.Trailer.Get("X-Sum"))
		w.WriteHeader(200)
		io.WriteString(w, "hello")
		w.(http.Flusher).Flush()
		io.WriteString(w, " world")
		w.Header().Set("Grpc-Status", "0")
	})
	resp, err := exchange(t, cc, "GET /a?b=c HTTP/1.1\r\nHost: example.test\r\nConnection: keep-alive\r\nTE: trailers\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"HTTP/1.1 200 \r\n", "x-seen: GET example.test /a?b=c HTTP/2.0 te=trailers body= trailer=\r\n", "transfer-encoding: chunked\r\n", "\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\ngrpc-status: 0\r\n\r\n"} {
		if !strings.Contains(resp, want) {
			t.Errorf("response lacks %q:\n%q", want, resp)
		}
	}
	// A chunked request body with trailers becomes DATA and a trailer block.
	resp, err = exchange(t, cc, "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp, "x-seen: POST a /up HTTP/2.0 te= body=abcde trailer=5\r\n") {
		t.Errorf("POST response:\n%q", resp)
	}
	// A length-delimited body.
	resp, err = exchange(t, cc, "PUT /p HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nwxyz")
	if err != nil || !strings.Contains(resp, "body=wxyz ") {
		t.Errorf("PUT response %v:\n%q", err, resp)
	}
}

// Streams of one connection run at once (the server waits for both).
func TestClientMultiplexes(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(2)
	cc := startH2Server(t, ClientConfig{}, func(w http.ResponseWriter, r *http.Request) {
		wg.Done()
		wg.Wait()
		w.Header().Set("Content-Length", "2")
		io.WriteString(w, "ok")
	})
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			resp, err := exchange(t, cc, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			if err == nil && !strings.HasSuffix(resp, "\r\n\r\nok") {
				err = io.ErrUnexpectedEOF
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A server that resets a stream makes its reads fail.
func TestClientServerReset(t *testing.T) {
	cc := startH2Server(t, ClientConfig{}, func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler) // x/net/http2 resets the stream
	})
	_, err := exchange(t, cc, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if err != ErrServerReset {
		t.Errorf("err %v, want %v", err, ErrServerReset)
	}
	// The connection carries the next request.
	if !cc.Usable() {
		t.Error("connection unusable after a stream reset")
	}
}

// max-reuse: the connection carries MaxStreams streams, then ends.
func TestClientMaxStreams(t *testing.T) {
	cc := startH2Server(t, ClientConfig{MaxStreams: 2}, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "x")
	})
	for i := 0; i < 2; i++ {
		if _, err := exchange(t, cc, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	if cc.Reserve(false) || !cc.Closed() {
		t.Errorf("a third stream was allowed (closed %v)", cc.Closed())
	}
}

// rawServer accepts one connection and runs serve on its framer after the
// preface and an empty SETTINGS.
func rawServer(t *testing.T, serve func(fr *http2.Framer)) *ClientConn {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c, err := l.Accept()
		l.Close()
		if err != nil {
			return
		}
		defer c.Close()
		pre := make([]byte, len(Preface))
		if _, err := io.ReadFull(c, pre); err != nil {
			return
		}
		fr := http2.NewFramer(c, c)
		fr.WriteSettings()
		serve(fr)
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc, err := NewClientConn(c, ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// A stream above a GOAWAY's last stream, or reset with REFUSED_STREAM, is
// refused (it may go elsewhere); one reset otherwise is a server reset.
func TestClientRefusedStreams(t *testing.T) {
	for _, c := range []struct {
		name  string
		reply func(fr *http2.Framer, id uint32)
		want  error
	}{
		{"goaway", func(fr *http2.Framer, id uint32) { fr.WriteGoAway(id-1, http2.ErrCodeNo, nil) }, ErrRefused},
		{"refused", func(fr *http2.Framer, id uint32) { fr.WriteRSTStream(id, http2.ErrCodeRefusedStream) }, ErrRefused},
		{"reset", func(fr *http2.Framer, id uint32) { fr.WriteRSTStream(id, http2.ErrCodeInternal) }, ErrServerReset},
	} {
		t.Run(c.name, func(t *testing.T) {
			cc := rawServer(t, func(fr *http2.Framer) {
				for {
					f, err := fr.ReadFrame()
					if err != nil {
						return
					}
					if h, ok := f.(*http2.HeadersFrame); ok {
						c.reply(fr, h.StreamID)
					}
				}
			})
			_, err := exchange(t, cc, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			if err != c.want {
				t.Errorf("err %v, want %v", err, c.want)
			}
			if usable := cc.Usable(); usable == (c.name == "goaway") {
				t.Errorf("usable %v after %s", usable, c.name)
			}
		})
	}
}

// Reserve(busyOnly) refuses an idle connection (http-reuse safe for a
// first request) and takes one that carries a stream.
func TestClientReserveBusyOnly(t *testing.T) {
	cc := startH2Server(t, ClientConfig{}, func(w http.ResponseWriter, r *http.Request) {})
	if cc.Reserve(true) {
		t.Fatal("an idle connection was reserved for a busy-only request")
	}
	if !cc.Reserve(false) {
		t.Fatal("no slot")
	}
	if !cc.Reserve(true) {
		t.Error("a busy connection refused a busy-only request")
	}
}
