package stream

import (
	"io"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// fdReader reads a client socket through its RawConn so that the read buffer
// is taken from the pool only while a read can succeed: a keep-alive session
// waiting for its next request parks on the poller holding no buffer.
type fdReader struct {
	rc   syscall.RawConn
	pool *bufPool
	box  *[]byte
	n    int
	err  error
	fn   func(fd uintptr) bool
}

func newFDReader(c net.Conn, pool *bufPool) *fdReader {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &fdReader{rc: rc, pool: pool}
	r.fn = r.attempt
	return r
}

// attempt is called by the poller loop: once straight away (the poller
// forgets earlier readiness, so a syscall must come first), then after each
// wake-up. The buffer goes back to the pool whenever there is nothing to read.
func (r *fdReader) attempt(fd uintptr) bool {
	if r.box == nil {
		r.box = r.pool.get()
	}
	for {
		n, err := unix.Read(int(fd), *r.box)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			r.pool.put(r.box)
			r.box = nil
			return false
		case err != nil:
			r.n, r.err = 0, err
		case n == 0:
			r.n, r.err = 0, io.EOF
		default:
			r.n, r.err = n, nil
		}
		return true
	}
}

// read waits for data and reads it into a pool buffer, returned with the
// byte count; the buffer is nil when nothing was read.
func (r *fdReader) read() (box *[]byte, n int, err error) {
	r.n, r.err = 0, nil
	rerr := r.rc.Read(r.fn)
	box, r.box = r.box, nil
	if rerr == nil {
		err = r.err
	} else {
		err = rerr
	}
	if box != nil && r.n == 0 {
		r.pool.put(box)
		box = nil
	}
	return box, r.n, err
}
