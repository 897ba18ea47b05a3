package h2

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// sockIO reads and writes a plain TCP connection with raw recvfrom and
// sendto calls through its RawConn, as the HTTP/1 side does (stream's
// fdConn). A call through net.Conn enters the scheduler's syscall state;
// with GOMAXPROCS=1 the runtime's monitor then takes the P from a call
// that lasts two of its ticks (a write to loopback that runs the peer's
// receive path often does), hands it to another thread and goes back to
// waking every 20 µs: context switches the raw calls, which never block,
// do not cause. A connection without descriptor (TLS) goes through c.
// Deadlines set on c apply to the RawConn's waits.
type sockIO struct {
	c  net.Conn
	rc syscall.RawConn // nil: I/O through c

	// The reader's (one goroutine) and the writer's (under sockMu).
	rp   []byte
	rn   int
	rerr error
	rfn  func(fd uintptr) bool
	wp   []byte
	wn   int
	werr error
	wfn  func(fd uintptr) bool
}

func (s *sockIO) init(c net.Conn) {
	s.c, s.rc = c, nil
	if tc, ok := c.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			s.rc = rc
			s.rfn, s.wfn = s.readAttempt, s.writeAttempt
		}
	}
}

func (s *sockIO) readAttempt(fd uintptr) bool {
	for {
		r, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&s.rp[0])), uintptr(len(s.rp)), 0, 0, 0)
		switch e {
		case 0:
			s.rn = int(r)
			if r == 0 {
				s.rerr = io.EOF
			}
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		s.rerr = e
		return true
	}
}

func (s *sockIO) Read(p []byte) (int, error) {
	if s.rc == nil {
		return s.c.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	s.rp, s.rn, s.rerr = p, 0, nil
	err := s.rc.Read(s.rfn)
	s.rp = nil
	if err != nil {
		return 0, err
	}
	return s.rn, s.rerr
}

func (s *sockIO) writeAttempt(fd uintptr) bool {
	for s.wn < len(s.wp) {
		p := s.wp[s.wn:]
		r, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), syscall.MSG_NOSIGNAL, 0, 0)
		switch e {
		case 0:
			s.wn += int(r)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			s.werr = e
			return true
		}
	}
	return true
}

// Write writes all of p, like net.Conn.Write.
func (s *sockIO) Write(p []byte) (int, error) {
	if s.rc == nil {
		return s.c.Write(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	s.wp, s.wn, s.werr = p, 0, nil
	err := s.rc.Write(s.wfn)
	n := s.wn
	s.wp = nil
	if err == nil {
		err = s.werr
	}
	return n, err
}
