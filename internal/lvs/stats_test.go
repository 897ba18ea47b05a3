package lvs

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

// holdingBackend accepts connections and keeps them open until the test
// ends; stop closes the listener only.
func holdingBackend(t *testing.T) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l
}

// TestSnapshot runs a service with a TCP_CHECK, an HTTP_GET and a
// MISC_CHECK real server and a sorry server on the userspace datapath,
// holds connections through the VIP and reads the snapshot the statistics
// are built from: check statuses in HAProxy's words, weights, connection
// counts, state changes, and the sorry server taking over.
func TestSnapshot(t *testing.T) {
	a := holdingBackend(t)
	web := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) })}
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go web.Serve(wl)
	defer web.Close()
	sorry, misc := freeAddr(t), freeAddr(t)
	vip := freeAddr(t)
	cfg := loadConf(t, fmt.Sprintf(`
virtual_server 127.0.0.1 %s {
    delay_loop 0.05
    lb_algo rr
    quorum 1
    sorry_server 127.0.0.1 %s
    real_server 127.0.0.1 %s {
        weight 3
        TCP_CHECK {
            connect_timeout 0.5
            retry 2
            delay_before_retry 0.05
        }
    }
    real_server 127.0.0.1 %s {
        weight 2
        inhibit_on_failure
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 0.5
            retry 0
        }
    }
    real_server 127.0.0.1 %s {
        MISC_CHECK {
            misc_path "/bin/sh -c 'exit 4'"
            misc_timeout 5
            retry 0
        }
    }
}
`, port(vip), port(sorry), port(a.Addr().String()), port(wl.Addr().String()), port(misc)))
	svcs, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := NewUserspace(svcs, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	rt := New(svcs, dp, Options{})
	if err := rt.Start(); err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	snap := func() ServiceStats { return rt.Snapshot()[0] }
	waitFor(t, "every checker's first result", func() bool {
		for _, r := range snap().Reals[:3] {
			if r.Check.Status == "INI" {
				return false
			}
		}
		return true
	})
	for range 2 {
		c, err := net.Dial("tcp", vip)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	waitFor(t, "2 active connections on the TCP_CHECK server", func() bool { return snap().Reals[0].Active == 2 })
	// The proxy counts them, and the bytes both ways (none sent yet).
	if tr := snap().Reals[0].Traffic; tr == nil || *tr != (Traffic{Conns: 2, Replies: true}) {
		t.Errorf("traffic of the TCP_CHECK server: %+v", tr)
	}

	s := snap()
	if s.Name != "[127.0.0.1]:tcp:"+port(vip) || !s.Serving || s.Sched != "rr" || len(s.Reals) != 4 {
		t.Fatalf("service: %+v", s)
	}
	tcp, web2, mc, sry := s.Reals[0], s.Reals[1], s.Reals[2], s.Reals[3]
	if !tcp.Alive || tcp.Weight != 3 || tcp.UserWeight != 3 || tcp.Check.Status != "L4OK" || tcp.Check.Desc != "Layer4 check passed" ||
		tcp.Check.Rise != 1 || tcp.Check.Fall != 3 || tcp.Check.Health != 3 || tcp.Check.DurationMS < 0 || tcp.Chkdown != 0 {
		t.Errorf("TCP_CHECK server: %+v %+v", tcp, tcp.Check)
	}
	if web2.Alive || web2.Weight != 0 || web2.UserWeight != 2 || web2.Check.Status != "L7STS" || web2.Check.Code != 503 ||
		web2.Check.Health != 0 || web2.Chkdown != 1 || web2.Addr != wl.Addr().String() {
		t.Errorf("HTTP_GET server answering 503, inhibited: %+v %+v", web2, web2.Check)
	}
	if mc.Alive || mc.Check.Status != "PROCERR" || mc.Check.Code != 4 || mc.Check.Desc != "External check error" {
		t.Errorf("MISC_CHECK server exiting 4: %+v %+v", mc, mc.Check)
	}
	if !sry.Sorry || sry.Weight != 0 || sry.Check != nil {
		t.Errorf("unused sorry server: %+v", sry)
	}

	a.Close() // the last live server fails: quorum lost, the sorry server takes over
	waitFor(t, "the sorry server", func() bool { return snap().Reals[3].Weight == 1 })
	s = snap()
	tcp = s.Reals[0]
	if tcp.Alive || tcp.Check.Status != "L4CON" || tcp.Check.Info != "Connection refused" || tcp.Chkdown != 1 || tcp.Chkfail != 3 || tcp.Weight != 0 {
		t.Errorf("TCP_CHECK server after its listener closed (3 failures: 2 retries): %+v %+v", tcp, tcp.Check)
	}
	if !s.Serving || s.Downs != 0 {
		t.Errorf("the sorry server keeps the service serving: %+v", s)
	}
	time.Sleep(1100 * time.Millisecond)
	if d := snap().Reals[0].Downtime; d < 1 {
		t.Errorf("downtime of the failed server: %d s", d)
	}
}

// TestSnapshotServiceDown: a service without sorry server that loses its
// only real server counts a backend down and its downtime.
func TestSnapshotServiceDown(t *testing.T) {
	a := holdingBackend(t)
	vip := freeAddr(t)
	cfg := loadConf(t, fmt.Sprintf(`
virtual_server 127.0.0.1 %s {
    delay_loop 0.05
    real_server 127.0.0.1 %s {
        TCP_CHECK {
            connect_timeout 0.5
            retry 0
        }
    }
}
`, port(vip), port(a.Addr().String())))
	svcs, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := NewUserspace(svcs, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	rt := New(svcs, dp, Options{})
	if err := rt.Start(); err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	a.Close()
	waitFor(t, "the service down", func() bool { s := rt.Snapshot()[0]; return !s.Serving && s.Downs == 1 })
	if s := rt.Snapshot()[0]; s.Reals[0].Check.Info != "Connection refused" || s.LastChange > 1 {
		t.Errorf("service down: %+v %+v", s, s.Reals[0].Check)
	}
}

// TestTrafficTotals: the totals never go backwards: a datapath that
// starts counting again from 0 adds to what it had counted, and a
// destination the datapath no longer reports keeps its last values.
func TestTrafficTotals(t *testing.T) {
	s := &Service{}
	a, b := DestKey{Svc: s, Addr: netip.MustParseAddrPort("10.0.0.2:80")}, DestKey{Svc: s, Addr: netip.MustParseAddrPort("10.0.0.3:80")}
	keys := []DestKey{a, b}
	var tt trafficTotals
	read := func(raw map[DestKey]DestStats) map[DestKey]DestStats { return tt.merge(raw, keys) }
	got := read(map[DestKey]DestStats{a: {Active: 1, Traffic: &Traffic{Conns: 3, InPkts: 30, InBytes: 3000, Replies: true}}})
	if got[a].Active != 1 || *got[a].Traffic != (Traffic{Conns: 3, InPkts: 30, InBytes: 3000, Replies: true}) || got[b].Traffic != nil {
		t.Fatalf("first read: %+v %+v", got[a], got[b])
	}
	// The datapath restarted counting (tables re-created).
	got = read(map[DestKey]DestStats{a: {Traffic: &Traffic{Conns: 1, InPkts: 5, InBytes: 400}}})
	if *got[a].Traffic != (Traffic{Conns: 4, InPkts: 35, InBytes: 3400, Replies: true}) {
		t.Fatalf("after a restart: %+v", *got[a].Traffic)
	}
	// a leaves the datapath: its totals stay.
	got = read(map[DestKey]DestStats{b: {Traffic: &Traffic{Conns: 1}}})
	if got[a].Traffic == nil || got[a].Traffic.Conns != 4 || got[b].Traffic.Conns != 1 {
		t.Fatalf("a unlisted: %+v %+v", got[a].Traffic, got[b].Traffic)
	}
	// Counting on from where it was is no restart.
	got = read(map[DestKey]DestStats{a: {Traffic: &Traffic{Conns: 2, InPkts: 9, InBytes: 500}}})
	if *got[a].Traffic != (Traffic{Conns: 5, InPkts: 39, InBytes: 3500, Replies: true}) {
		t.Fatalf("counting on: %+v", *got[a].Traffic)
	}
}
