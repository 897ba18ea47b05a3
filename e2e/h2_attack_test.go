package e2e

// Hostile HTTP/2 clients: each test fails against a proxy without the
// matching defence (internal/h2).

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// hostile is a raw HTTP/2 client.
type hostile struct {
	t   *testing.T
	c   net.Conn
	fr  *h2Frames
	wmu sync.Mutex

	mu      sync.Mutex
	goaway  *http2.ErrCode
	resets  map[http2.ErrCode]int
	status  map[uint32]string
	pings   int
	closed  chan struct{} // the reader saw the connection end
	reading bool
}

func dialHostile(t *testing.T, port int, settings ...http2.Setting) *hostile {
	t.Helper()
	c, fr := dialH2(t, port, settings...)
	h := &hostile{t: t, c: c, fr: fr, resets: map[http2.ErrCode]int{}, status: map[uint32]string{}, closed: make(chan struct{})}
	h.fr.SetMaxReadFrameSize(1 << 24)
	// The proxy's SETTINGS is acknowledged now, so that no ACK lands in
	// the middle of a header block the test writes later.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := h.fr.peerSettings(); err != nil {
		t.Fatalf("reading the proxy's SETTINGS: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	return h
}

// read starts the frame reader: it records what the proxy says.
func (h *hostile) read() {
	h.reading = true
	go func() {
		defer close(h.closed)
		dec := hpack.NewDecoder(65536, nil)
		for {
			f, err := h.fr.ReadFrame()
			if err != nil {
				return
			}
			h.mu.Lock()
			switch f := f.(type) {
			case *http2.GoAwayFrame:
				code := f.ErrCode
				h.goaway = &code
				h.t.Logf("GOAWAY %v %q", f.ErrCode, f.DebugData())
			case *http2.RSTStreamFrame:
				h.resets[f.ErrCode]++
			case *http2.PingFrame:
				if f.IsAck() {
					h.pings++
				}
			case *http2.HeadersFrame:
				fields, _ := dec.DecodeFull(f.HeaderBlockFragment())
				for _, hf := range fields {
					if hf.Name == ":status" {
						h.status[f.StreamID] = hf.Value
					}
				}
			}
			h.mu.Unlock()
		}
	}()
}

// block encodes a request head.
func (h *hostile) block(path string, extra ...string) []byte {
	return h.fr.block(append([]string{":method", "GET", ":scheme", "http", ":path", path, ":authority", "attack.test"}, extra...)...)
}

func (h *hostile) write(fn func(fr *http2.Framer) error) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	h.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return fn(h.fr.Framer)
}

func (h *hostile) goAwayCode() (http2.ErrCode, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.goaway == nil {
		return 0, false
	}
	return *h.goaway, true
}

// waitEnd waits for the proxy to end the connection.
func (h *hostile) waitEnd(within time.Duration) bool {
	select {
	case <-h.closed:
		return true
	case <-time.After(within):
		return false
	}
}

// attackProxy runs an h2c frontend in front of handler; extra goes into
// the global section.
func attackProxy(t *testing.T, handler http.Handler, global, timeouts string) (port int, p *proc) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	if timeouts == "" {
		timeouts = "    timeout client 10s\n"
	}
	port = freePort(t)
	p = startProxy(t, fmt.Sprintf(`
global
%s
defaults
    mode http
    timeout connect 5s
    timeout server 10s
%s
frontend fe
    bind 127.0.0.1:%d proto h2
    default_backend be
backend be
    server s1 %s
`, global, timeouts, port, l.Addr()), port)
	return port, p
}

func dhproxyOnly(t *testing.T, why string) {
	t.Helper()
	if isHAProxy() {
		t.Skip(why)
	}
}

