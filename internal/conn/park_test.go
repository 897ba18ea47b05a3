package conn

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/conn/conntest"
)

type parkedTest struct {
	name  string
	inSet bool
}

type wakeup struct {
	c       *parkedTest
	expired bool
}

func newTestParker(t *testing.T) (*Parker[parkedTest], chan wakeup) {
	t.Helper()
	StartClock()
	done := make(chan struct{})
	woken := make(chan wakeup, 4)
	p, err := NewParker(ParkOptions[parkedTest]{
		After: 20 * time.Millisecond, Every: 5 * time.Millisecond, MaxWaiting: 8, Done: done,
		Wake: func(c *parkedTest, expired bool) { woken <- wakeup{c, expired} },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(done); p.Close() })
	return p, woken
}

func waitWake(t *testing.T, woken chan wakeup) wakeup {
	t.Helper()
	select {
	case w := <-woken:
		return w
	case <-time.After(2 * time.Second):
		t.Fatal("no wake-up")
	}
	return wakeup{}
}

// A parked connection comes back when its client speaks, parks again (its
// descriptor still in the set), comes back expired when its time is up,
// and Close hands back what is still parked.
func TestParkerWakesExpiresAndCloses(t *testing.T) {
	p, woken := newTestParker(t)
	client, server := conntest.Pair(t, NewLazyListener)
	// A read that waited (until its deadline) left an armed entry in the
	// wait set, and a write that had to wait would have registered the
	// socket in Go's poller: parking takes it out of both.
	server.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle read: %v", err)
	}
	lc := lazyOf(server)
	if lc.sw == nil || !lc.sw.inSet || !lc.sw.armed {
		t.Fatalf("the idle read did not wait in the wait set, or its entry is not armed: %+v", lc.sw)
	}
	lc.mu.Lock()
	lc.register()
	lc.mu.Unlock()
	server.SetReadDeadline(time.Time{})
	fd := NewFD(server, nil)
	park := func(c *parkedTest, expiry int64) bool {
		n := p.Unpoll(server, fd, &c.inSet)
		return n >= 0 && p.Park(c, n, expiry, &c.inSet)
	}
	pc := &parkedTest{name: "a"}
	if !park(pc, 0) || !pc.inSet || p.Parked() != 1 {
		t.Fatalf("park: inSet %v, %d parked", pc.inSet, p.Parked())
	}
	if lc.registered() || lc.sw != nil {
		t.Errorf("a parked socket must have left Go's poller and the wait set: registered %v, %+v", lc.registered(), lc.sw)
	}

	client.Write([]byte("x"))
	if w := waitWake(t, woken); w.c != pc || w.expired || p.Parked() != 0 {
		t.Fatalf("client spoke: woke %+v, %d parked", w, p.Parked())
	}
	b := make([]byte, 1)
	if n, err := fd.Read(b); n != 1 || err != nil {
		t.Fatalf("read after wake-up: %d %v", n, err)
	}

	if !park(pc, CoarseNow()+int64(30*time.Millisecond)) {
		t.Fatal("park again")
	}
	if w := waitWake(t, woken); w.c != pc || !w.expired {
		t.Fatalf("keep-alive timeout: woke %+v", w)
	}

	other := &parkedTest{name: "b", inSet: pc.inSet} // the descriptor's flag travels with it
	if !park(other, 0) {
		t.Fatal("park a third time")
	}
	p.Close()
	if w := waitWake(t, woken); w.c != other || !w.expired {
		t.Fatalf("close: woke %+v", w)
	}
}

// The sweeper cuts the wait of a session idle for After: the blocked read
// fails with a timeout, and EndWait says the wait was cut.
func TestParkerCutsIdleWait(t *testing.T) {
	p, _ := newTestParker(t)
	client, server := conntest.Pair(t, NewLazyListener)
	var c net.Conn = server
	st := NewIdle(&c)
	p.Hold(st)
	defer p.Drop(st)

	st.BeginWait(0)
	start := time.Now()
	_, err := c.Read(make([]byte, 1))
	if cut := !st.EndWait(); !cut || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle wait: cut %v, read %v", cut, err)
	}
	// The wait's start is read on the coarse clock: up to a tick early.
	if waited := time.Since(start); waited < 20*time.Millisecond-clockTick {
		t.Errorf("cut after %v, before After (20ms)", waited)
	}

	// A wait that ends before After is the session's own.
	c.SetReadDeadline(time.Time{})
	st.BeginWait(0)
	client.Write([]byte("x"))
	if _, err := c.Read(make([]byte, 1)); err != nil || !st.EndWait() {
		t.Fatalf("short wait: %v", err)
	}
}

