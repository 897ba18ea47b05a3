package stream

import (
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/model"
)

// TestServerFastOpen: a "tfo" server's connections are made with
// TCP_FASTOPEN_CONNECT only when the backend's retry-on covers
// conn-failure, empty-response and response-timeout, as haproxy 2.6 does;
// tcp-ut sets TCP_USER_TIMEOUT either way.
func TestServerFastOpen(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	all := model.RetryConnFailure | model.RetryEmptyResponse | model.RetryResponseTimeout
	for _, tc := range []struct {
		srv      model.Server
		retry    model.RetryOn
		tfo, uto int
	}{
		{model.Server{FastOpen: true}, all, 1, 0},
		{model.Server{FastOpen: true}, model.RetryConnFailure | model.RetryEmptyResponse, 0, 0},
		{model.Server{FastOpen: true, UserTimeout: 2 * time.Second}, 0, 0, 2000},
		{model.Server{UserTimeout: time.Second}, all, 0, 1000},
	} {
		hook := serverSockOpts(&tc.srv, tc.retry)
		if hook == nil {
			if tc.tfo != 0 || tc.uto != 0 {
				t.Fatalf("%+v retry %b: no socket options set", tc.srv, tc.retry)
			}
			continue
		}
		d := net.Dialer{Control: hook}
		c, err := d.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := c.(syscall.Conn).SyscallConn()
		var tfo, uto int
		rc.Control(func(fd uintptr) {
			tfo, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT)
			uto, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
		})
		c.Close()
		if tfo != tc.tfo || uto != tc.uto {
			t.Errorf("%+v retry %b: TCP_FASTOPEN_CONNECT %d, TCP_USER_TIMEOUT %d; want %d, %d", tc.srv, tc.retry, tfo, uto, tc.tfo, tc.uto)
		}
	}
}
