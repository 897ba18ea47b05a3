package conn

import (
	"log"
	"net"
	"net/netip"
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
// idle for ParkOptions.After is parked instead: its descriptor goes into an
// epoll set of the proxy's own, what the caller keeps of the connection (C)
// waits in a table without a goroutine, and the first byte of the next
// request (or the end of the keep-alive timeout) hands it back through
// Wake. Connections that talk more often than that never park and pay
// nothing but two atomic stores per request.

// An Idle's state: its session moves busy <-> waiting around its wait for
// the next request; the sweeper moves waiting -> asked -> cut while it cuts
// that wait short with a past read deadline, and the session, seeing
// "asked", waits for "cut" so that the deadline it restores is not
// overwritten afterwards.
const (
	idleBusy int32 = iota
	idleWaiting
	idleAsked
	idleCut
)

// Idle is the part of a session the sweeper reads. It is a separate object
// so that the session can be zeroed for its next connection without
// writing it.
type Idle struct {
	state atomic.Int32 // idleBusy, idleWaiting, ...
	since atomic.Int64 // coarse clock when the wait for the next request began
	// How long the connection's last wait for a request lasted (coarse
	// clock), noWait before one ended uncut: a crowd of waits spares the
	// connections that come back sooner than After.
	lastWait atomic.Int64
	c        *net.Conn // the session's connection, which the sweeper cuts
	// The Parker's count of first waits while this wait is one of them
	// (AtOnce), else nil; the session's own.
	firstWaits *atomic.Int32
}

const noWait = -1

// NewIdle returns the idle state of a session whose connection is *c.
func NewIdle(c *net.Conn) *Idle {
	st := &Idle{c: c}
	st.lastWait.Store(noWait)
	return st
}

// NewConn forgets the waits of the session's previous connection.
func (st *Idle) NewConn() { st.lastWait.Store(noWait) }

// BeginWait marks the start of a wait for the next request, which the
// sweeper may cut. answered is when the last response went out (Unix
// nanoseconds, a real clock reading; 0 when unknown): the coarse clock lags
// by as long as its goroutine waited for a CPU (65-95 ms seen under load),
// and a wait dated that early would have its keep-alive timeout end early.
func (st *Idle) BeginWait(answered int64) {
	st.since.Store(max(CoarseNow(), answered))
	st.state.Store(idleWaiting)
}

// EndWait ends the wait; false when the sweeper cut it (the read then
// failed with a timeout unless data came first). The caller's read
// deadline is its own again after EndWait, and must be set anew when it
// was cut.
func (st *Idle) EndWait() bool {
	if st.firstWaits != nil {
		st.firstWaits.Add(-1)
		st.firstWaits = nil
	}
	if st.state.CompareAndSwap(idleWaiting, idleBusy) {
		st.lastWait.Store(max(CoarseNow()-st.since.Load(), 0)) // since may be ahead of the coarse clock
		return true
	}
	st.lastWait.Store(noWait)
	return st.waitCut()
}

// waitCut waits until the sweeper's past deadline is in place: the
// session then owns its deadline again.
func (st *Idle) waitCut() bool {
	for st.state.Load() != idleCut {
		runtime.Gosched()
	}
	st.state.Store(idleBusy)
	return false
}

// Since is when the last wait began (coarse clock, Unix nanoseconds).
func (st *Idle) Since() int64 { return st.since.Load() }

// LongAgo is a read deadline in the past: it wakes a blocked read at once,
// and fails a new one before it reads.
var LongAgo = time.Unix(1, 0)

// ParkOptions configures a Parker.
type ParkOptions[C any] struct {
	After time.Duration // a session idle this long has its wait cut, to park
	Every time.Duration // how often the sweeper looks
	// MaxWaiting bounds the sessions waiting with a goroutine: beyond it
	// any wait as old as a sweep period is cut, unless the connection's
	// last wait was shorter than After (it is busy: parking it would cost
	// a park and a wake-up per request).
	MaxWaiting int
	// MaxFirstWaits bounds the sessions waiting for their client's second
	// request (see AtOnce); 0: no bound.
	MaxFirstWaits int
	// Wake hands a parked connection back: its client spoke (or hung up),
	// or, expired, its keep-alive timeout passed or the Parker closed.
	Wake func(c *C, expired bool)
	Done <-chan struct{} // closed when the proxy stops
}

// Parker holds parked connections and the epoll set that watches them, and
// sweeps the idle waits of the sessions it was told about (Hold).
type Parker[C any] struct {
	opt    ParkOptions[C]
	epfd   int
	ep     *os.File // epfd, itself watched by Go's poller
	mu     sync.Mutex
	slots  []parkSlot[C]
	free   []int32
	parked int // connections in slots
	events [128]unix.EpollEvent

	// Sessions held by workers, which the sweeper looks at.
	smu      sync.Mutex
	sessions map[*Idle]struct{}

	// While crowded, a session about to wait for its next request parks
	// at once (AtOnce) instead: in a burst of new keep-alive clients the
	// sweeper, a CPU turn among hundreds of runnable sessions, cuts waits
	// too late to keep them few, and each wait holds a goroutine, its
	// session object and a poller record, most of which the runtime keeps
	// after the burst. atOnce counts such parks since the last sweep.
	crowded atomic.Bool
	atOnce  atomic.Int32
	// Sessions waiting for their client's second request: beyond
	// MaxFirstWaits a new client parks at once without waiting for a
	// sweep to see the crowd (a burst's clients came 250-350 at once
	// before it did, each holding a goroutine, most of which the runtime
	// keeps).
	firstWaits atomic.Int32
}

// parkSlot is one parked connection; gen tells a stale epoll event (from a
// slot since reused) from a current one.
type parkSlot[C any] struct {
	c      *C
	expiry int64 // when its keep-alive timeout ends (0: never)
	gen    int32
}

// NewParker starts the Parker's epoll and sweep loops; they end with
// opt.Done.
func NewParker[C any](opt ParkOptions[C]) (*Parker[C], error) {
	ep, epfd, rc, err := newEpoll("park-epoll")
	if err != nil {
		return nil, err
	}
	p := &Parker[C]{opt: opt, epfd: epfd, ep: ep, sessions: map[*Idle]struct{}{}}
	go p.pollLoop(rc)
	go p.sweepLoop()
	return p, nil
}

// Hold and Drop track the sessions that workers run.
func (p *Parker[C]) Hold(st *Idle) {
	p.smu.Lock()
	p.sessions[st] = struct{}{}
	p.smu.Unlock()
}

func (p *Parker[C]) Drop(st *Idle) {
	p.smu.Lock()
	delete(p.sessions, st)
	p.smu.Unlock()
}

// AtOnce tells a session about to wait for its client's second request
// (its wait, st, began) to park now rather than wait: many sessions were
// waiting at the last sweep, or many are in such a first wait now. When
// false, the wait counts as a first wait until st.EndWait.
func (p *Parker[C]) AtOnce(st *Idle) bool {
	if !p.crowded.Load() {
		n := p.firstWaits.Add(1)
		if p.opt.MaxFirstWaits <= 0 || n <= int32(p.opt.MaxFirstWaits) {
			st.firstWaits = &p.firstWaits
			return false
		}
		p.firstWaits.Add(-1)
	}
	p.atOnce.Add(1)
	return true
}

// Parked counts the parked connections.
func (p *Parker[C]) Parked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.parked
}

