package lvs

import (
	"context"
	"dhproxy/internal/netnstest"
	"fmt"
	"net"
	"testing"
	"time"
)

// TestCheckerFWMark: inside a namespace of its own where packets marked
// 0x10 are routed to a blackhole, a TCP_CHECK and a PING_CHECK with
// `fwmark 0x10` fail while the same checkers without the mark succeed:
// the mark is on the probe's packets.
func TestCheckerFWMark(t *testing.T) {
	ns, ip := netnstest.Own(t, "mark")
	ip("-n", ns, "addr", "add", "10.213.82.1/32", "dev", "lo")
	// The mark rule goes before the local table's, which moves to 100.
	ip("-n", ns, "rule", "add", "fwmark", "0x10", "table", "100", "priority", "10")
	ip("-n", ns, "rule", "add", "table", "local", "priority", "100")
	ip("-n", ns, "rule", "del", "priority", "0")
	ip("-n", ns, "route", "add", "blackhole", "10.213.82.0/24", "table", "100")
	inNetns(t, ns, func() {
		l, err := net.Listen("tcp", "10.213.82.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		rs := realAt(t, l.Addr().String())
		for _, mark := range []uint32{0, 0x10} {
			tcp := tcpCheck(0)
			tcp.FWMark = mark
			ping := pingCheck(0)
			ping.FWMark = mark
			for _, conf := range []*struct {
				kind string
				ck   *checker
			}{{"TCP_CHECK", newChecker(tcp, rs, "tcp", time.Second, false)}, {"PING_CHECK", newChecker(ping, rs, "tcp", time.Second, false)}} {
				_, tr := conf.ck.step(context.Background())
				if tr == nil || tr.up != (mark == 0) {
					t.Fatalf("%s fwmark %#x: %+v (last %+v), want up=%v", conf.kind, mark, tr, conf.ck.last, mark == 0)
				}
			}
		}
	})
}

// TestSorryServerInhibit: with sorry_server_inhibit the sorry server is
// listed at weight 0 while quorum holds, takes the clients (weight 1)
// when quorum is lost, and goes back to weight 0, still listed, when it
// returns.
func TestSorryServerInhibit(t *testing.T) {
	a, sorry := newBackend(t, "a"), newBackend(t, "sorry")
	vip := freeAddr(t)
	cfg := loadConf(t, fmt.Sprintf(`
virtual_server 127.0.0.1 %s {
    delay_loop 0.05
    sorry_server 127.0.0.1 %s
    sorry_server_inhibit
    real_server 127.0.0.1 %s {
        TCP_CHECK {
            connect_timeout 0.5
            retry 0
        }
    }
}
`, port(vip), port(sorry.addr), port(a.addr)))
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
	pa, ps := port(a.addr), port(sorry.addr)
	if got := destsOf(rt); got != pa+"/1 "+ps+"/0sorry" {
		t.Fatalf("start: %s", got)
	}
	if got := dialName(t, vip); got != "a" {
		t.Fatalf("quorum: got %q, want a (the sorry server at weight 0 gets no clients)", got)
	}
	a.stop()
	waitFor(t, "sorry server in", func() bool { return destsOf(rt) == ps+"/1sorry" })
	if got := dialName(t, vip); got != "sorry" {
		t.Fatalf("quorum lost: got %q", got)
	}
	a.start(t)
	waitFor(t, "sorry server at 0", func() bool { return destsOf(rt) == pa+"/1 "+ps+"/0sorry" })
	if got := dialName(t, vip); got != "a" {
		t.Fatalf("quorum back: got %q, want a", got)
	}
}
