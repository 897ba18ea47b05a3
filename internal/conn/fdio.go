// Package conn is the connection side of the proxy: raw descriptor I/O,
// lazy poller registration, parking of idle keep-alive connections, the
// client TLS transport and handshakes, deadlines, socket options, accept
// limits and memory trimming. It knows nothing of requests or servers.
package conn

import (
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// FD does a socket's reads and writes through its RawConn, with raw
// system calls on the non-blocking descriptor. Two reasons:
//   - a read can take its buffer from the pool only once data is there, so a
//     keep-alive session waiting for its next request holds no buffer;
//   - a raw call does not hand the scheduler's P over while in the kernel;
//     such a call never blocks, and handing over costs more than the call
//     (thread wake-ups by the runtime's monitor under load).
//
// Deadlines set on the net.Conn still apply: the RawConn waits honour them.
type FD struct {
	rc syscall.RawConn
	// lazy is rc's socket when it is a lazily registered client socket,
	// whose reads can wait before trying when the last one drained it
	// (drained) and the reader allowed it (WaitFirst; poller.go).
	lazy      *lazyConn
	drained   bool
	waitFirst bool
	// rw carries the I/O instead when there is no descriptor to use (a
	// TLS server connection): rc is nil then.
	rw io.ReadWriter

	rp   []byte   // read target, or nil to read into a pool buffer
	pool *BufPool // supplies pool buffers
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
	// sumIn and sumOut also count the bytes (a server connection's go to
	// its backend's h1_bytes_in/out); nil on client connections, whose
	// bytes the session counts per request.
	sumIn, sumOut *atomic.Int64
}

// counted adds n bytes read (in) or written to the counters of CountInto.
func (f *FD) counted(n int, in bool) {
	if f.sumIn == nil || n <= 0 {
		return
	}
	if in {
		f.sumIn.Add(int64(n))
	} else {
		f.sumOut.Add(int64(n))
	}
}

// NewFD returns raw I/O on c's descriptor, nil when c has none. Reads
// through ReadPooled take their buffer from pool.
func NewFD(c net.Conn, pool *BufPool) *FD {
	f := &FD{}
	if !f.Attach(c, pool) {
		return nil
	}
	return f
}

// NewFDOver returns an FD without a descriptor: its I/O goes through rw (a
// TLS or HTTP/2 server connection), counted as raw I/O is.
func NewFDOver(rw io.ReadWriter) *FD { return &FD{rw: rw} }

// Attach points f at c's descriptor; false when c has none. The callbacks
// bound to f on its first Attach stay bound through Clear, so that an FD
// reused for connection after connection allocates them once.
func (f *FD) Attach(c net.Conn, pool *BufPool) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	if f.rfn == nil {
		f.rfn, f.wfn = f.readAttempt, f.writeAttempt
	}
	f.rc, f.pool = rc, pool
	f.lazy, f.drained, f.waitFirst = nil, false, false
	if lr, ok := rc.(lazyRaw); ok {
		f.lazy = lr.c
	}
	return true
}

// Clear forgets the connection and the byte counts, keeping the bound
// callbacks (see Attach).
func (f *FD) Clear() { *f = FD{rfn: f.rfn, wfn: f.wfn, afn: f.afn} }

// CountInto makes every byte read go to in as well, every byte written to
// out.
func (f *FD) CountInto(in, out *atomic.Int64) { f.sumIn, f.sumOut = in, out }

// Counts returns the bytes read and written so far.
func (f *FD) Counts() (in, out int64) { return f.nread, f.nwritten }

// SetCounts sets the byte counts, for a connection taken up again with
// bytes not yet counted elsewhere.
func (f *FD) SetCounts(in, out int64) { f.nread, f.nwritten = in, out }

// sysfd returns the descriptor, -1 when there is none (or it is closed).
func (f *FD) sysfd() int {
	fd := -1
	if f.rc != nil {
		f.rc.Control(func(d uintptr) { fd = int(d) })
	}
	return fd
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
func (f *FD) readAttempt(fd uintptr) bool {
	p := f.rp
	if p == nil {
		if f.box == nil {
			f.box = f.pool.Get()
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
			// A short read took all there was: TCP hands over what
			// it holds up to the buffer's size.
			f.drained = n > 0 && n < len(p)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if f.box != nil {
				f.pool.Put(f.box)
				f.box = nil
			}
			return false
		default:
			f.rn, f.rerr = 0, e
			f.drained = false
			return true
		}
	}
}

// WaitFirst lets a read that follows a short one wait for the socket to
// become readable before trying it (poller.go), on a lazily registered
// client socket. A short read may have taken the last bytes with the
// peer's FIN already queued behind them, which no later readiness
// announces: only a reader that learns the peer's end another way (an
// HTTP/2 GOAWAY) or can wait for its timeout should allow it, and stop
// once the peer said it ends.
func (f *FD) WaitFirst(on bool) { f.waitFirst = on }

// readWait runs readAttempt until it is done.
func (f *FD) readWait() error {
	if f.lazy != nil {
		return f.lazy.wait(f.rfn, true, f.waitFirst && f.drained)
	}
	return f.rc.Read(f.rfn)
}

// Read reads into p like net.Conn.Read.
func (f *FD) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if f.rc == nil {
		n, err := f.rw.Read(p)
		f.nread += int64(n)
		f.counted(n, true)
		return n, err
	}
	f.rp, f.rn, f.rerr = p, 0, nil
	err := f.readWait()
	f.rp = nil
	if err != nil {
		return 0, err
	}
	return f.rn, f.rerr
}

// ReadPooled waits for data and reads it into a pool buffer, returned with
// the byte count; the buffer is nil when nothing was read.
func (f *FD) ReadPooled() (box *[]byte, n int, err error) {
	f.rn, f.rerr = 0, nil
	err = f.readWait()
	box, f.box = f.box, nil
	if err == nil {
		err = f.rerr
	}
	if box != nil && f.rn == 0 {
		f.pool.Put(box)
		box = nil
	}
	return box, f.rn, err
}

func (f *FD) writeAttempt(fd uintptr) bool {
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
func (f *FD) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if f.rc == nil {
		n, err := f.rw.Write(p)
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
func (f *FD) SendAwait(p []byte) (bool, error) {
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

func (f *FD) awaitAttempt(fd uintptr) bool {
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
