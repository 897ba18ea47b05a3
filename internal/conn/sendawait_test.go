package conn

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// TestSendAwait: SendAwait sends the request, then returns only once the
// answer can be read (the server answers after a delay); a read deadline
// already past leaves the request unsent for a plain Write; a connection
// without descriptor does not use it.
func TestSendAwait(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const delay = 50 * time.Millisecond
	got := make(chan string, 4)
	go func() {
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		br := bufio.NewReader(s)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			got <- line
			time.Sleep(delay)
			s.Write([]byte("pong\n"))
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fd := NewFD(c, nil)

	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	used, err := fd.SendAwait([]byte("ping\n"))
	if !used || err != nil {
		t.Fatalf("SendAwait = %v, %v; want true, nil", used, err)
	}
	if d := time.Since(start); d < delay {
		t.Errorf("SendAwait returned after %v, before the answer (sent after %v)", d, delay)
	}
	if line := <-got; line != "ping\n" {
		t.Fatalf("server got %q", line)
	}
	// The answer is there: a read with a deadline already past still
	// finds it, as the first attempt runs before any wait.
	buf := make([]byte, 16)
	n, err := fd.Read(buf)
	if err != nil || string(buf[:n]) != "pong\n" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}

	c.SetReadDeadline(time.Now().Add(-time.Second))
	if used, err := fd.SendAwait([]byte("late\n")); used || err != nil {
		t.Fatalf("SendAwait past the deadline = %v, %v; want false, nil", used, err)
	}
	select {
	case line := <-got:
		t.Fatalf("server got %q from a SendAwait that was not used", line)
	case <-time.After(delay):
	}

	plain := NewFDOver(c)
	if used, _ := plain.SendAwait([]byte("x\n")); used {
		t.Fatal("SendAwait used without descriptor")
	}
}
