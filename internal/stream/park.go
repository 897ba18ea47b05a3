package stream

import (
	"crypto/tls"
	"log"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Idle keep-alive connections are most of a busy proxy's connections. A
// goroutine waiting on one holds a grown stack (4-8 KiB), so a connection
// idle for parkAfter is parked instead: its descriptor goes into an epoll set
// of the proxy's own, the session object waits in a table without a
// goroutine, and the first byte of the next request (or the end of the
// keep-alive timeout) hands it back to a worker. Connections that talk more
// often than that never park and pay nothing but two atomic stores per
// request.
var (
	parkAfter  = 200 * time.Millisecond
	sweepEvery = 50 * time.Millisecond // tests shorten both
)

const (
	// maxIdleWorkers bounds the goroutines kept waiting for work: beyond it
	// a worker whose session parked or ended exits, and its stack goes back.
	maxIdleWorkers = 256
)

// A session's idle state (httpSession.idle): the session moves
// busy <-> waiting around its wait for the next request; the sweeper moves
// waiting -> asked -> cut while it cuts that wait short with a past read
// deadline, and the session, seeing "asked", waits for "cut" so that the
// deadline it restores is not overwritten afterwards.
const (
	idleBusy int32 = iota
	idleWaiting
	idleAsked
	idleCut
)

// idleState is the part of a session the sweeper reads. It is a separate
// object so that reset, which zeroes the session, never writes it.
type idleState struct {
	state atomic.Int32 // idleBusy, idleWaiting, ...
	since atomic.Int64 // coarse clock when the wait for the next request began
	s     *httpSession // set once
}

// longAgo is a read deadline in the past: it wakes a blocked read at once.
var longAgo = time.Unix(1, 0)

// parker holds parked sessions and the epoll set that watches them.
type parker struct {
	rt     *Runtime
	after  time.Duration // parkAfter and sweepEvery when it started
	every  time.Duration
	epfd   int
	ep     *os.File // epfd, itself watched by Go's poller
	mu     sync.Mutex
	slots  []parkSlot
	free   []int32
	parked int // connections in slots
	events [128]unix.EpollEvent

	// Session objects held by workers, which the sweeper looks at.
	smu      sync.Mutex
	sessions map[*idleState]struct{}
}

// parkSlot is one parked session; gen tells a stale epoll event (from a
// slot since reused) from a current one.
type parkSlot struct {
	pc  *parkedConn
	gen int32
}

func newParker(rt *Runtime) (*parker, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	p := &parker{rt: rt, after: parkAfter, every: sweepEvery, epfd: epfd, ep: os.NewFile(uintptr(epfd), "park-epoll"), sessions: map[*idleState]struct{}{}}
	rc, err := p.ep.SyscallConn()
	if err != nil {
		p.ep.Close()
		return nil, err
	}
	go p.pollLoop(rc)
	go p.sweepLoop()
	return p, nil
}

// hold and drop track the session objects that workers run.
func (p *parker) hold(s *httpSession) {
	p.smu.Lock()
	p.sessions[s.idle] = struct{}{}
	p.smu.Unlock()
}

func (p *parker) drop(s *httpSession) {
	p.smu.Lock()
	delete(p.sessions, s.idle)
	p.smu.Unlock()
}

// park takes an idle connection whose worker is letting it go. It returns
// false when the connection cannot be parked (the caller then closes it).
func (p *parker) park(pc *parkedConn, fd int) bool {
	p.mu.Lock()
	var idx int32
	if n := len(p.free); n > 0 {
		idx = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		idx = int32(len(p.slots))
		p.slots = append(p.slots, parkSlot{})
	}
	sl := &p.slots[idx]
	sl.gen++
	sl.pc = pc
	gen := sl.gen
	p.parked++
	p.mu.Unlock()

	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: idx, Pad: gen}
	op := unix.EPOLL_CTL_MOD
	if !pc.epollAdded {
		op = unix.EPOLL_CTL_ADD
	}
	pc.epollAdded = true // set before the call: afterwards pc may be another worker's
	err := unix.EpollCtl(p.epfd, op, fd, &ev)
	if err == unix.ENOENT && op == unix.EPOLL_CTL_MOD {
		err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
	}
	if err != nil {
		pc.epollAdded = false
		// Nobody else can have seen the slot: take it back.
		p.mu.Lock()
		p.release(idx)
		p.mu.Unlock()
		return false
	}
	// From here on an event may already have handed pc to another worker.
	return true
}

// release frees a slot; p.mu is held.
func (p *parker) release(idx int32) *parkedConn {
	sl := &p.slots[idx]
	pc := sl.pc
	sl.pc = nil
	p.free = append(p.free, idx)
	p.parked--
	return pc
}

