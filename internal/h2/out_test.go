package h2

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

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
	tc := startConnVia(t, Config{}, h, func(c net.Conn) net.Conn { return writeCounter{c, &writes} })
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