// Unpoll readies nc, an idle connection whose worker is about to let it
// go, for parking: its socket leaves Go's poller. It returns the descriptor
// that fio (its descriptor I/O) reads, -1 when there is none (the
// connection cannot park). inSet is as in Park.
func (p *Parker[C]) Unpoll(nc net.Conn, fio *FD, inSet *bool) int {
	lc := lazyOf(nc)
	if lc != nil {
		lc.forgetWaits()
	}
	if lc != nil {
		lc.unregister()
	}
	return fio.sysfd()
}

// Park takes c, an idle connection that Unpoll readied: fd is its
// descriptor, expiry when it ends unless its client speaks (Unix
// nanoseconds, 0: never). inSet (in c) tells whether the descriptor is in
// the epoll set from an earlier park. False when the connection cannot be
// parked (the caller then closes it); once true, c may already be another
// worker's.
func (p *Parker[C]) Park(c *C, fd int, expiry int64, inSet *bool) bool {
	p.mu.Lock()
	var idx int32
	if n := len(p.free); n > 0 {
		idx = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		idx = int32(len(p.slots))
		p.slots = append(p.slots, parkSlot[C]{})
	}
	sl := &p.slots[idx]
	sl.gen++
	sl.c, sl.expiry = c, expiry
	gen := sl.gen
	p.parked++
	op := unix.EPOLL_CTL_MOD
	if !*inSet {
		op = unix.EPOLL_CTL_ADD
	}
	// Set under p.mu, which the poll loop takes before it hands c on:
	// after the call below c may be another worker's.
	*inSet = true
	p.mu.Unlock()

	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: idx, Pad: gen}
	err := unix.EpollCtl(p.epfd, op, fd, &ev)
	if err == unix.ENOENT && op == unix.EPOLL_CTL_MOD {
		err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
	}
	if err != nil {
		// Nobody else can have seen the slot: take it back.
		p.mu.Lock()
		*inSet = false
		p.release(idx)
		p.mu.Unlock()
		return false
	}
	// From here on an event may already have handed c to another worker.
	return true
}

