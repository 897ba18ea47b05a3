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
	p    []byte
	own  bool // p came from the pool in this read
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

// attempt is called by the poller loop: once at once (the poller forgets any
// earlier readiness, so a syscall must come first), then after each wake-up.
func (r *fdReader) attempt(fd uintptr) bool {
	if r.p == nil {
		r.p, r.own = r.pool.get(), true
	}
	for {
		n, err := unix.Read(int(fd), r.p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			if r.own {
				r.pool.put(r.p)
				r.p = nil
			}
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

// read reads into p; when p is nil it reads into a pool buffer, returned as
// buf (nil if nothing was read and the buffer went back to the pool).
func (r *fdReader) read(p []byte) (buf []byte, n int, err error) {
	r.p, r.own = p, false
	r.n, r.err = 0, nil
	rerr := r.rc.Read(r.fn)
	buf, r.p = r.p, nil
	if rerr != nil {
		if r.own && buf != nil {
			r.pool.put(buf)
			buf = nil
		}
		return buf, 0, rerr
	}
	if r.own && r.n == 0 && buf != nil {
		r.pool.put(buf)
		buf = nil
	}
	return buf, r.n, r.err
}
