package tcp

import (
	"crypto/sha256"
	"io"
	"testing"
	"time"
)

func (p *Pipes) inUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.live - len(p.free)
}

// An idle session holds no pipe: a direction takes one only while bytes
// are in flight, and the pool keeps the pipes for the next transfer.
func TestIdleSessionHoldsNoPipe(t *testing.T) {
	pool := NewPipes(4)
	defer pool.Close()
	front, backend := listen(t), listen(t)
	cli := dial(t, front.Addr())
	pc := accept(t, front)
	ps := dial(t, backend.Addr())
	back := accept(t, backend)
	done := make(chan Result, 1)
	go func() { done <- Forward(pc, ps, Timeouts{Client: 5 * time.Second, Server: 5 * time.Second}, pool) }()

	msg := randBytes(t, 256<<10)
	go func() { cli.Write(msg) }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(back, got); err != nil {
		t.Fatal(err)
	}
	go func() { back.Write(msg) }()
	if _, err := io.ReadFull(cli, got); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(msg) {
		t.Fatal("data corrupted")
	}
	// The reader can see the last bytes before the forwarding goroutine,
	// back from its write, has returned the pipe: give it a moment.
	for deadline := time.Now().Add(2 * time.Second); pool.inUse() != 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if n := pool.inUse(); n != 0 {
		t.Errorf("idle session holds %d pipes", n)
	}
	if n := pool.Live(); n < 1 || n > 2 {
		t.Errorf("%d pipes open after one transfer each way, want 1 or 2 kept for reuse", n)
	}
	cli.CloseWrite()
	back.CloseWrite()
	checkTerm(t, wait(t, done, 5*time.Second), "--")
	pool.Close()
	if n := pool.Live(); n != 0 {
		t.Errorf("%d pipes open after Close", n)
	}
}

// With the pool exhausted, sessions copy through a buffer instead, with the
// same results, timeouts and resets.
func TestForwardPoolExhausted(t *testing.T) {
	saved := testPipes
	testPipes = NewPipes(0)
	defer func() { testPipes = saved }()
	TestForwardIntegrity(t)
	TestHalfCloseServerFirst(t)
	TestClientTimeout(t)
	TestServerReset(t)
	if n := testPipes.Live(); n != 0 {
		t.Errorf("an empty pool opened %d pipes", n)
	}
}