// DetachLazy takes the socket out of nc when nc is a plain lazily
// registered one outside Go's poller (as Unpoll leaves it): a parked
// connection then keeps its descriptor and peer address instead of the
// connection object (128 bytes). nc is closed without closing the
// socket; AttachLazy makes a connection of it again.
func DetachLazy(nc net.Conn) (fd int, remote netip.AddrPort, ok bool) {
	lc, _ := nc.(*lazyConn)
	if lc == nil {
		return -1, remote, false
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.closed || lc.pd != 0 {
		return -1, remote, false
	}
	ip, _ := netip.AddrFromSlice(lc.remote.IP)
	remote = netip.AddrPortFrom(ip.WithZone(lc.remote.Zone), uint16(lc.remote.Port))
	fd, lc.fd, lc.closed = lc.fd, -1, true
	return fd, remote, true
}

// AttachLazy makes a connection of a socket that DetachLazy took.
func AttachLazy(fd int, remote netip.AddrPort) net.Conn {
	c := &lazyConn{fd: fd}
	ip := remote.Addr()
	if ip.Is4() {
		a := ip.As4()
		c.remote.IP = c.ip[:copy(c.ip[:], a[:])]
	} else {
		a := ip.As16()
		c.remote.IP = c.ip[:copy(c.ip[:], a[:])]
		c.remote.Zone = ip.Zone()
	}
	c.remote.Port = int(remote.Port())
	return c
}

// release frees a slot; p.mu is held.
func (p *Parker[C]) release(idx int32) *C {
	sl := &p.slots[idx]
	c := sl.c
	sl.c = nil
	p.free = append(p.free, idx)
	p.parked--
	return c
}

// pollLoop hands connections whose client spoke (or hung up) back.
func (p *Parker[C]) pollLoop(rc syscall.RawConn) {
	var woken []*C
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
					if sl := &p.slots[ev.Fd]; sl.c != nil && sl.gen == ev.Pad {
						woken = append(woken, p.release(ev.Fd))
					}
				}
			}
			p.mu.Unlock()
			for _, c := range woken {
				p.opt.Wake(c, false)
			}
			if n < len(p.events) {
				return false
			}
		}
	})
	if err != nil {
		select {
		case <-p.opt.Done:
		default:
			log.Printf("[ALERT] idle connection poller stopped: %v", err)
		}
	}
}

// sweepLoop cuts the waits of sessions idle for After, and hands back
// parked connections whose keep-alive timeout has passed.
func (p *Parker[C]) sweepLoop() {
	t := time.NewTicker(p.opt.Every)
	defer t.Stop()
	var expired []*C
	for {
		select {
		case <-p.opt.Done:
			return
		case <-t.C:
		}
		now := CoarseNow()
		p.smu.Lock()
		// A burst of new keep-alive clients would hold a goroutine and a
		// poller record each for After: beyond MaxWaiting waiting at once,
		// any wait as old as a sweep period is cut, but for connections
		// that came back within After last time: a thousand busy clients
		// each waiting a few tens of milliseconds would otherwise park and
		// wake on every request.
		after := int64(p.opt.After)
		crowdAfter := after
		waiting := p.countWaiting()
		if waiting > p.opt.MaxWaiting {
			crowdAfter = int64(p.opt.Every)
		}
		p.updateCrowded(waiting, int(p.atOnce.Swap(0)))
		for st := range p.sessions {
			if st.state.Load() != idleWaiting {
				continue
			}
			limit := crowdAfter
			if lw := st.lastWait.Load(); lw != noWait && lw < after {
				limit = after
			}
			if now-st.since.Load() >= limit && st.state.CompareAndSwap(idleWaiting, idleAsked) {
				// The session is blocked reading until it sees idleCut.
				(*st.c).SetReadDeadline(LongAgo)
				st.state.Store(idleCut)
			}
		}
		p.smu.Unlock()

		expired = expired[:0]
		p.mu.Lock()
		for i := range p.slots {
			if sl := &p.slots[i]; sl.c != nil && sl.expiry != 0 && now >= sl.expiry {
				expired = append(expired, p.release(int32(i)))
			}
		}
		p.mu.Unlock()
		for _, c := range expired {
			p.opt.Wake(c, true)
		}
	}
}

// updateCrowded sets the crowded state from a sweep's count of waiting
// sessions and of parks at once since the last sweep: crowded from
// MaxWaiting waits on, until the waits and the parks at once (each stands
// for a wait of After) fall to half of it.
func (p *Parker[C]) updateCrowded(waiting, atOnce int) {
	if waiting > p.opt.MaxWaiting {
		p.crowded.Store(true)
	} else if waiting+atOnce*int(p.opt.After/p.opt.Every) < p.opt.MaxWaiting/2 {
		p.crowded.Store(false)
	}
}

// countWaiting counts the sessions waiting for a next request; p.smu is held.
func (p *Parker[C]) countWaiting() int {
	n := 0
	for st := range p.sessions {
		if st.state.Load() == idleWaiting {
			n++
		}
	}
	return n
}

// Close ends parking: parked connections are handed back expired, to be
// closed, as HAProxy closes idle keep-alive connections when it stops.
func (p *Parker[C]) Close() {
	p.ep.Close()
	p.mu.Lock()
	var all []*C
	for i := range p.slots {
		if p.slots[i].c != nil {
			all = append(all, p.release(int32(i)))
		}
	}
	p.mu.Unlock()
	for _, c := range all {
		p.opt.Wake(c, true)
	}
}
