package stream

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"dhproxy/internal/conn"
	"dhproxy/internal/conn/conntest"
	"dhproxy/internal/proxyproto"
)

// A header arriving in pieces is waited for, and the bytes after it stay
// in the socket for the protocol that follows.
func TestReadProxyHeaderPieces(t *testing.T) {
	for _, lazy := range []bool{false, true} {
		hdr := proxyproto.AppendV2(nil, ap("10.1.2.3:4000"), ap("10.9.9.9:443"), &proxyproto.V2{CRC32C: true, Authority: []byte("example.com")})
		client, server := conntest.Pair(t, lazyIf(lazy))
		go func() {
			for _, piece := range [][]byte{hdr[:5], hdr[5:20], hdr[20:]} {
				client.Write(piece)
				time.Sleep(30 * time.Millisecond)
			}
			client.Write([]byte("GET / HTTP/1.1\r\n"))
		}()
		h, err := readProxyHeader(server, time.Now().Add(3*time.Second), 16384)
		if err != nil {
			t.Fatalf("lazy=%v: %v", lazy, err)
		}
		if h.Src != ap("10.1.2.3:4000") || string(h.Authority) != "example.com" {
			t.Errorf("lazy=%v: %+v", lazy, h)
		}
		buf := make([]byte, 16)
		server.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "GET / HTTP/1.1\r\n" {
			t.Errorf("lazy=%v: after the header %q %v", lazy, buf, err)
		}
	}
}

// A v2 header larger than the first peek buffer, and one larger than the
// limit.
func TestReadProxyHeaderLarge(t *testing.T) {
	big := proxyproto.AppendV2(nil, ap("10.1.2.3:4000"), ap("10.9.9.9:443"), &proxyproto.V2{SendUID: true, UniqueID: make([]byte, 100), ALPN: make([]byte, 2000)})
	client, server := conntest.Pair(t, conn.NewLazyListener)
	client.Write(big)
	if h, err := readProxyHeader(server, time.Now().Add(3*time.Second), 16384); err != nil || len(h.ALPN) != 2000 {
		t.Errorf("large header: %v", err)
	}
	client, server = conntest.Pair(t, conn.NewLazyListener)
	client.Write(big)
	if _, err := readProxyHeader(server, time.Now().Add(3*time.Second), 1024); !errors.Is(err, proxyproto.ErrTruncated) {
		t.Errorf("header over the limit: %v", err)
	}
}

func TestReadProxyHeaderFailures(t *testing.T) {
	cases := []struct {
		send  string
		close bool
		err   error
	}{
		{"", true, errPPEmpty},
		{"PROXY TCP4 1.2", true, proxyproto.ErrTruncated},
		{"PROXY TCP4 1.2", false, errPPTimeout},
		{"SSH-2.0-x\r\n", false, proxyproto.ErrNotHeader},
	}
	for _, c := range cases {
		client, server := conntest.Pair(t, conn.NewLazyListener)
		client.Write([]byte(c.send))
		if c.close {
			client.(*net.TCPConn).CloseWrite()
		}
		if _, err := readProxyHeader(server, time.Now().Add(300*time.Millisecond), 16384); !errors.Is(err, c.err) {
			t.Errorf("%q close=%v: %v, want %v", c.send, c.close, err, c.err)
		}
	}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// lazyIf is the wrapper that makes a pair's server end lazy when lazy.
func lazyIf(lazy bool) func(net.Listener) net.Listener {
	if lazy {
		return conn.NewLazyListener
	}
	return nil
}