// Rapid Reset (CVE-2023-44487): streams opened and reset at once, faster
// than they can complete, must not turn into unbounded backend work; the
// client is cut off with ENHANCE_YOUR_CALM.
func TestH2RapidReset(t *testing.T) {
	dhproxyOnly(t, "haproxy 2.6 bounds this differently (its streams are not detached from their connection)")
	var seen atomic.Int64
	port, _ := attackProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}), "", "")
	h := dialHostile(t, port)
	h.read()
	const attempts = 20000
	sent := 0
	for id := uint32(1); sent < attempts; id += 2 {
		blk := h.block("/")
		err := h.write(func(fr *http2.Framer) error {
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk, EndStream: true, EndHeaders: true}); err != nil {
				return err
			}
			return fr.WriteRSTStream(id, http2.ErrCodeCancel)
		})
		if err != nil {
			break
		}
		sent++
	}
	if !h.waitEnd(5 * time.Second) {
		t.Fatalf("the connection survived %d opened-and-reset streams", sent)
	}
	if code, ok := h.goAwayCode(); !ok || code != http2.ErrCodeEnhanceYourCalm {
		t.Errorf("GOAWAY %v (present %v), want ENHANCE_YOUR_CALM", code, ok)
	}
	if n := seen.Load(); n > 300 {
		t.Errorf("%d requests reached the server out of %d reset streams; want at most 300", n, sent)
	}
	t.Logf("%d streams written before the cut, %d reached the server", sent, seen.Load())
}

// A header block that never ends (CONTINUATION flood, 2024) is cut,
// whether its frames carry valid fields or nothing at all.
func TestH2ContinuationFlood(t *testing.T) {
	dhproxyOnly(t, "haproxy 2.6.12 reads empty CONTINUATION frames without end (650 000 in 8 s here) and ends a block of valid fields with INTERNAL_ERROR")
	// Each fragment holds 200 complete small fields (literal, new name).
	fields := bytes.Repeat([]byte{0x00, 0x01, 'x', 0x01, 'y'}, 200)
	for name, frag := range map[string][]byte{"fields": fields, "empty": nil} {
		t.Run(name, func(t *testing.T) {
			port, _ := attackProxy(t, http.NotFoundHandler(), "", "")
			h := dialHostile(t, port)
			h.read()
			blk := h.block("/")
			err := h.write(func(fr *http2.Framer) error {
				return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk, EndHeaders: false})
			})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			frames := 0
		flood:
			for time.Since(start) < 5*time.Second {
				if h.write(func(fr *http2.Framer) error { return fr.WriteContinuation(1, false, frag) }) != nil {
					break
				}
				frames++
				select {
				case <-h.closed:
					break flood
				default:
				}
			}
			if !h.waitEnd(3 * time.Second) {
				t.Fatalf("still connected after %d CONTINUATION frames", frames)
			}
			if code, ok := h.goAwayCode(); !ok || code != http2.ErrCodeEnhanceYourCalm {
				t.Errorf("GOAWAY %v (present %v), want ENHANCE_YOUR_CALM", code, ok)
			}
			t.Logf("cut after %d CONTINUATION frames", frames)
		})
	}
}

// An HPACK bomb (a small block decoding to a huge header list) is
// refused on the list size limit, without the memory it would take.
func TestH2HPACKBomb(t *testing.T) {
	dhproxyOnly(t, "haproxy answers the bomb with its own status")
	port, p := attackProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), "", "")
	before := rssKiB(t, p.cmd.Process.Pid)
	h := dialHostile(t, port)
	h.read()
	const bombs = 20
	for i := 0; i < bombs; i++ {
		id := uint32(2*i + 1)
		// A 4000-byte field enters the dynamic table once (it is the
		// newest entry, index 62) and is then referenced 4000 times by
		// one byte each: 4 KiB on the wire, 16 MB decoded.
		blk := h.block("/", "x-bomb", strings.Repeat("b", 4000))
		blk = append(blk, bytes.Repeat([]byte{0x80 | 62}, 4000)...)
		err := h.write(func(fr *http2.Framer) error {
			first, rest := blk[:len(blk)/2], blk[len(blk)/2:]
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: true}); err != nil {
				return err
			}
			return fr.WriteContinuation(id, true, rest)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		n := len(h.status)
		h.mu.Unlock()
		if n == bombs {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := 0; i < bombs; i++ {
		if st := h.status[uint32(2*i+1)]; st != "431" {
			t.Errorf("stream %d: status %q, want 431", 2*i+1, st)
		}
	}
	if grown := rssKiB(t, p.cmd.Process.Pid) - before; grown > 64<<10 {
		t.Errorf("the proxy grew by %d KiB decoding %d bombs", grown, bombs)
	}
}

// A client that makes the proxy answer PING (or SETTINGS) frames without
// reading the answers is cut off instead of being served until its
// timeout.
func TestH2PingAndSettingsFlood(t *testing.T) {
	dhproxyOnly(t, "haproxy 2.6.12 answers such a client without limit (490 000 PINGs in 5 s here)")
	for _, kind := range []string{"PING", "SETTINGS"} {
		t.Run(kind, func(t *testing.T) {
			port, _ := attackProxy(t, http.NotFoundHandler(), "", "    timeout client 30s\n")
			h := dialHostile(t, port) // never reads
			start := time.Now()
			n := 0
			var err error
			for time.Since(start) < 5*time.Second && err == nil {
				err = h.write(func(fr *http2.Framer) error {
					if kind == "PING" {
						return fr.WritePing(false, [8]byte{1})
					}
					return fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 65535})
				})
				n++
			}
			if err == nil {
				t.Fatalf("%d %s frames in 5 s and still connected", n, kind)
			}
			t.Logf("cut after %d %s frames (%v)", n, kind, time.Since(start).Round(time.Millisecond))
		})
	}
}