// A wait is dated no earlier than the last response went out: the coarse
// clock lags by as long as its goroutine waited for a CPU, and the
// keep-alive timeout of a wait dated from it ended that much early.
func TestIdleWaitDatedFromAnswer(t *testing.T) {
	StartClock()
	var c net.Conn
	st := NewIdle(&c)
	answered := CoarseNow() + int64(time.Second) // a clock a second behind
	st.BeginWait(answered)
	if got := st.Since(); got != answered {
		t.Fatalf("wait dated %v before the response went out", time.Duration(answered-got))
	}
	if !st.EndWait() {
		t.Fatal("wait cut")
	}
	if lw := st.lastWait.Load(); lw < 0 {
		t.Fatalf("last wait %v", time.Duration(lw))
	}
}

// A connection that parks after a first wait ended by its deadline takes
// its still armed entry out of the wait set (else the client's next bytes
// would wake the set's loop for nothing); one woken by data has nothing to
// take out.
func TestParkDropsArmedWaitEntry(t *testing.T) {
	_, server := conntest.Pair(t, NewLazyListener)
	lc := lazyOf(server)
	server.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) || lc.sw == nil || !lc.sw.armed {
		t.Fatalf("idle read: %v, %+v", err, lc.sw)
	}
	lc.forgetWaits()
	if e := epollCtl(waits().epfd, unix.EPOLL_CTL_MOD, lc.fd, &unix.EpollEvent{}); e != syscall.ENOENT {
		t.Errorf("the armed entry must be out of the wait set: epoll_ctl MOD gave %v", e)
	}

	client2, server2 := conntest.Pair(t, NewLazyListener)
	lc2 := lazyOf(server2)
	server2.SetReadDeadline(time.Now().Add(5 * time.Second))
	go func() { time.Sleep(20 * time.Millisecond); client2.Write([]byte("x")) }()
	if _, err := server2.Read(make([]byte, 1)); err != nil || lc2.sw == nil || lc2.sw.armed || !lc2.sw.inSet {
		t.Fatalf("read woken by data: %v, %+v", err, lc2.sw)
	}
}

// More than MaxWaiting sessions waiting at a sweep make the Parker crowded:
// a session about to wait parks at once instead. It stays so while parks
// at once go on, and ends once the waits and those parks are few.
func TestParkerAtOnceWhileCrowded(t *testing.T) {
	done := make(chan struct{})
	// After is long: the sweeper leaves the waits alone.
	p, err := NewParker(ParkOptions[parkedTest]{After: time.Hour, Every: 5 * time.Millisecond, MaxWaiting: 8, Done: done,
		Wake: func(*parkedTest, bool) {}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(done); p.Close() })
	if p.AtOnce(NewIdle(nil)) {
		t.Fatal("at once before anything waited")
	}
	var idles []*Idle
	for range 9 {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		var c net.Conn = a
		st := NewIdle(&c)
		p.Hold(st)
		st.BeginWait(0)
		idles = append(idles, st)
	}
	waitCrowded := func(what string, want bool) {
		t.Helper()
		for end := time.Now().Add(2 * time.Second); p.crowded.Load() != want; time.Sleep(time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%s: crowded stays %v", what, !want)
			}
		}
	}
	waitCrowded("9 waiting", true)
	if !p.AtOnce(NewIdle(nil)) {
		t.Fatal("not at once while crowded")
	}
	for _, st := range idles {
		st.EndWait()
		p.Drop(st)
	}
	p.atOnce.Store(0)
	waitCrowded("nothing waiting", false)
	if p.AtOnce(NewIdle(nil)) {
		t.Fatal("at once after the crowd left")
	}

	// The rule a sweep applies, with 8 waits at most and After = 4 sweeps
	// (on a Parker without loops).
	p = &Parker[parkedTest]{opt: ParkOptions[parkedTest]{After: 20 * time.Millisecond, Every: 5 * time.Millisecond, MaxWaiting: 8}}
	for _, c := range []struct {
		waiting, atOnce int
		was, want       bool
	}{
		{8, 0, false, false}, {9, 0, false, true},
		{0, 1, true, true}, {4, 0, true, true}, {3, 0, true, false}, {0, 0, true, false}, {5, 0, false, false},
	} {
		p.crowded.Store(c.was)
		if p.updateCrowded(c.waiting, c.atOnce); p.crowded.Load() != c.want {
			t.Errorf("crowded %v, %d waiting, %d parked at once: crowded %v, want %v", c.was, c.waiting, c.atOnce, !c.want, c.want)
		}
	}
}