// pollLoop hands connections whose client spoke (or hung up) back to workers.
func (p *parker) pollLoop(rc syscall.RawConn) {
	var woken []*parkedConn
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, err := unix.EpollWait(int(fd), p.events[:], 0)
			if err == unix.EINTR {
				continue
			}
			if n <= 0 {
				return false // nothing ready: wait until the set is readable
			}
			woken = woken[:0]
			p.mu.Lock()
			for _, ev := range p.events[:n] {
				if int(ev.Fd) < len(p.slots) {
					if sl := &p.slots[ev.Fd]; sl.pc != nil && sl.gen == ev.Pad {
						woken = append(woken, p.release(ev.Fd))
					}
				}
			}
			p.mu.Unlock()
			for _, pc := range woken {
				p.rt.dispatch(job{fe: pc.fe, c: pc.c, resume: pc})
			}
			if n < len(p.events) {
				return false
			}
		}
	})
	if err != nil {
		select {
		case <-p.rt.done:
		default:
			log.Printf("[ALERT] idle connection poller stopped: %v", err)
		}
	}
}

// sweepLoop cuts the waits of sessions idle for parkAfter, and closes parked
// connections whose keep-alive timeout has passed.
func (p *parker) sweepLoop() {
	t := time.NewTicker(p.every)
	defer t.Stop()
	var expired []*parkedConn
	for {
		select {
		case <-p.rt.done:
			return
		case <-t.C:
		}
		now := coarseNow.Load()
		p.smu.Lock()
		// A burst of new keep-alive clients would hold a goroutine and a
		// poller record each for parkAfter: beyond maxIdleWorkers waiting
		// at once, any wait as old as a sweep period is cut.
		after := int64(p.after)
		if waiting := p.countWaiting(); waiting > maxIdleWorkers {
			after = int64(p.every)
		}
		for st := range p.sessions {
			if st.state.Load() == idleWaiting && now-st.since.Load() >= after && st.state.CompareAndSwap(idleWaiting, idleAsked) {
				// The session is blocked reading until it sees idleCut.
				st.s.c.SetReadDeadline(longAgo)
				st.state.Store(idleCut)
			}
		}
		p.smu.Unlock()

		expired = expired[:0]
		p.mu.Lock()
		for i := range p.slots {
			if pc := p.slots[i].pc; pc != nil && pc.expiry != 0 && now >= pc.expiry {
				expired = append(expired, p.release(int32(i)))
			}
		}
		p.mu.Unlock()
		for _, pc := range expired {
			pc.expired = true
			p.rt.dispatch(job{fe: pc.fe, c: pc.c, resume: pc})
		}
	}
}

// countWaiting counts the sessions waiting for a next request; p.smu is held.
func (p *parker) countWaiting() int {
	n := 0
	for st := range p.sessions {
		if st.state.Load() == idleWaiting {
			n++
		}
	}
	return n
}

// close ends parking: parked connections are handed back to be closed, as
// HAProxy closes idle keep-alive connections when it stops.
func (p *parker) close() {
	p.ep.Close()
	p.mu.Lock()
	var all []*parkedConn
	for i := range p.slots {
		if p.slots[i].pc != nil {
			all = append(all, p.release(int32(i)))
		}
	}
	p.mu.Unlock()
	for _, pc := range all {
		pc.expired = true
		p.rt.dispatch(job{fe: pc.fe, c: pc.c, resume: pc})
	}
}

// waitCut is called by a session whose idle wait the sweeper has claimed:
// once the sweeper's past deadline is in place, the session owns its
// deadline again and must set it anew.
func (s *httpSession) waitCut() {
	for s.idle.state.Load() != idleCut {
		runtime.Gosched()
	}
	s.idle.state.Store(idleBusy)
	s.cdl.rd = 0
}

// parkIO returns the descriptor I/O of a session's connection that can
// park: the session's own for a plain connection, the TLS transport's for a
// TLS one; nil when it cannot park. A TLS connection parks keeping its
// tls.Conn: it is only asked to park after a read of it timed out, and
// tls.Conn reads from the socket only once it holds no complete record, so
// nothing it read ahead waits unseen (a partial record's rest is still to
// come, and wakes the parked connection).
func (s *httpSession) parkIO() *fdConn {
	if s.cfd != nil {
		return s.cfd
	}
	if tc, ok := s.c.(*tls.Conn); ok {
		if tt, ok := tc.NetConn().(*tlsTransport); ok {
			return &tt.fd
		}
	}
	return nil
}

// lazyOf returns the lazy socket under c, nil when there is none.
func lazyOf(c net.Conn) *lazyConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
		if tt, ok := c.(*tlsTransport); ok {
			c = tt.Conn
		}
	}
	lc, _ := c.(*lazyConn)
	return lc
}