// tune.h2.max-concurrent-streams is enforced: streams beyond it are
// refused (REFUSED_STREAM), those within it served.
func TestH2TooManyStreams(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	port, _ := attackProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}), "    tune.h2.max-concurrent-streams 10", "")
	h := dialHostile(t, port)
	h.read()
	for i := 0; i < 15; i++ {
		id := uint32(2*i + 1)
		blk := h.block("/")
		if err := h.write(func(fr *http2.Framer) error {
			return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk, EndStream: true, EndHeaders: true})
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		n := h.resets[http2.ErrCodeRefusedStream] + h.resets[http2.ErrCodeProtocol]
		h.mu.Unlock()
		if n >= 5 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := h.resets[http2.ErrCodeRefusedStream] + h.resets[http2.ErrCodeProtocol]; n != 5 {
		t.Errorf("%d streams refused out of 15 with a limit of 10 (resets %v)", n, h.resets)
	}
}

// A stream whose window stays at 0 holds what the proxy buffered for it
// (tune.bufsize) until "timeout client", then is reset; the connection's
// other streams go on meanwhile.
func TestH2ZeroWindowStall(t *testing.T) {
	dhproxyOnly(t, "haproxy's h2 mux applies its own stall policy")
	big := bytes.Repeat([]byte("z"), 4<<20)
	port, p := attackProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write(big)
		}
	}), "", "    timeout client 1s\n")
	before := rssKiB(t, p.cmd.Process.Pid)
	h := dialHostile(t, port, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	h.read()
	const stalled = 50
	for i := 0; i < stalled; i++ {
		id := uint32(2*i + 1)
		blk := h.block("/big")
		if err := h.write(func(fr *http2.Framer) error {
			return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk, EndStream: true, EndHeaders: true})
		}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	// 50 streams of 4 MiB each are waiting: the proxy holds at most a
	// buffer per stream, not the responses.
	if grown := rssKiB(t, p.cmd.Process.Pid) - before; grown > 32<<10 {
		t.Errorf("the proxy grew by %d KiB for %d stalled streams", grown, stalled)
	}
	// The connection still answers meanwhile.
	h.write(func(fr *http2.Framer) error { return fr.WritePing(false, [8]byte{7}) })
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		n := 0
		for _, c := range h.resets {
			n += c
		}
		pings := h.pings
		h.mu.Unlock()
		if n >= stalled && pings > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t.Errorf("after timeout client: resets %v (want %d), PING answers %d", h.resets, stalled, h.pings)
}

