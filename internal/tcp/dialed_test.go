//go:build linux

package tcp

import (
	"crypto/sha256"
	"io"
	"net"
	"testing"
	"time"

	"dhproxy/internal/conn"
)

// A server socket of conn.DialTCP (not a *net.TCPConn) is spliced as Go's
// sockets are, and its reset is seen in the socket's TCP state.
func TestDialedServerSocket(t *testing.T) {
	front, backend := listen(t), listen(t)
	cli := dial(t, front.Addr())
	pc := accept(t, front)
	ps, err := conn.DialTCP(backend.Addr().(*net.TCPAddr).AddrPort(), time.Now().Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	back := accept(t, backend)
	if _, _, ok := rawConns(pc, ps); !ok {
		t.Fatal("a dialed server socket is not spliced")
	}
	if _, _, ok := rawConns(ps, pc); !ok {
		t.Fatal("a dialed server socket is not spliced from")
	}
	done := make(chan Result, 1)
	go func() {
		done <- Forward(pc, ps.(HalfCloser), Timeouts{Client: 5 * time.Second, Server: 5 * time.Second}, testPipes)
	}()
	up := randBytes(t, 1<<20)
	go func() {
		buf := make([]byte, 64<<10)
		var sum int
		for sum < len(up) {
			n, err := back.Read(buf)
			if err != nil {
				return
			}
			back.Write(buf[:n])
			sum += n
		}
	}()
	go cli.Write(up)
	got := make([]byte, len(up))
	if _, err := io.ReadFull(cli, got); err != nil || sha256.Sum256(got) != sha256.Sum256(up) {
		t.Fatalf("echo through the dialed socket: %v", err)
	}
	reset(t, back) // once all came back: the reset drops what the socket holds
	checkTerm(t, wait(t, done, 3*time.Second), "SD")
	if !tcpClosed(ps) {
		t.Fatal("the reset server socket is not in CLOSE state")
	}
}
