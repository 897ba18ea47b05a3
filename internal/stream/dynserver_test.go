package stream

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dhproxy/internal/model"
)

func quietRuntime() *Runtime {
	rt := &Runtime{cfg: &model.Config{}}
	rt.cfg.Global.Quiet = true
	return rt
}

// picks counts the servers chosen by n balanced picks.
func picks(b *Backend, n int) map[string]int {
	got := map[string]int{}
	for range n {
		if s, _ := b.pick(nil, hashKey{}); s != nil {
			got[s.Name]++
		}
	}
	return got
}

func TestAddServerStartsInMaintenanceThenTakesTraffic(t *testing.T) {
	b := testBackend(t, "backend be\n balance roundrobin\n server s1 127.0.0.1:1\n")
	rt := quietRuntime()
	s1 := b.Servers[0]
	s1.Stats.Chkdown.Add(7) // counters must survive the server set's replacement
	n1, err := rt.AddServer(b, &model.Server{Name: "n1", Addr: "127.0.0.1:2", Weight: 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if n1.Conf.ID != 2 || n1.AdminState() != AdminMaint || n1.Up() {
		t.Fatalf("added server: id %d admin %#x up %v, want id 2 in forced maintenance", n1.Conf.ID, n1.AdminState(), n1.Up())
	}
	if got := picks(b, 10); got["n1"] != 0 || got["s1"] != 10 {
		t.Fatalf("a server in maintenance took traffic: %v", got)
	}
	rt.SetMaint(n1, false)
	if got := picks(b, 10); got["n1"] != 5 || got["s1"] != 5 {
		t.Fatalf("after enable: %v, want an even round robin", got)
	}
	if n := usableServers(b); n != 2 {
		t.Fatalf("nbsrv %d with the added server enabled, want 2", n)
	}
	if _, err := rt.AddServer(b, &model.Server{Name: "n1", Addr: "127.0.0.1:3", Weight: 1}, false); err != ErrServerExists {
		t.Fatalf("duplicate name: %v", err)
	}
	if err := rt.DelServer(n1); err != ErrDelNotMaint {
		t.Fatalf("deleting a server in service: %v", err)
	}
	n1.cur.Add(1)
	rt.SetMaint(n1, true)
	if err := rt.DelServer(n1); err != ErrDelConnections {
		t.Fatalf("deleting a server with a connection: %v", err)
	}
	n1.cur.Add(-1)
	if err := rt.DelServer(n1); err != nil {
		t.Fatal(err)
	}
	if !n1.CheckPaused(false) || !n1.CheckPaused(true) {
		t.Errorf("a deleted server's checks still run")
	}
	if got := picks(b, 10); got["s1"] != 10 || len(b.ServerList()) != 1 {
		t.Fatalf("after del: %v, servers %d", got, len(b.ServerList()))
	}
	if s1.Stats.Chkdown.Load() != 7 || b.ServerList()[0] != s1 {
		t.Fatalf("s1 lost its counters across the changes")
	}
	// The lowest free id is reused, as haproxy numbers servers.
	n2, err := rt.AddServer(b, &model.Server{Name: "n2", Addr: "127.0.0.1:2", Weight: 1}, true)
	if err != nil || n2.Conf.ID != 2 || !n2.Up() {
		t.Fatalf("n2 with 'enabled': %v id %d up %v", err, n2.Conf.ID, n2.Up())
	}
}

func TestAddServerNeedsDynamicAlgorithm(t *testing.T) {
	for _, algo := range []string{"static-rr", "source"} {
		b := testBackend(t, "backend be\n balance "+algo+"\n server s1 127.0.0.1:1\n")
		if _, err := quietRuntime().AddServer(b, &model.Server{Name: "n1", Addr: "127.0.0.1:2", Weight: 1}, false); err != ErrStaticLB {
			t.Errorf("balance %s: %v, want %v", algo, err, ErrStaticLB)
		}
	}
}

// TestServerSetChangesUnderTraffic adds and deletes servers while other
// goroutines pick (run with -race): picks always find s1 usable, and
// never return a deleted server once its deletion is over.
func TestServerSetChangesUnderTraffic(t *testing.T) {
	for _, algo := range []string{"roundrobin", "leastconn", "first", "random", "source\n hash-type consistent"} {
		b := testBackend(t, "backend be\n balance "+algo+"\n server s1 127.0.0.1:1\n")
		rt := quietRuntime()
		var stop atomic.Bool
		var wg sync.WaitGroup
		var misses atomic.Int64
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					// full (queue and wait) happens when a picker's turns
					// all land on a server leaving; none usable must not.
					if s, full := b.pick(nil, hashKey{h: 12345, ok: true}); s == nil && !full {
						misses.Add(1)
					}
				}
			}()
		}
		for i := range 200 {
			n, err := rt.AddServer(b, &model.Server{Name: "n", Addr: "127.0.0.1:2", Weight: 1 + i%3}, true)
			if err != nil {
				t.Fatal(err)
			}
			n.SetWeight(1 + i%5)
			rt.SetMaint(n, true)
			if err := rt.DelServer(n); err != nil {
				t.Fatal(err)
			}
			for range 5 {
				if s, _ := b.pick(nil, hashKey{}); s == n {
					t.Fatalf("%s: deleted server picked", algo)
				}
			}
		}
		stop.Store(true)
		wg.Wait()
		if misses.Load() != 0 {
			t.Errorf("%s: %d picks found no server while s1 was up", algo, misses.Load())
		}
	}
}

func TestPoolMaxConnBoundsIdleConnections(t *testing.T) {
	b := testBackend(t, "backend be\n server s0 127.0.0.1:1 pool-max-conn 0\n server s1 127.0.0.1:1 pool-max-conn 1\n server s2 127.0.0.1:1\n"+
		" default-server pool-max-conn 2\n server s3 127.0.0.1:1\n")
	for i, want := range []int{0, 1, 3, 2} {
		s := b.Servers[i]
		for range 3 {
			a, c := net.Pipe()
			defer c.Close()
			s.putIdle(&serverConn{c: halfPipe{a}, srv: s}, time.Now())
		}
		if got := len(s.idle); got != want {
			t.Errorf("%s: %d idle connections kept, want %d", s.Name, got, want)
		}
	}
	if n, ok := b.Servers[1].IdleLimit(); !ok || n != 1 {
		t.Errorf("IdleLimit of pool-max-conn 1: %d %v", n, ok)
	}
	if _, ok := b.Servers[2].IdleLimit(); ok {
		t.Errorf("a server without pool-max-conn has a limit")
	}
	if n, ok := b.Servers[3].IdleLimit(); !ok || n != 2 {
		t.Errorf("IdleLimit of default-server pool-max-conn 2: %d %v", n, ok)
	}
}

// halfPipe gives a net.Pipe end the CloseWrite of a TCP connection.
type halfPipe struct{ net.Conn }

func (halfPipe) CloseWrite() error { return nil }