// A soft stop (SIGUSR1) sends GOAWAY to HTTP/2 clients (a first one with
// the highest stream id, then, after a PING round trip, one naming the
// last stream: haproxy's first GOAWAY is the same): the stream in flight
// gets its whole response, then the connection and the process end.
func TestH2SoftStopGoAway(t *testing.T) {
	be, _ := startHTTPBackend(t, "stopping")
	port := freePort(t)
	p := startProxy(t, defaultsSection("http", "5s", "10s", "10s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, port, be), port)
	h := dialHostile(t, port)
	var mu sync.Mutex
	var body []byte
	var ended bool
	var goaway *http2.GoAwayFrame
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			f, err := h.fr.ReadFrame()
			if err != nil {
				return
			}
			mu.Lock()
			switch f := f.(type) {
			case *http2.GoAwayFrame:
				g := *f
				goaway = &g // the last one counts
			case *http2.PingFrame:
				if !f.IsAck() {
					h.wmu.Lock()
					h.fr.WritePing(true, f.Data)
					h.wmu.Unlock()
				}
			case *http2.DataFrame:
				body = append(body, f.Data()...)
				ended = ended || f.StreamEnded()
			}
			mu.Unlock()
		}
	}()
	blk := h.block("/slow?ms=800")
	h.write(func(fr *http2.Framer) error {
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk, EndStream: true, EndHeaders: true})
	})
	time.Sleep(200 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGUSR1)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		over := ended && goaway != nil
		mu.Unlock()
		if over {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	// haproxy 2.6 sends its final GOAWAY only when it closes.
	if goaway == nil || goaway.ErrCode != http2.ErrCodeNo || goaway.LastStreamID != 1 && !(isHAProxy() && goaway.LastStreamID == 1<<31-1) {
		t.Errorf("GOAWAY %v last stream %d, want NO_ERROR with last stream 1", goaway.ErrCode, goaway.LastStreamID)
	}
	if !ended || string(body) != "stopping" {
		t.Errorf("the stream in flight got %q (ended %v)", body, ended)
	}
	mu.Unlock()
	if !isHAProxy() {
		// dhproxy closes a stopping connection once its last stream is
		// over (haproxy 2.6 waits for the client or "timeout client").
		select {
		case <-readerDone:
		case <-time.After(2 * time.Second):
			t.Error("the connection outlived its last stream by 2 s")
		}
	}
	h.c.Close()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Error("the process did not exit after its last connection")
	}
}

// A client that stops reading its socket while large responses are due
// (its flow control windows wide open) is cut after "timeout client":
// the proxy's writes do not wait forever.
func TestH2StalledReader(t *testing.T) {
	dhproxyOnly(t, "haproxy 2.6 keeps such a connection until its own timeouts, differently")
	big := bytes.Repeat([]byte("s"), 8<<20)
	port, _ := attackProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(big) }), "", "    timeout client 1s\n")
	h := dialHostile(t, port, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
	h.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(0, 1<<31-1-65535) })
	for i := 0; i < 4; i++ {
		id := uint32(2*i + 1)
		blk := h.block("/big")
		h.write(func(fr *http2.Framer) error {
			return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk, EndStream: true, EndHeaders: true})
		})
	}
	// Not reading: the proxy's socket buffer fills. Then, after a while,
	// the client drains it and must find the connection closed.
	time.Sleep(3 * time.Second)
	h.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, h.c)
	if err != nil && strings.Contains(err.Error(), "timeout") {
		t.Fatal("the connection is still open 8 s after its client stopped reading (timeout client 1s)")
	}
}

// An HTTP/2 connection without streams ends after "timeout
// http-keep-alive" with a GOAWAY, after serving a request.
func TestH2IdleTimeout(t *testing.T) {
	port, _ := attackProxy(t, http.NotFoundHandler(), "", "    timeout client 30s\n    timeout http-keep-alive 500ms\n")
	h := dialHostile(t, port)
	h.read()
	blk := h.block("/")
	h.write(func(fr *http2.Framer) error {
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk, EndStream: true, EndHeaders: true})
	})
	start := time.Now()
	if !h.waitEnd(5 * time.Second) {
		t.Fatal("an idle connection outlived timeout http-keep-alive (500ms) by 4.5 s")
	}
	if code, ok := h.goAwayCode(); !ok || code != http2.ErrCodeNo {
		t.Errorf("GOAWAY %v (present %v), want NO_ERROR", code, ok)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.status[1] != "404" {
		t.Errorf("the request got %q", h.status[1])
	}
	t.Logf("closed %v after the request", time.Since(start).Round(10*time.Millisecond))
}
