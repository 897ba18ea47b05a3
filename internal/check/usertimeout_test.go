package check

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCheckUserTimeout: a server's "tcp-ut" is on its check connections
// too, as in haproxy (pure connect checks included).
func TestCheckUserTimeout(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, pure := range []bool{false, true} {
		c, res, ok := connect(context.Background(), l.Addr().String(), timing{inter: 2 * time.Second, userTimeout: 1500}, time.Now(), pure)
		if !ok {
			t.Fatalf("connect: %+v", res)
		}
		rc, _ := c.(syscall.Conn).SyscallConn()
		rc.Control(func(fd uintptr) {
			if ut, _ := unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT); ut != 1500 {
				t.Errorf("pure %v: TCP_USER_TIMEOUT %d, want 1500", pure, ut)
			}
		})
		c.Close()
	}
}