// A parked plain socket can leave its connection object: DetachLazy keeps
// the descriptor open and closes the object; AttachLazy makes a working
// connection of it again, with the same peer address. A socket in Go's
// poller stays attached.
func TestDetachLazyKeepsTheSocket(t *testing.T) {
	client, server := conntest.Pair(t, NewLazyListener)
	fd, remote, ok := DetachLazy(server)
	if !ok || fd < 0 || remote.String() != client.LocalAddr().String() {
		t.Fatalf("detach: fd %d, remote %v (client %v), ok %v", fd, remote, client.LocalAddr(), ok)
	}
	if err := server.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("closing the detached object: %v, want ErrClosed", err)
	}
	again := AttachLazy(fd, remote)
	defer again.Close()
	if again.RemoteAddr().String() != client.LocalAddr().String() {
		t.Errorf("attached: remote %v, want %v", again.RemoteAddr(), client.LocalAddr())
	}
	client.Write([]byte("x"))
	again.SetReadDeadline(time.Now().Add(2 * time.Second))
	if b := make([]byte, 1); func() bool { n, err := again.Read(b); return n != 1 || err != nil }() {
		t.Fatal("no read on the attached socket")
	}
	again.Write([]byte("y"))
	client.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := client.Read(make([]byte, 1)); n != 1 || err != nil {
		t.Fatalf("client read: %d %v", n, err)
	}

	// Registered (a third read waited): not detached.
	for range 2 {
		again.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		again.Read(make([]byte, 1))
	}
	if _, _, ok := DetachLazy(again); ok {
		t.Error("a socket in Go's poller was detached")
	}
}

// Beyond MaxWaiting waits, a new connection's wait is cut after a sweep
// period, but not that of a connection whose last wait was shorter than
// After: a crowd of busy keep-alive clients must not park on every request.
func TestParkerCrowdSparesBusyConnections(t *testing.T) {
	StartClock()
	done := make(chan struct{})
	p, err := NewParker(ParkOptions[parkedTest]{
		After: time.Second, Every: 5 * time.Millisecond, MaxWaiting: 4, Done: done,
		Wake: func(*parkedTest, bool) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { close(done); p.Close() }()
	idle := func() *Idle {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		var c net.Conn = a
		st := NewIdle(&c)
		p.Hold(st)
		t.Cleanup(func() { p.Drop(st) })
		return st
	}
	busy := idle()
	busy.BeginWait(0)
	if !busy.EndWait() {
		t.Fatal("a wait ended at once was cut")
	}
	var fresh []*Idle
	for range 5 {
		fresh = append(fresh, idle())
	}
	busy.BeginWait(0)
	for _, st := range fresh {
		st.BeginWait(0)
	}
	deadline := time.Now().Add(2 * time.Second)
	for fresh[0].state.Load() == idleWaiting {
		if time.Now().After(deadline) {
			t.Fatal("the crowd's new waits were not cut")
		}
		time.Sleep(time.Millisecond)
	}
	if s := busy.state.Load(); s != idleWaiting {
		t.Errorf("busy connection's wait was cut with the crowd (state %d)", s)
	}
	// A new connection on the same session is new to the sweeper too.
	busy.NewConn()
	if lw := busy.lastWait.Load(); lw != noWait {
		t.Errorf("NewConn kept the last wait %d", lw)
	}
}

// Beyond MaxFirstWaits sessions waiting for their client's second request
// a new one parks at once; the end of such a wait makes room again.
func TestParkerAtOnceBeyondFirstWaits(t *testing.T) {
	p := &Parker[parkedTest]{opt: ParkOptions[parkedTest]{MaxFirstWaits: 2}}
	a, b, c := NewIdle(nil), NewIdle(nil), NewIdle(nil)
	for _, st := range []*Idle{a, b} {
		st.BeginWait(0)
		if p.AtOnce(st) {
			t.Fatal("at once within MaxFirstWaits")
		}
	}
	c.BeginWait(0)
	if !p.AtOnce(c) {
		t.Fatal("not at once beyond MaxFirstWaits")
	}
	c.EndWait()
	a.EndWait()
	c.BeginWait(0)
	if p.AtOnce(c) {
		t.Fatal("at once after a first wait ended")
	}
	c.EndWait()
	c.BeginWait(0)
	c.EndWait() // a later wait is no first wait: nothing to uncount
	if n := p.firstWaits.Load(); n != 1 {
		t.Errorf("%d first waits counted, want 1 (b's)", n)
	}
}
