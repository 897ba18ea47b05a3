package conn

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	_ "unsafe" // go:linkname
)

// A registered lazy socket (lazyConn) waits in the runtime's poller
// through the calls internal/poll makes for every net.Conn and os.File,
// used here directly. The difference is when a read may wait without
// trying first: internal/poll forgets the readiness the poller noted at
// the start of every read, so each read must try the socket and fails
// with EAGAIN when the client has not spoken yet (a system call, about 5 %
// of a keep-alive request's CPU on this machine; haproxy makes none). A
// read that follows a short one (it took all there was) can wait at once:
// the poller is edge-triggered, so every byte that arrived since that read
// has marked the socket readable, and the wait returns at once then. A FIN
// that came in the same segment as (or just behind) those last bytes is
// announced by nothing later, so only a reader that learns of the peer's
// end another way asks for it (FD.WaitFirst: the HTTP/2 reader, while a
// stream is under way and before a GOAWAY). Registering here directly
// also spares a registered socket the os.File, dup and close that parking
// it cost through internal/poll.

//go:linkname runtime_pollServerInit internal/poll.runtime_pollServerInit
func runtime_pollServerInit()

//go:linkname runtime_pollOpen internal/poll.runtime_pollOpen
func runtime_pollOpen(fd uintptr) (uintptr, int)

//go:linkname runtime_pollClose internal/poll.runtime_pollClose
func runtime_pollClose(ctx uintptr)

//go:linkname runtime_pollReset internal/poll.runtime_pollReset
func runtime_pollReset(ctx uintptr, mode int) int

//go:linkname runtime_pollWait internal/poll.runtime_pollWait
func runtime_pollWait(ctx uintptr, mode int) int

//go:linkname runtime_pollSetDeadline internal/poll.runtime_pollSetDeadline
func runtime_pollSetDeadline(ctx uintptr, d int64, mode int)

//go:linkname runtime_pollUnblock internal/poll.runtime_pollUnblock
func runtime_pollUnblock(ctx uintptr)

// The runtime's answers (runtime/netpoll.go).
const (
	pollErrClosing     = 1
	pollErrTimeout     = 2
	pollErrNotPollable = 3
)

var (
	pollInit       sync.Once
	errNotPollable = errors.New("socket not pollable")
)

// pollOpen registers fd with the poller; the record is the returned ctx
// (the runtime's own allocation, outside the collected heap).
func pollOpen(fd int) (uintptr, error) {
	pollInit.Do(runtime_pollServerInit)
	ctx, errno := runtime_pollOpen(uintptr(fd))
	if errno != 0 {
		return 0, os.NewSyscallError("epoll_ctl", syscall.Errno(errno))
	}
	return ctx, nil
}

// pollError turns the runtime's code into the error internal/poll gives.
func pollError(code int) error {
	switch code {
	case pollErrClosing:
		return net.ErrClosed
	case pollErrTimeout:
		return os.ErrDeadlineExceeded
	case pollErrNotPollable:
		return errNotPollable
	}
	return nil
}

// pollDeadline sets a registered socket's deadline for mode ('r' or 'w'),
// t in Unix nanoseconds (0: none, as unixNanos gives).
func pollDeadline(ctx uintptr, t int64, mode int) {
	var d int64
	if t != 0 {
		if d = int64(time.Until(time.Unix(0, t))); d == 0 {
			d = -1 // now: already passed
		}
	}
	runtime_pollSetDeadline(ctx, d, mode)
}

// pollRun runs f on fd until it is done, waiting in the poller whenever it
// is not. waitFirst skips the first attempt: the caller's last read
// drained the socket (see above).
func pollRun(ctx, fd uintptr, f func(fd uintptr) bool, mode int, waitFirst bool) error {
	if !waitFirst {
		if code := runtime_pollReset(ctx, mode); code != 0 {
			return pollError(code)
		}
		if f(fd) {
			return nil
		}
	}
	for {
		if code := runtime_pollWait(ctx, mode); code != 0 {
			return pollError(code)
		}
		// What arrived since the wait ended (a client's frames come in
		// several segments) is read now: forgotten, it does not end the
		// next wait-first at once for a read that finds nothing.
		runtime_pollReset(ctx, mode)
		if f(fd) {
			return nil
		}
	}
}
