package check

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// delayACK turns TCP_QUICKACK off before a pure connect check, so that the
// kernel holds back the last ACK of the handshake and the reset that closes
// the check reaches the server first: the server's application never
// accepts the check connection, as with HAProxy, whose checks thus stay out
// of the servers' logs.
func delayACK(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 0)
	}); err != nil {
		return err
	}
	return serr
}

// setUserTimeout sets TCP_USER_TIMEOUT (the server's "tcp-ut", which
// haproxy gives its check connections too).
func setUserTimeout(c syscall.RawConn, ms int) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, ms)
	}); err != nil {
		return err
	}
	return serr
}
