package stream

import "syscall"

// ListenerFDs returns the descriptors of the listening sockets, for a
// runtime API socket with "expose-fd listeners": the process started with
// -x takes them over. They stay this process's until it closes them.
func (rt *Runtime) ListenerFDs() []int {
	var fds []int
	for _, l := range rt.listeners {
		var rc syscall.RawConn
		switch l := l.(type) {
		case *lazyListener:
			rc = l.rc
		case syscall.Conn:
			rc, _ = l.SyscallConn()
		}
		if rc != nil {
			rc.Control(func(fd uintptr) { fds = append(fds, int(fd)) })
		}
	}
	return fds
}
