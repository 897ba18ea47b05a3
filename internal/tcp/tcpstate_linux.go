package tcp

import (
	"net"
	"syscall"
	"unsafe"
)

// tcpClosed reports whether c is a TCP socket in CLOSE state, which during a
// live session means it was reset.
func tcpClosed(c net.Conn) bool {
	rc, ok := tcpRaw(Underlying(c))
	if !ok {
		return false
	}
	const tcpClose = 7 // TCP_CLOSE in linux/tcp_states.h
	var state byte
	var errno syscall.Errno
	rc.Control(func(fd uintptr) {
		// tcpi_state is the first byte of struct tcp_info and the kernel
		// copies only the length asked for, so no struct layout is needed.
		l := uint32(1)
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP,
			syscall.TCP_INFO, uintptr(unsafe.Pointer(&state)), uintptr(unsafe.Pointer(&l)), 0)
	})
	return errno == 0 && state == tcpClose
}
