package conn

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// lazyConn is an accepted client socket that Go's poller learns about only
// when the connection first has to wait. net.Listener.Accept registers
// every socket with epoll, asks for its local address and sets TCP_NODELAY
// (four system calls beside accept4 and close); most clients of a
// "Connection: close" exchange never wait: the request is there when the
// socket is accepted and the answer fits the send buffer. HAProxy makes no
// epoll call for them either.
//
// Reads and writes go through the RawConn (FD): the first attempt runs
// on the bare descriptor; an attempt that would block registers the socket
// with Go's poller (poller.go) and waits there, with the deadlines set so
// far.
type lazyConn struct {
	fd     int
	remote net.TCPAddr
	ip     [16]byte // remote.IP's storage: one allocation per connection

	mu sync.Mutex
	// pd is the socket's record in Go's poller once it had to wait
	// (poller.go), 0 before.
	pd     uintptr
	local  *net.TCPAddr
	rd, wd int64 // deadlines, Unix nanoseconds (0: none)

	// The reads of the socket's first setReads waits in the wait set
	// (waitset.go), with sw; waiting while a reader waits there: the
	// wait for the first request (sent just after the handshake) and the
	// first wait for a next one, after which most idle clients park. A
	// socket registered with Go's poller holds a poller record (kept by
	// the runtime for reuse, never given back) and costs an epoll_ctl
	// more to park; a client that keeps talking registers from its
	// third read on: a wait in the set costs an epoll_ctl and a hop
	// through the set's goroutine each time, where a registered socket
	// costs nothing more. The small fields come last: the object stays
	// 128 bytes.
	sw      *setWait
	reads   uint8 // read attempts so far, counted up to setReads
	closed  bool
	waiting bool
	// dialed: a server socket DialTCP opened (registered from the start).
	dialed bool
	// inPoller counts the calls using pd without mu, which Close lets
	// finish before it frees the record.
	inPoller atomic.Int32
}

// setReads is how many of a socket's first read attempts wait in the wait
// set when they must wait.
const setReads = 2

// setWait is what a wait in the wait set uses, kept until the connection
// parks or ends.
type setWait struct {
	wake  chan struct{}
	timer *time.Timer
	fd    int // the descriptor that has an entry in the set (inSet)
	inSet bool
	armed bool // the entry is armed still: the wait ended without an event
}

// lazyListener accepts lazy connections for an HTTP frontend. It waits
// on the listening descriptor registered as an os.File: the net package's
// RawConn cannot wait on a listener. The descriptor is moved out of the
// net.Listener (duplicated, then the original closed) so a bind keeps one
// socket descriptor. TCP_NODELAY is set once on the listening socket
// (accepted sockets inherit it) instead of on each accepted one.
type lazyListener struct {
	file   *os.File
	rc     syscall.RawConn
	addr   net.Addr
	closed atomic.Bool

	// One accept at a time fills the fields below, through acceptFn
	// (bound once: a closure per call would be an allocation).
	mu       sync.Mutex
	acceptFn func(fd uintptr) bool
	nfd      int
	sa       syscall.RawSockaddrAny
	errno    syscall.Errno
}

// NewLazyListener wraps l so that it accepts lazily registered
// connections, or returns l itself when it is not a TCP listener or the
// wrapping fails.
func NewLazyListener(l net.Listener) net.Listener {
	tl, ok := l.(*net.TCPListener)
	if !ok {
		return l
	}
	src, err := tl.SyscallConn()
	if err != nil {
		return l
	}
	dup := -1
	var cerr error
	src.Control(func(fd uintptr) {
		if cerr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); cerr == nil {
			dup, cerr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
		}
	})
	if cerr != nil || dup < 0 {
		return l
	}
	if err := unix.SetNonblock(dup, true); err != nil {
		unix.Close(dup)
		return l
	}
	f := os.NewFile(uintptr(dup), "listener")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return l
	}
	addr := l.Addr()
	l.Close()
	ll := &lazyListener{file: f, rc: rc, addr: addr}
	ll.acceptFn = ll.acceptAttempt
	return ll
}

func (ll *lazyListener) Accept() (net.Conn, error) {
	ll.mu.Lock()
	c, err := ll.accept()
	ll.mu.Unlock()
	if err != nil && ll.closed.Load() {
		err = net.ErrClosed
	}
	return c, err
}

