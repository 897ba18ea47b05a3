package backend

import (
	"testing"
	"time"
)

// poolConn is a connection that records its closing.
type poolConn struct {
	name   string
	closed bool
}

func (c *poolConn) Close() error { c.closed = true; return nil }

func TestIdlePool(t *testing.T) {
	var p IdlePool[*poolConn]
	p.SetMax(2)
	t0 := time.Unix(1_700_000_000, 0)
	a, b, c := &poolConn{name: "a"}, &poolConn{name: "b"}, &poolConn{name: "c"}
	p.Put(a, t0)
	p.Put(b, t0.Add(10*time.Second))
	p.Put(c, t0)
	if !c.closed || p.Len() != 2 {
		t.Fatalf("over max: c closed %v, %d kept; want closed, 2", c.closed, p.Len())
	}
	if got, ok := p.TakeMatching(func(c *poolConn) bool { return c.name == "a" }); !ok || got != a {
		t.Fatalf("TakeMatching a: %v %v", got, ok)
	}
	p.Put(a, t0)
	if got, _ := p.Take(); got != a {
		t.Fatalf("Take: %v, want the newest (a)", got)
	}
	p.Put(a, t0)
	p.Purge(t0.Add(8*time.Second), 5*time.Second)
	if !a.closed || b.closed || p.Len() != 1 {
		t.Fatalf("purge: a closed %v, b closed %v, %d kept", a.closed, b.closed, p.Len())
	}
	p.CloseAll()
	if !b.closed || p.Len() != 0 {
		t.Fatal("CloseAll")
	}
	if _, ok := p.Take(); ok {
		t.Fatal("Take from an empty pool")
	}
}
