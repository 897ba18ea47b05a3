package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// earlyBackend answers every request 413 with a Content-Length once its
// head is in, without reading its body; closing: with Connection: close,
// then reading what comes until the proxy closes (so that the kernel does
// not reset the connection under the response), else keeping the
// connection open and unread until the test ends.
func earlyBackend(t *testing.T, closing bool) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := t.Context().Done()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					l, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if l == "\r\n" {
						break
					}
				}
				if !closing {
					io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 5\r\n\r\nlarge")
					<-done
					return
				}
				io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 5\r\nConnection: close\r\n\r\nlarge")
				c.(*net.TCPConn).CloseWrite()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// startH2Front runs path with a frontend f on a free port taking HTTP/2,
// its lines (and the sections after it) being rest, all timeouts 5s; the
// port and the process.
func startH2Front(t *testing.T, path, rest string) (int, *proc) {
	port := freePort(t)
	return port, startBinary(t, path, defaultsSection("http", "5s", "5s", "5s")+
		fmt.Sprintf("\nfrontend f\n    bind 127.0.0.1:%d proto h2\n", port)+rest, port)
}

// postFirst opens stream 1 on c as a POST to target with a
// content-length of 100000 and sends the body's first 1000 bytes, in one
// write: a proxy that read the head alone answers it, and haproxy resets
// DATA that comes after its CANCEL (STREAM_CLOSED).
func postFirst(c net.Conn, h *h2Frames, target string) {
	var first bytes.Buffer
	fr := http2.NewFramer(&first, nil)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: h.block(":method", "POST", ":scheme", "http", ":authority", "x", ":path", target, "content-length", "100000"), EndHeaders: true})
	fr.WriteData(1, false, make([]byte, 1000))
	c.Write(first.Bytes())
}

// TestH2EarlyResponseAsHAProxy: an HTTP/2 request whose body is still
// coming when its response is complete. haproxy 2.6 resets the stream
// with CANCEL after a response of its own (http-request return, deny):
// its stream leaves the connection's. After a server's (413 without
// reading the body, keeping or closing its connection) it sends no
// RST_STREAM and goes on taking the body, giving back the stream's
// window, as it forwards it to the server. The connection serves the
// next stream either way. dhproxy reset the stream with NO_ERROR in all
// four: curl 7.88 exits 92 on a server's early 413 it printed through
// haproxy (it exits 92 on CANCEL too, with either).
func TestH2EarlyResponseAsHAProxy(t *testing.T) {
	keepSrv, closeSrv := earlyBackend(t, false), earlyBackend(t, true)
	want := map[string]string{
		"/ret":   "1 HEADERS 200 | 1 DATA end | 1 RST_STREAM CANCEL | 3 HEADERS 200 | 3 DATA end",
		"/deny":  "1 HEADERS 403 | 1 DATA end | 1 RST_STREAM CANCEL | 3 HEADERS 200 | 3 DATA end",
		"/keep":  "1 HEADERS 413 | 1 DATA end | body sent | 3 HEADERS 200 | 3 DATA end",
		"/close": "1 HEADERS 413 | 1 DATA end | body sent | 3 HEADERS 200 | 3 DATA end",
	}
	for _, path := range []string{haproxyBin, bin} {
		port, p := startH2Front(t, path, fmt.Sprintf(`    http-request return status 200 content-type text/plain string hi if { path /ret } || { path /next }
    http-request deny if { path /deny }
    use_backend keep if { path /keep }
    default_backend close
backend keep
    server s 127.0.0.1:%d
backend close
    server s 127.0.0.1:%d
`, keepSrv, closeSrv))
		for _, target := range []string{"/ret", "/deny", "/keep", "/close"} {
			if got := h2EarlyExchange(t, port, target); got != want[target] {
				t.Errorf("%s %s:\n%s\nwant\n%s", path, target, got, want[target])
			}
		}
		p.stop()
	}
}

