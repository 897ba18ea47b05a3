package tcp

import (
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"dhproxy/internal/conn"
)

// Pipes is a bounded pool of kernel pipes for splice(2), HAProxy's
// "maxpipes". A direction takes a pipe only while bytes are in flight
// through it and gives it back once the pipe is empty, so an idle session
// holds none. When every pipe is taken, data is copied through a buffer
// instead. Pipes are plain descriptors closed by Close or when they cannot
// be reused: nothing waits for the garbage collector (the standard library's
// splice keeps its pipes in a sync.Pool that only finalizers close).
type Pipes struct {
	mu     sync.Mutex
	free   []pipe
	live   int // pipes open, free or taken
	max    int
	closed bool
}

type pipe struct{ r, w int }

// pipeSize is the capacity asked for each pipe, as Go's own splice does:
// one splice call then moves up to a chunk instead of 64 KiB.
const pipeSize = 1 << 20

// NewPipes returns a pool of at most max pipes (0: never splice).
func NewPipes(max int) *Pipes { return &Pipes{max: max} }

// get returns an empty pipe, or ok=false when the pool is exhausted.
func (p *Pipes) get() (pp pipe, ok bool) {
	if p == nil {
		return pipe{}, false
	}
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		pp = p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return pp, true
	}
	if p.closed || p.live >= p.max {
		p.mu.Unlock()
		return pipe{}, false
	}
	p.live++
	p.mu.Unlock()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		p.mu.Lock()
		p.live--
		p.mu.Unlock()
		return pipe{}, false
	}
	unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, pipeSize) // best effort
	return pipe{r: fds[0], w: fds[1]}, true
}

// put returns an empty pipe to the pool.
func (p *Pipes) put(pp pipe) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.kill(pp)
		return
	}
	p.free = append(p.free, pp)
	p.mu.Unlock()
}

// kill closes a pipe that may still hold data.
func (p *Pipes) kill(pp pipe) {
	unix.Close(pp.r)
	unix.Close(pp.w)
	p.mu.Lock()
	p.live--
	p.mu.Unlock()
}

// Close closes the free pipes; pipes still in use are closed when given
// back, and no new pipe is opened: sessions still running copy instead.
func (p *Pipes) Close() {
	p.mu.Lock()
	free := p.free
	p.free = nil
	p.closed = true
	p.live -= len(free)
	p.mu.Unlock()
	for _, pp := range free {
		unix.Close(pp.r)
		unix.Close(pp.w)
	}
}

// Live reports how many pipes are open (free or in use).
func (p *Pipes) Live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.live
}

// rawConns returns the RawConns splice needs, or ok=false when either end
// is not a kernel stream socket the proxy can splice.
func rawConns(src, dst net.Conn) (s, d syscall.RawConn, ok bool) {
	src, dst = Underlying(src), Underlying(dst)
	if s, ok = streamRaw(src); !ok {
		return nil, nil, false
	}
	if d, ok = streamRaw(dst); !ok {
		return nil, nil, false
	}
	return s, d, true
}

// streamRaw returns the RawConn of c when it is a stream socket of its
// own: a TCP one (tcpRaw) or Go's UNIX one (a UNIX socket server).
func streamRaw(c net.Conn) (syscall.RawConn, bool) {
	if uc, ok := c.(*net.UnixConn); ok {
		rc, err := uc.SyscallConn()
		return rc, err == nil
	}
	return tcpRaw(c)
}

// tcpRaw returns the RawConn of c when it is a TCP socket of its own: Go's
// or a server socket conn.DialTCP opened.
func tcpRaw(c net.Conn) (syscall.RawConn, bool) {
	if tc, ok := c.(*net.TCPConn); ok {
		rc, err := tc.SyscallConn()
		return rc, err == nil
	}
	return conn.DialedRaw(c)
}

// splicer moves one direction's bytes with splice(2) through pipes from
// the pool, or through buf when the pool has none to spare.
type splicer struct {
	pipes    *Pipes
	src, dst syscall.RawConn
	buf      []byte // allocated on the first copy
	moved    func() // after each write to dst
}

// move transfers up to limit bytes from src to dst. eof reports that src
// has no more data (its FIN was read). Write errors come back as a
// *net.OpError with Op "write", so blame knows dst failed.
func (s *splicer) move(limit int) (n int64, eof bool, err error) {
	for n < int64(limit) {
		want := limit - int(n)
		var pp pipe
		var piped bool
		var got int
		var rerr error
		err = s.src.Read(func(fd uintptr) bool {
			if pp, piped = s.pipes.get(); piped {
				got, rerr = splice(int(fd), pp.w, want)
				if rerr == unix.EAGAIN {
					s.pipes.put(pp) // wait without holding a pipe
					piped = false
					return false
				}
				return true
			}
			if s.buf == nil {
				s.buf = make([]byte, 32<<10)
			}
			got, rerr = retry(func() (int, error) { return unix.Read(int(fd), s.buf[:min(want, len(s.buf))]) })
			return rerr != unix.EAGAIN
		})
		if err == nil && rerr != nil {
			op := "read"
			if piped {
				op = "splice"
			}
			err = os.NewSyscallError(op, rerr)
		}
		if err != nil || got <= 0 {
			if piped {
				s.pipes.put(pp) // nothing was read into it
			}
			return n, err == nil, err
		}
		var werr error
		if piped {
			werr = s.drain(pp, got)
		} else {
			werr = s.write(s.buf[:got])
		}
		if werr != nil {
			// What was read but not written is lost with the session:
			// count only what dst took.
			return n, false, &net.OpError{Op: "write", Net: "tcp", Err: werr}
		}
		n += int64(got)
		s.moved()
	}
	return n, false, nil
}

// drain splices the inflight bytes in pp to dst, then returns pp to the
// pool; a pipe that could not be emptied is closed.
func (s *splicer) drain(pp pipe, inflight int) error {
	for inflight > 0 {
		var w int
		var werr error
		err := s.dst.Write(func(fd uintptr) bool {
			w, werr = splice(pp.r, int(fd), inflight)
			return werr != unix.EAGAIN
		})
		if err == nil && werr != nil {
			err = os.NewSyscallError("splice", werr)
		}
		if err != nil {
			s.pipes.kill(pp)
			return err
		}
		inflight -= w
	}
	s.pipes.put(pp)
	return nil
}

// write writes b to dst.
func (s *splicer) write(b []byte) error {
	for len(b) > 0 {
		var w int
		var werr error
		err := s.dst.Write(func(fd uintptr) bool {
			w, werr = retry(func() (int, error) { return unix.Write(int(fd), b) })
			return werr != unix.EAGAIN
		})
		if err == nil && werr != nil {
			err = os.NewSyscallError("write", werr)
		}
		if err != nil {
			return err
		}
		b = b[w:]
	}
	return nil
}

// retry runs a system call again while a signal interrupts it.
func retry(call func() (int, error)) (int, error) {
	for {
		n, err := call()
		if err != unix.EINTR {
			return n, err
		}
	}
}

// splice moves up to n bytes from in to out without blocking.
func splice(in, out, n int) (int, error) {
	for {
		m, err := unix.Splice(in, nil, out, nil, n, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		if err != unix.EINTR {
			return int(m), err
		}
	}
}
