package stream

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/model"
)

// serverSockOpts returns the dialer's hook that sets the socket options of
// the server line on each new connection before it connects: "tcp-ut"
// (TCP_USER_TIMEOUT) and "tfo" (TCP_FASTOPEN_CONNECT: the request leaves
// with the SYN once the kernel holds the server's cookie); nil when it has
// none. As in haproxy 2.6, "tfo" applies only when the backend's retry-on
// covers conn-failure, empty-response and response-timeout: data sent
// with the SYN may have to be sent again.
func serverSockOpts(sc *model.Server, retry model.RetryOn) func(network, address string, c syscall.RawConn) error {
	fastOpen := sc.FastOpen && retry.AllowsFastOpen()
	if sc.UserTimeout <= 0 && !fastOpen {
		return nil
	}
	ms := int(sc.UserTimeout / time.Millisecond)
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) {
			if ms > 0 {
				if e := unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, ms); e != nil {
					err = os.NewSyscallError("setsockopt TCP_USER_TIMEOUT (tcp-ut)", e)
					return
				}
			}
			if fastOpen {
				if e := unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 1); e != nil {
					err = os.NewSyscallError("setsockopt TCP_FASTOPEN_CONNECT (tfo)", e)
				}
			}
		})
		return err
	}
}
