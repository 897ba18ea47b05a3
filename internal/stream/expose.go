package stream

import "syscall"

// ListenerFDs returns the descriptors of the listening sockets, for a
// runtime API socket with "expose-fd listeners": the process started with
// -x takes them over. They stay this process's until it closes them.
func (rt *Runtime) ListenerFDs() []int {
	var fds []int
	for _, l := range rt.listeners {
		var rc syscall.RawConn
		if sc, ok := l.(syscall.Conn); ok { // lazy listeners too
			rc, _ = sc.SyscallConn()
		}
		if rc != nil {
			rc.Control(func(fd uintptr) { fds = append(fds, int(fd)) })
		}
	}
	return fds
}
