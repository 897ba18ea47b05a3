package stream

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// fdConn does a socket's reads and writes through its RawConn, with raw
// system calls on the non-blocking descriptor. Two reasons:
//   - a read can take its buffer from the pool only once data is there, so a
//     keep-alive session waiting for its next request holds no buffer;
//   - a raw call does not hand the scheduler's P over while in the kernel;
//     such a call never blocks, and handing over costs more than the call
//     (thread wake-ups by the runtime's monitor under load).
//
// Deadlines set on the net.Conn still apply: the RawConn waits honour them.
type fdConn struct {
	rc syscall.RawConn
	// conn carries the I/O instead when there is no descriptor to use (a
	// TLS server connection): rc is nil then.
	conn io.ReadWriter

	rp   []byte   // read target, or nil to read into a pool buffer
	pool *bufPool // supplies pool buffers
	box  *[]byte  // the pool buffer taken by the current read
	rn   int
	rerr error
	rfn  func(fd uintptr) bool

	wp   []byte
	wn   int
	werr error
	wfn  func(fd uintptr) bool

	afn    func(fd uintptr) bool // awaitAttempt, bound by the first SendAwait
	aState uint8                 // SendAwait's progress

	nread, nwritten int64 // bytes through this descriptor, for the stats
	// h1 is the backend counters that a server connection's bytes also go
	// to (the h1 module's h1_bytes_in/out); nil on client connections,
	// whose bytes the session counts per request.
	h1 *Counters
}

// counted adds n bytes read (in) or written to the backend's h1 counters.
func (f *fdConn) counted(n int, in bool) {
	if f.h1 == nil || n <= 0 {
		return
	}
	if in {
		f.h1.H1BytesIn.Add(int64(n))
	} else {
		f.h1.H1BytesOut.Add(int64(n))
	}
}

func newFDConn(c net.Conn, pool *bufPool) *fdConn {
	f := &fdConn{}
	f.rfn, f.wfn = f.readAttempt, f.writeAttempt
	if !f.attach(c, pool) {
		return nil
	}
	return f
}

// attach points f at c's descriptor; rfn and wfn must already be bound to f.
func (f *fdConn) attach(c net.Conn, pool *bufPool) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	f.rc, f.pool = rc, pool
	return true
}

// rawRead and rawWrite use recvfrom/sendto rather than read/write: on a
// socket they skip the VFS layer (file position lock, iterator set-up),
// which perf showed at ~4% of the proxy's CPU; MSG_NOSIGNAL spares the
// kernel raising SIGPIPE on a peer that went away.
func rawRead(fd uintptr, p []byte) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
	return int(r), e
}

func rawWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), syscall.MSG_NOSIGNAL, 0, 0)
	return int(r), e
}

// readAttempt runs in the poller loop: at once (the poller forgets earlier
// readiness, so a call must come first), then after each wake-up.
func (f *fdConn) readAttempt(fd uintptr) bool {
	p := f.rp
	if p == nil {
		if f.box == nil {
			f.box = f.pool.get()
		}
		p = *f.box
	}
	for {
		n, e := rawRead(fd, p)
		switch e {
		case 0:
			if n == 0 {
				f.rn, f.rerr = 0, io.EOF
			} else {
				f.rn, f.rerr = n, nil
				f.nread += int64(n)
				f.counted(n, true)
			}
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if f.box != nil {
				f.pool.put(f.box)
				f.box = nil
			}
			return false
		default:
			f.rn, f.rerr = 0, e
			return true
		}
	}
}

// Read reads into p like net.Conn.Read.
func (f *fdConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if f.rc == nil {
		n, err := f.conn.Read(p)
		f.nread += int64(n)
		f.counted(n, true)
		return n, err
	}
	f.rp, f.rn, f.rerr = p, 0, nil
	err := f.rc.Read(f.rfn)
	f.rp = nil
	if err != nil {
		return 0, err
	}
	return f.rn, f.rerr
}

// ReadPooled waits for data and reads it into a pool buffer, returned with
// the byte count; the buffer is nil when nothing was read.
func (f *fdConn) ReadPooled() (box *[]byte, n int, err error) {
	f.rn, f.rerr = 0, nil
	err = f.rc.Read(f.rfn)
	box, f.box = f.box, nil
	if err == nil {
		err = f.rerr
	}
	if box != nil && f.rn == 0 {
		f.pool.put(box)
		box = nil
	}
	return box, f.rn, err
}

func (f *fdConn) writeAttempt(fd uintptr) bool {
	for f.wn < len(f.wp) {
		n, e := rawWrite(fd, f.wp[f.wn:])
		switch e {
		case 0:
			f.wn += n
			f.nwritten += int64(n)
			f.counted(n, false)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			f.werr = e
			return true
		}
	}
	return true
}

// Write writes all of p like net.Conn.Write.
func (f *fdConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if f.rc == nil {
		n, err := f.conn.Write(p)
		f.nwritten += int64(n)
		f.counted(n, false)
		return n, err
	}
	f.wp, f.wn, f.werr = p, 0, nil
	err := f.rc.Write(f.wfn)
	f.wp = nil
	if err == nil {
		err = f.werr
	}
	return f.wn, err
}

// SendAwait writes p and then waits for the answer's first bytes without
// trying a read first: a server does not answer before the request, so an
// immediate read would mostly fail with EAGAIN (a system call, a park and
// a poller wake-up more per exchange). The send runs inside the RawConn's
// read loop, after the poller forgot the socket's earlier readiness, so a
// reply arriving at any time after it wakes the wait. The read deadline
// bounds the wait; a wait that fails is left for the next Read to report.
// It returns false when it could not be used (no descriptor, or the read
// loop did not start): p was not sent then. A send that would block
// finishes as Write does.
func (f *fdConn) SendAwait(p []byte) (bool, error) {
	if f.rc == nil || len(p) == 0 {
		return false, nil
	}
	if f.afn == nil {
		f.afn = f.awaitAttempt // bound once per connection
	}
	f.aState = 0
	f.wp, f.wn, f.werr = p, 0, nil
	f.rc.Read(f.afn)
	rest, werr, state := f.wp[f.wn:], f.werr, f.aState
	f.wp = nil
	if state == 0 {
		return false, nil
	}
	if werr == nil && state == awaitSent && len(rest) > 0 {
		_, werr = f.Write(rest)
	}
	return true, werr
}

// SendAwait's progress.
const (
	awaitSent   = 1 // the first attempt ran: p was sent, or began to be
	awaitWaited = 2 // the socket became readable after the send
)

func (f *fdConn) awaitAttempt(fd uintptr) bool {
	if f.aState != 0 {
		f.aState = awaitWaited
		return true // readable: the next Read finds the answer
	}
	f.aState = awaitSent
	if !f.writeAttempt(fd) {
		return true // the send buffer is full: finished by Write
	}
	return f.werr != nil
}
