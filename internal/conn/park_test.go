package conn

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
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

// lazyPair returns a client and the lazy server side of one connection.
func lazyPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewLazyListener(tl)
	t.Cleanup(func() { l.Close() })
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
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
	client, server := lazyPair(t)
	// A read that waited registered the socket in Go's poller: parking
	// takes it out.
	server.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle read: %v", err)
	}
	server.SetReadDeadline(time.Time{})
	fd := NewFD(server, nil)
	pc := &parkedTest{name: "a"}
	if !p.Park(pc, server, fd, 0, &pc.inSet) || !pc.inSet || p.Parked() != 1 {
		t.Fatalf("park: inSet %v, %d parked", pc.inSet, p.Parked())
	}
	if lazyOf(server).registered() {
		t.Error("a parked socket must have left Go's poller")
	}
	client.Write([]byte("x"))
	if w := waitWake(t, woken); w.c != pc || w.expired || p.Parked() != 0 {
		t.Fatalf("client spoke: woke %+v, %d parked", w, p.Parked())
	}
	b := make([]byte, 1)
	if n, err := fd.Read(b); n != 1 || err != nil {
		t.Fatalf("read after wake-up: %d %v", n, err)
	}

	if !p.Park(pc, server, fd, CoarseNow()+int64(30*time.Millisecond), &pc.inSet) {
		t.Fatal("park again")
	}
	if w := waitWake(t, woken); w.c != pc || !w.expired {
		t.Fatalf("keep-alive timeout: woke %+v", w)
	}

	other := &parkedTest{name: "b", inSet: pc.inSet} // the descriptor's flag travels with it
	if !p.Park(other, server, fd, 0, &other.inSet) {
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
	client, server := lazyPair(t)
	var c net.Conn = server
	st := NewIdle(&c)
	p.Hold(st)
	defer p.Drop(st)

	st.BeginWait()
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
	st.BeginWait()
	client.Write([]byte("x"))
	if _, err := c.Read(make([]byte, 1)); err != nil || !st.EndWait() {
		t.Fatalf("short wait: %v", err)
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
	busy.BeginWait()
	if !busy.EndWait() {
		t.Fatal("a wait ended at once was cut")
	}
	var fresh []*Idle
	for range 5 {
		fresh = append(fresh, idle())
	}
	busy.BeginWait()
	for _, st := range fresh {
		st.BeginWait()
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
