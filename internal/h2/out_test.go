package h2

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// writeCounter counts the writes made on a connection.
type writeCounter struct {
	net.Conn
	n *atomic.Int32
}

func (w writeCounter) Write(p []byte) (int, error) {
	w.n.Add(1)
	return w.Conn.Write(p)
}

// Responses that become ready together leave in a few writes, not in
// one (or more) per stream.
func TestResponsesBatched(t *testing.T) {
	const streams = 20
	var writes atomic.Int32
	var started sync.WaitGroup
	started.Add(streams)
	release := make(chan struct{})
	h := func(st *Stream) {
		started.Done()
		<-release
		io.WriteString(st, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}
	tc := startConnVia(t, nil, Config{}, h, func(c net.Conn) net.Conn { return writeCounter{c, &writes} })
	for i := uint32(0); i < streams; i++ {
		tc.headers(2*i+1, true, getReq...)
	}
	started.Wait()
	close(release)
	for ended := 0; ended < streams; {
		f, err := tc.fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %d responses: %v", ended, err)
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			if f.StreamEnded() {
				ended++
			}
		case *http2.RSTStreamFrame:
			t.Fatalf("stream %d reset: %v", f.StreamID, f.ErrCode)
		case *http2.SettingsFrame:
			if !f.IsAck() {
				tc.fr.WriteSettingsAck()
			}
		}
	}
	// SETTINGS, its ACK and the responses: one write per stream would
	// be at least streams+2.
	if n := writes.Load(); n >= streams {
		t.Errorf("%d writes for %d responses", n, streams)
	}
}

// rawStreams serves streams with a handler that reads the request and
// writes a small response, as the pipeline does, and returns a function
// that runs one stream from a client that allocates nothing: the same
// HEADERS bytes every time, the answer's frames read into one buffer.
func rawStreams(tb testing.TB) func() {
	buf := make([]byte, 4096)
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
	h := func(st *Stream) {
		st.SetReadDeadline(time.Now().Add(time.Minute))
		if _, err := st.Read(buf); err != nil {
			return
		}
		st.SetWriteDeadline(time.Now().Add(time.Minute))
		st.Write(resp)
		st.Read(buf)
	}
	tc := startConn(tb, Config{}, h)
	tc.fr.WriteSettingsAck()
	// The client never reads its DATA through a window of its own: the
	// connection window is opened wide once (65535 bytes last 32767
	// streams of 2 bytes, fewer than a benchmark may run).
	tc.fr.WriteWindowUpdate(0, 1<<31-1-65535)
	// :method GET, :scheme http, :path / (static table), :authority
	// example.test (literal, not indexed).
	block := append([]byte{0x82, 0x86, 0x84, 0x01, 12}, "example.test"...)
	frame := make([]byte, 9+len(block))
	copy(frame[9:], block)
	frame[2] = byte(len(block))
	frame[3] = byte(http2.FrameHeaders)
	frame[4] = byte(http2.FlagHeadersEndHeaders | http2.FlagHeadersEndStream)
	in := make([]byte, 16<<10)
	id := uint32(1)
	return func() {
		binary.BigEndian.PutUint32(frame[5:], id)
		if _, err := tc.c.Write(frame); err != nil {
			tb.Fatal(err)
		}
		for {
			if _, err := io.ReadFull(tc.c, in[:9]); err != nil {
				tb.Fatal(err)
			}
			n := int(in[0])<<16 | int(in[1])<<8 | int(in[2])
			typ, flags, sid := http2.FrameType(in[3]), http2.Flags(in[4]), binary.BigEndian.Uint32(in[5:])&(1<<31-1)
			if _, err := io.ReadFull(tc.c, in[:n]); err != nil {
				tb.Fatal(err)
			}
			if typ == http2.FrameRSTStream || typ == http2.FrameGoAway {
				tb.Fatalf("frame %v on stream %d", typ, sid)
			}
			if sid == id && (typ == http2.FrameData || typ == http2.FrameHeaders) && flags.Has(http2.FlagDataEndStream) {
				break
			}
		}
		id += 2
	}
}

// A stream served end to end (HEADERS in, the pipeline's HTTP/1.1 view,
// its response out as HEADERS and DATA) costs few allocations: no timer
// for deadlines that are not waited for, no new goroutine, the response
// converter recycled.
func TestStreamAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	stream := rawStreams(t)
	for range 20 {
		stream() // the HPACK tables and the pools fill
	}
	allocs := testing.AllocsPerRun(200, stream)
	t.Logf("%.1f allocations per stream", allocs)
	if allocs > maxStreamAllocs {
		t.Errorf("%.1f allocations per stream, want at most %d", allocs, maxStreamAllocs)
	}
}

// maxStreamAllocs: the HEADERS frame (x/net/http2) and the decoded
// :authority (HPACK). Before the recycling, 25; 5 while the response
// head's fields were made strings and the request head had an array of
// its own; 3 while each stream had a new Stream (Conn.recycle).
const maxStreamAllocs = 2

// BenchmarkStream: one stream after the other on one connection, the
// h2 layer's cost per request (the loopback round trip included).
func BenchmarkStream(b *testing.B) {
	stream := rawStreams(b)
	b.ReportAllocs()
	for b.Loop() {
		stream()
	}
}

// TestFramesAsFramer: header blocks and DATA frames appended to the out
// buffer are x/net's framer's frames, byte for byte.
func TestFramesAsFramer(t *testing.T) {
	for _, size := range []int{0, 1, 15, 16, 17, 40} {
		block := bytes.Repeat([]byte{0xab}, size)
		for _, end := range []bool{false, true} {
			var want bytes.Buffer
			fr := http2.NewFramer(&want, nil)
			const limit = 16
			frag := block[:min(size, limit)]
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: frag, EndStream: end, EndHeaders: size <= limit})
			for rest := block[len(frag):]; len(rest) > 0; {
				frag = rest[:min(len(rest), limit)]
				rest = rest[len(frag):]
				fr.WriteContinuation(5, len(rest) == 0, frag)
			}
			fr.WriteData(1<<31-1, end, block)
			var o outBuf
			if err := o.writeBlock(5, block, limit, end); err != nil {
				t.Fatal(err)
			}
			flags := http2.Flags(0)
			if end {
				flags = http2.FlagDataEndStream
			}
			if err := o.frame(http2.FrameData, flags, 1<<31-1, block); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(o.b, want.Bytes()) {
				t.Errorf("block of %d, end %v:\n% x\nwant\n% x", size, end, o.b, want.Bytes())
			}
		}
	}
	var o outBuf
	if o.frame(http2.FrameData, 0, 0, nil) == nil || o.frame(http2.FrameData, 0, 1<<31, nil) == nil || len(o.b) != 0 {
		t.Errorf("a frame on stream 0 or past 2^31-1 was written: % x", o.b)
	}
}
