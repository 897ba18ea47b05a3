package stream

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/model"
)

// serverSockOpts returns the dialer's hook that sets the socket options of
// the server line on each new connection before it connects: "tfo"
// (TCP_FASTOPEN_CONNECT: the first data leaves with the SYN once the
// server gave a cookie) and "tcp-ut" (TCP_USER_TIMEOUT); nil when it has
// none.
func serverSockOpts(sc *model.Server) func(network, address string, c syscall.RawConn) error {
	if !sc.FastOpen && sc.UserTimeout <= 0 {
		return nil
	}
	tfo, ut := sc.FastOpen, int(sc.UserTimeout/time.Millisecond)
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) {
			if tfo {
				if e := unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 1); e != nil {
					err = os.NewSyscallError("setsockopt TCP_FASTOPEN_CONNECT (tfo)", e)
					return
				}
			}
			if ut > 0 {
				if e := unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, ut); e != nil {
					err = os.NewSyscallError("setsockopt TCP_USER_TIMEOUT (tcp-ut)", e)
				}
			}
		})
		return err
	}
}