func (ll *lazyListener) Addr() net.Addr { return ll.addr }

// SyscallConn reaches the listening socket (pause, expose-fd listeners).
func (ll *lazyListener) SyscallConn() (syscall.RawConn, error) { return ll.rc, nil }

func (ll *lazyListener) Close() error {
	ll.closed.Store(true)
	return ll.file.Close()
}

// accept takes one connection, waiting on the listening socket, or
// reports the error as net.Listener.Accept would; ll.mu is held.
func (ll *lazyListener) accept() (net.Conn, error) {
	ll.errno = 0
	if err := ll.rc.Read(ll.acceptFn); err != nil {
		return nil, err
	}
	if ll.errno != 0 {
		return nil, os.NewSyscallError("accept4", ll.errno)
	}
	c := &lazyConn{fd: ll.nfd}
	switch ll.sa.Addr.Family {
	case syscall.AF_INET:
		a := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&ll.sa))
		c.remote.IP = c.ip[:copy(c.ip[:], a.Addr[:])]
		c.remote.Port = netPort(a.Port)
	case syscall.AF_INET6:
		a := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&ll.sa))
		c.remote.IP = c.ip[:copy(c.ip[:], a.Addr[:])]
		c.remote.Port = netPort(a.Port)
		if a.Scope_id != 0 { // link-local: the zone is the interface's name
			c.remote.Zone = sockaddrToTCP(&syscall.SockaddrInet6{ZoneId: a.Scope_id}).(*net.TCPAddr).Zone
		}
	}
	return c, nil
}

// acceptAttempt runs accept4 as a raw system call, as rawRead does: on
// the non-blocking listening socket it never blocks, and the runtime's
// bookkeeping of a blocking call lets its monitor thread hand the only P
// to another thread when it sees the call last (one more thread wake-up
// and context switch on a proxy pinned to one CPU).
func (ll *lazyListener) acceptAttempt(fd uintptr) bool {
	for {
		n := uint32(syscall.SizeofSockaddrAny)
		r, _, e := syscall.RawSyscall6(syscall.SYS_ACCEPT4, fd, uintptr(unsafe.Pointer(&ll.sa)), uintptr(unsafe.Pointer(&n)),
			syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
		switch e {
		case syscall.EINTR, syscall.ECONNABORTED:
			continue
		case syscall.EAGAIN:
			return false
		}
		ll.nfd, ll.errno = int(r), e
		return true
	}
}

// netPort reads a port in network byte order.
func netPort(p uint16) int {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return int(b[0])<<8 | int(b[1])
}

// sockaddrToTCP converts a socket address; the syscall package's calls are
// used because x/sys/unix asks the socket's protocol (one more system
// call) for every IPv4 address it decodes.
func sockaddrToTCP(sa syscall.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
	case *syscall.SockaddrInet6:
		ta := &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				ta.Zone = ifi.Name
			}
		}
		return ta
	}
	return &net.TCPAddr{}
}

// register hands the socket to the poller, with the deadlines set so far;
// c.mu is held.
func (c *lazyConn) register() error {
	pd, err := pollOpen(c.fd)
	if err != nil {
		return err
	}
	if c.rd != 0 {
		pollDeadline(pd, c.rd, 'r')
	}
	if c.wd != 0 {
		pollDeadline(pd, c.wd, 'w')
	}
	c.pd = pd
	return nil
}

// release frees the socket's poller record (which also leaves the epoll
// set); c.mu is held, and nobody waits on the socket or starts to.
func (c *lazyConn) release() {
	runtime_pollUnblock(c.pd)
	for c.inPoller.Load()&^closedBit > 0 {
		runtime.Gosched() // a call woken by the unblock returns
	}
	runtime_pollClose(c.pd)
	c.pd = 0
}

// unregister takes the socket out of Go's poller when it parks: the
// record is given back to the runtime's cache, the next wait registers
// again.
func (c *lazyConn) unregister() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pd == 0 || c.closed || c.inPoller.Load() > 0 {
		return
	}
	c.release()
}

// registered reports whether the socket is in Go's poller.
func (c *lazyConn) registered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pd != 0
}

// lazyOf returns the lazy socket under c, nil when there is none.
func lazyOf(c net.Conn) *lazyConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
		if tt, ok := c.(*TLSTransport); ok {
			c = tt.Conn
		}
	}
	lc, _ := c.(*lazyConn)
	return lc
}

