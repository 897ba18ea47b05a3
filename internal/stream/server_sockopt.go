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
// (TCP_USER_TIMEOUT); nil when it has none.
//
// "tfo" sets nothing, as in haproxy 2.6 where TCP_FASTOPEN_CONNECT needs a
// "retry-on" covering conn-failure, empty-response and response-timeout
// (data sent with the SYN may have to be sent again): dhproxy has no
// retry-on.
func serverSockOpts(sc *model.Server) func(network, address string, c syscall.RawConn) error {
	if sc.UserTimeout <= 0 {
		return nil
	}
	ms := int(sc.UserTimeout / time.Millisecond)
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) {
			if e := unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, ms); e != nil {
				err = os.NewSyscallError("setsockopt TCP_USER_TIMEOUT (tcp-ut)", e)
			}
		})
		return err
	}
}
