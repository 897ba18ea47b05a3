package conn

import (
	"log"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// waitSet is an epoll set of the proxy's own where lazy sockets wait to
// become readable, instead of entering Go's poller. Registering with the
// poller costs an os.File, an fcntl, an epoll_ctl to add and another to
// delete at close, and a close through the runtime's blocking-call path
// (which wakes its monitor thread); a "Connection: close" client often
// needs exactly one such wait, for a request sent just after its
// handshake. Here a wait costs one raw epoll_ctl (EPOLLONESHOT, re-armed
// with MOD), and closing the socket takes it out of the set. One goroutine
// waits on the set through Go's poller and wakes the waiting sessions.
type waitSet struct {
	epfd int

	mu    sync.Mutex
	slots []chan struct{} // the wake-up of the wait in each slot, nil when free
	gens  []int32         // a slot's generation: an event of an earlier one is stale
	free  []int32

	// The loop's: the events read, the sockets to wake, a failure of
	// epoll_pwait, the bound collect.
	events [128]unix.EpollEvent
	ready  []chan struct{}
	failed syscall.Errno
	poll   func(fd uintptr) bool
}

var (
	waitSetOnce sync.Once
	waitSetErr  error
	theWaitSet  *waitSet
)

// waits returns the process's wait set, nil when it could not be made (the
// sockets then wait in Go's poller).
func waits() *waitSet {
	waitSetOnce.Do(func() {
		theWaitSet, waitSetErr = newWaitSet()
		if waitSetErr != nil {
			log.Printf("[WARNING] client sockets wait in Go's poller: %v", waitSetErr)
		}
	})
	return theWaitSet
}

func newWaitSet() (*waitSet, error) {
	_, epfd, rc, err := newEpoll("lazy-wait-epoll")
	if err != nil {
		return nil, err
	}
	ws := &waitSet{epfd: epfd}
	ws.poll = ws.collect
	go ws.loop(rc)
	return ws, nil
}

// loop wakes the sockets that became readable, for the life of the process.
func (ws *waitSet) loop(rc syscall.RawConn) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("[ALERT] lazy socket wait loop: panic: %v", r)
		}
	}()
	for {
		err := rc.Read(ws.poll)
		if err == nil && ws.failed != 0 {
			err = os.NewSyscallError("epoll_pwait", ws.failed)
		}
		if err != nil {
			log.Printf("[ALERT] lazy socket wait loop: %v", err)
			return
		}
		for i, wake := range ws.ready {
			wakeUp(wake)
			ws.ready[i] = nil
		}
		ws.ready = ws.ready[:0]
	}
}

// collect takes the pending events (raw epoll_pwait, not blocking: Go's
// poller did the waiting) and frees their slots; false when there were
// none.
//
// It always looks, even after a call that emptied the set: Go's poller
// clears the epoll descriptor's readiness before each try, so an event
// that came after the last look would be lost until a later one (a
// skipped look left clients waiting for their timeout, 408).
func (ws *waitSet) collect(uintptr) bool {
	n, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ws.epfd), uintptr(unsafe.Pointer(&ws.events[0])), uintptr(len(ws.events)), 0, 0, 0)
	switch e {
	case 0:
		if n == 0 {
			return false
		}
	case syscall.EINTR, syscall.EAGAIN:
		return false
	default:
		ws.failed = e
		return true
	}
	ws.mu.Lock()
	for _, ev := range ws.events[:n] {
		if wake := ws.release(ev.Fd, ev.Pad); wake != nil {
			ws.ready = append(ws.ready, wake)
		}
	}
	ws.mu.Unlock()
	return true
}

// release frees slot idx of generation gen and returns its wait's
// wake-up; nil if the slot was freed already. ws.mu is held.
func (ws *waitSet) release(idx, gen int32) chan struct{} {
	if idx < 0 || int(idx) >= len(ws.slots) || ws.gens[idx] != gen || ws.slots[idx] == nil {
		return nil
	}
	c := ws.slots[idx]
	ws.slots[idx] = nil
	ws.gens[idx]++
	ws.free = append(ws.free, idx)
	return c
}

// leave frees the slot of a wait that ended; true when no event had freed
// it (deadline, close): the descriptor's entry is still armed then.
func (ws *waitSet) leave(idx, gen int32) bool {
	ws.mu.Lock()
	armed := ws.release(idx, gen) != nil
	ws.mu.Unlock()
	return armed
}

// add arms c's descriptor for one readable event, which wakes sw; c.mu is
// held.
func (ws *waitSet) add(c *lazyConn, sw *setWait) (idx, gen int32, err error) {
	ws.mu.Lock()
	if n := len(ws.free); n > 0 {
		idx = ws.free[n-1]
		ws.free = ws.free[:n-1]
	} else {
		idx = int32(len(ws.slots))
		ws.slots = append(ws.slots, nil)
		ws.gens = append(ws.gens, 0)
	}
	ws.slots[idx] = sw.wake
	gen = ws.gens[idx]
	ws.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: idx, Pad: gen}
	op := unix.EPOLL_CTL_ADD
	if sw.inSet && sw.fd == c.fd {
		op = unix.EPOLL_CTL_MOD // armed before: an entry stays until close
	}
	e := epollCtl(ws.epfd, op, c.fd, &ev)
	switch {
	case e == syscall.ENOENT && op == unix.EPOLL_CTL_MOD:
		e = epollCtl(ws.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev)
	case e == syscall.EEXIST && op == unix.EPOLL_CTL_ADD:
		e = epollCtl(ws.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev)
	}
	if e != 0 {
		ws.leave(idx, gen)
		return 0, 0, os.NewSyscallError("epoll_ctl", e)
	}
	sw.inSet, sw.fd = true, c.fd
	return idx, gen, nil
}

// epollCtl is epoll_ctl as a raw system call (it never blocks).
func epollCtl(epfd, op, fd int, ev *unix.EpollEvent) syscall.Errno {
	_, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return e
}

// newEpoll makes a non-blocking epoll descriptor that Go's poller watches,
// so that a loop can wait on it through rc (which keeps f, and so the
// descriptor, alive).
func newEpoll(name string) (f *os.File, epfd int, rc syscall.RawConn, err error) {
	epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, -1, nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, -1, nil, os.NewSyscallError("setnonblock", err)
	}
	f = os.NewFile(uintptr(epfd), name)
	if rc, err = f.SyscallConn(); err != nil {
		f.Close()
		return nil, -1, nil, err
	}
	return f, epfd, rc, nil
}