// SyscallConn lets FD run its raw reads and writes on the socket.
func (c *lazyConn) SyscallConn() (syscall.RawConn, error) { return lazyRaw{c}, nil }

type lazyRaw struct{ c *lazyConn }

func (r lazyRaw) Control(f func(fd uintptr)) error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if r.c.closed {
		return net.ErrClosed
	}
	f(uintptr(r.c.fd))
	return nil
}

func (r lazyRaw) Read(f func(fd uintptr) bool) error  { return r.c.wait(f, true, false) }
func (r lazyRaw) Write(f func(fd uintptr) bool) error { return r.c.wait(f, false, false) }

// wait runs f on the bare descriptor first; when f needs readiness it
// waits through the poller. The lock held around the bare attempt keeps
// Close from freeing the descriptor number under it. drained: f's last
// read drained the socket; a registered one then waits before the
// first attempt (poller.go).
func (c *lazyConn) wait(f func(fd uintptr) bool, read, drained bool) error {
	if c.dialed {
		return c.dialedWait(f, read)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	if c.pd == 0 {
		dl := c.wd
		if read {
			dl = c.rd
		}
		// An expired deadline fails the call before any attempt, as the
		// poller does.
		if dl != 0 && time.Now().UnixNano() >= dl {
			c.mu.Unlock()
			return os.ErrDeadlineExceeded
		}
		done := f(uintptr(c.fd))
		inSet := read && c.reads < setReads
		if inSet {
			c.reads++
		}
		if done {
			c.mu.Unlock()
			return nil
		}
		if inSet {
			if ws := waits(); ws != nil {
				return c.waitInSet(ws, f)
			}
		}
		if err := c.register(); err != nil {
			c.mu.Unlock()
			return err
		}
		drained = false // tried just now, before it was registered
	}
	return c.pollerWait(f, read, drained)
}

// pollerWait runs f through Go's poller, the socket being registered;
// c.mu is held on entry.
func (c *lazyConn) pollerWait(f func(fd uintptr) bool, read, waitFirst bool) error {
	pd, fd := c.pd, uintptr(c.fd)
	c.inPoller.Add(1)
	c.mu.Unlock()
	mode := 'w'
	if read {
		mode = 'r'
	}
	err := pollRun(pd, fd, f, int(mode), waitFirst)
	c.inPoller.Add(-1)
	return err
}

// dialedWait is wait for a socket DialTCP opened, registered from the
// start and never parked: its poller record and descriptor stay until
// Close, so the call only has to keep Close from freeing them under it.
// inPoller alone does that (Close sets closedBit in it, then waits for the
// calls counted to end), without the lock: a lock and an unlock per call
// were two more locked instructions, half of a wait's own cost in profiles.
func (c *lazyConn) dialedWait(f func(fd uintptr) bool, read bool) error {
	if c.inPoller.Add(1) >= closedBit {
		c.inPoller.Add(-1)
		return net.ErrClosed
	}
	mode := 'w'
	if read {
		mode = 'r'
	}
	err := pollRun(c.pd, uintptr(c.fd), f, int(mode), false)
	c.inPoller.Add(-1)
	return err
}

// closedBit marks a closed dialed socket in inPoller.
const closedBit = 1 << 30

// waitInSet waits in the wait set until f, run again after each wake-up,
// is done: the socket became readable, or the deadline passed, or the
// socket was closed. c.mu is held on entry, f has just failed.
func (c *lazyConn) waitInSet(ws *waitSet, f func(fd uintptr) bool) error {
	sw := c.sw
	if sw == nil {
		sw = &setWait{wake: make(chan struct{}, 1)}
		c.sw = sw
	}
	for {
		idx, gen, err := ws.add(c, sw)
		if err != nil { // not expected: wait in Go's poller instead
			if err := c.register(); err != nil {
				c.mu.Unlock()
				return err
			}
			return c.pollerWait(f, true, false)
		}
		c.waiting = true
		dl := c.rd
		c.mu.Unlock()
		var expired <-chan time.Time
		if dl != 0 {
			d := time.Duration(dl - time.Now().UnixNano())
			if sw.timer == nil {
				sw.timer = time.NewTimer(d)
			} else {
				sw.timer.Reset(d)
			}
			expired = sw.timer.C
		}
		select {
		case <-sw.wake:
		case <-expired:
		}
		if sw.timer != nil {
			sw.timer.Stop()
		}
		armed := ws.leave(idx, gen)
		c.mu.Lock()
		c.waiting, sw.armed = false, armed
		if c.closed {
			c.mu.Unlock()
			return net.ErrClosed
		}
		if c.rd != 0 && time.Now().UnixNano() >= c.rd {
			c.mu.Unlock()
			return os.ErrDeadlineExceeded
		}
		if f(uintptr(c.fd)) {
			c.mu.Unlock()
			return nil
		}
	}
}

// forgetWaits drops what a wait in the wait set kept, for a connection
// that parks: a parked one should hold as little as possible, and its
// entry, left armed by a wait that a deadline ended, would wake the wait
// set's loop for nothing when the client speaks.
func (c *lazyConn) forgetWaits() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.waiting || c.closed {
		return
	}
	if sw := c.sw; sw != nil && sw.armed && sw.inSet && sw.fd == c.fd {
		if ws := waits(); ws != nil {
			epollCtl(ws.epfd, unix.EPOLL_CTL_DEL, c.fd, &unix.EpollEvent{})
		}
	}
	c.sw = nil
}