// h2EarlyExchange posts a 100000-byte body to target on a new connection:
// its first 1000 bytes, then reads stream 1's response. After a reset it
// sends nothing more of the body; else the rest of it, as the windows
// allow. Then it sends a GET /next as stream 3 and reads its response.
// It returns the frames of both streams but WINDOW_UPDATE, and "body
// sent" once the body went whole.
func h2EarlyExchange(t *testing.T, port int, target string) string {
	c, h := dialH2(t, port)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var got []string
	// Windows as RFC 9113 starts them; the proxies' SETTINGS keep them.
	win, conn := 65535, 65535
	reset := false
	// next reads a frame, noting it in got.
	next := func() http2.Frame {
		f, err := h.ReadFrame()
		if err != nil {
			t.Fatalf("%s after %q: %v", target, got, err)
		}
		id := f.Header().StreamID
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				h.WriteSettingsAck()
			}
		case *http2.WindowUpdateFrame:
			if id == 1 {
				win += int(f.Increment)
			} else if id == 0 {
				conn += int(f.Increment)
			}
		case *http2.HeadersFrame:
			_, status, _ := h.decode(f)
			got = append(got, fmt.Sprintf("%d HEADERS %s", id, status))
		case *http2.DataFrame:
			if f.StreamEnded() {
				got = append(got, fmt.Sprintf("%d DATA end", id))
			}
		case *http2.RSTStreamFrame:
			got = append(got, fmt.Sprintf("%d RST_STREAM %v", id, f.ErrCode))
			reset = reset || id == 1
		default:
			got = append(got, fmt.Sprintf("%d %v", id, f.Header().Type))
		}
		return f
	}
	ended := func(f http2.Frame, id uint32) bool {
		return f.Header().StreamID == id && f.Header().Flags.Has(http2.FlagDataEndStream) // the same bit on HEADERS
	}
	postFirst(c, h, target)
	win, conn = win-1000, conn-1000
	for !ended(next(), 1) {
	}
	if strings.HasSuffix(target, "ret") || strings.HasSuffix(target, "deny") {
		for !reset {
			next() // a proxy's own response: the reset comes with it
		}
	}
	for left := 99000; left > 0 && !reset; left -= 1000 {
		for min(win, conn) < 1000 && !reset {
			next()
		}
		if reset {
			break
		}
		h.WriteData(1, left == 1000, make([]byte, 1000))
		win, conn = win-1000, conn-1000
		if left == 1000 {
			got = append(got, "body sent")
		}
	}
	h.writeHead(3, true, ":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/next")
	for !ended(next(), 3) {
	}
	return strings.Join(got, " | ")
}

// TestH2LateDataAfterCancelAsHAProxy: DATA a client sends on after the
// proxy's own early response reset its stream (CANCEL) is answered, a
// frame at a time, with RST_STREAM(STREAM_CLOSED), as haproxy 2.6
// answers it (RFC 9113 5.1 allows either that or ignoring it); the
// connection's window still gets those bytes back, and the connection
// goes on (the PING is answered). dhproxy ignored the frames, and
// answered the last one PROTOCOL_ERROR as a body shorter than its
// content-length.
func TestH2LateDataAfterCancelAsHAProxy(t *testing.T) {
	for _, path := range []string{haproxyBin, bin} {
		port, p := startH2Front(t, path, `    http-request return status 200 content-type text/plain string hi if { path /ret }
    http-request deny
`)
		for _, target := range []string{"/ret", "/deny"} {
			if got, want := h2LateData(t, port, target), "RST_STREAM CANCEL | RST_STREAM STREAM_CLOSED | RST_STREAM STREAM_CLOSED | RST_STREAM STREAM_CLOSED | RST_STREAM STREAM_CLOSED | window back | PING"; got != want {
				t.Errorf("%s %s:\n%s\nwant\n%s", path, target, got, want)
			}
		}
		p.stop()
	}
}

// h2LateData posts to target with a content-length of 100000 and its
// first 1000 bytes; once the stream is reset, it sends 3 DATA frames of
// 1000 bytes and one of 10 with END_STREAM, then a PING. It returns the
// RST_STREAM frames until the PING's answer, with "window back" before
// it when the connection's window is whole again by then.
func h2LateData(t *testing.T, port int, target string) string {
	c, h := dialH2(t, port)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	postFirst(c, h, target)
	conn := 65535 - 1000 // the client's connection send window
	var got []string
	for {
		f, err := h.ReadFrame()
		if err != nil {
			return strings.Join(append(got, err.Error()), " | ")
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				h.WriteSettingsAck()
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				conn += int(f.Increment)
			}
		case *http2.RSTStreamFrame:
			got = append(got, "RST_STREAM "+f.ErrCode.String())
			if len(got) == 1 {
				for range 3 {
					h.WriteData(1, false, make([]byte, 1000))
				}
				h.WriteData(1, true, make([]byte, 10))
				h.WritePing(false, [8]byte{1})
				conn -= 3010
			}
		case *http2.PingFrame:
			if conn >= 65535 {
				got = append(got, "window back")
			}
			return strings.Join(append(got, "PING"), " | ")
		}
	}
}
