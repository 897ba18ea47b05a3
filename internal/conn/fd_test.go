package conn

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestFDReadWrite: on a TCP connection FD's Read and Write (used without
// a buffer pool, as the HTTP/2 links do) are raw calls through the
// RawConn with net.Conn's behaviour: whole writes, io.EOF at the peer's
// end, the read deadline, and an error (no SIGPIPE) writing to a peer that
// is gone. Connections without a descriptor go through net.Conn.
func TestFDReadWrite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			peer <- c
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := <-peer
	var s FD
	if !s.Attach(c, nil) {
		t.Fatal("a TCP connection is not read raw")
	}

	big := make([]byte, 4<<20) // beyond the socket buffers: waits for the peer
	done := make(chan error, 1)
	go func() {
		_, err := io.CopyN(io.Discard, p, int64(len(big)))
		done <- err
	}()
	if n, err := s.Write(big); n != len(big) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	p.Write([]byte("hello"))
	buf := make([]byte, 16)
	if n, err := s.Read(buf); string(buf[:n]) != "hello" || err != nil {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := s.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	p.Close()
	if n, err := s.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read at the peer's end = %d, %v", n, err)
	}
	var werr error
	for range 100 {
		if _, werr = s.Write([]byte("x")); werr != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if werr == nil {
		t.Fatal("writes to a closed peer do not fail")
	}

	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var ps FD
	if ps.Attach(a, nil) {
		t.Fatal("a pipe has no descriptor")
	}
	ps = *NewFDOver(a)
	go b.Write([]byte("pipe"))
	if n, err := ps.Read(buf); string(buf[:n]) != "pipe" || err != nil {
		t.Fatalf("pipe Read = %q, %v", buf[:n], err)
	}
}