// wakeUp ends a wait in the wait set, which then looks again at its
// socket, its deadline and whether it was closed.
func wakeUp(wake chan struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

func (c *lazyConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var rerr error
	err := c.wait(func(fd uintptr) bool {
		for {
			m, e := rawRead(fd, p)
			switch e {
			case 0:
				n = m
				if m == 0 {
					rerr = io.EOF
				}
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			default:
				rerr = e
			}
			return true
		}
	}, true, false)
	if err != nil {
		return 0, err
	}
	return n, rerr
}

func (c *lazyConn) Write(p []byte) (int, error) {
	var off int
	var werr error
	err := c.wait(func(fd uintptr) bool {
		for off < len(p) {
			n, e := rawWrite(fd, p[off:])
			switch e {
			case 0:
				off += n
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false
			default:
				werr = e
				return true
			}
		}
		return true
	}, false, false)
	if err == nil {
		err = werr
	}
	return off, err
}

// CloseWrite sends FIN, for tunnelled (upgraded) exchanges.
func (c *lazyConn) CloseWrite() error { return unix.Shutdown(c.fd, unix.SHUT_WR) }

func (c *lazyConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	c.closed = true
	if c.dialed {
		c.inPoller.Add(closedBit) // no dialedWait starts now
	}
	if c.waiting {
		wakeUp(c.sw.wake)
	}
	if c.pd != 0 {
		c.release()
	}
	// A raw call, as accept4's (the socket is non-blocking and never
	// lingers, so close does not block).
	if _, _, e := syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(c.fd), 0, 0); e != 0 {
		return e
	}
	return nil
}

func (c *lazyConn) RemoteAddr() net.Addr { return &c.remote }

// LocalAddr asks the kernel on first use only: most sessions never need it.
func (c *lazyConn) LocalAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.local == nil {
		c.local = &net.TCPAddr{}
		if !c.closed {
			if sa, err := syscall.Getsockname(c.fd); err == nil {
				c.local = sockaddrToTCP(sa).(*net.TCPAddr)
			}
		}
	}
	return c.local
}

func (c *lazyConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *lazyConn) SetReadDeadline(t time.Time) error {
	return c.setDeadline(t, &c.rd, 'r')
}

func (c *lazyConn) SetWriteDeadline(t time.Time) error {
	return c.setDeadline(t, &c.wd, 'w')
}

// setDeadline keeps t in *d for the wait still to come and, once the
// socket is in the poller, sets it there for mode too.
func (c *lazyConn) setDeadline(t time.Time, d *int64, mode int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	*d = unixNanos(t)
	if c.waiting && d == &c.rd {
		wakeUp(c.sw.wake) // to wait again with the new deadline
	}
	if c.pd != 0 {
		pollDeadline(c.pd, *d, mode)
	}
	return nil
}

// unixNanos is t in Unix nanoseconds, 0 for the zero time (no deadline);
// a deadline before 1970 (longAgo) stays in the past.
func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixNano(), 1)
}
