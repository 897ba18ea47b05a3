package lvs

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dhproxy/internal/config"
	"dhproxy/internal/config/keepalived"
)

// backend is a TCP server on a fixed loopback port that writes its name
// to every client; it can be stopped and started again.
type backend struct {
	name string
	addr string
	l    net.Listener
}

func newBackend(t *testing.T, name string) *backend {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: name, addr: l.Addr().String()}
	b.serve(l)
	t.Cleanup(b.stop)
	return b
}

func (b *backend) serve(l net.Listener) {
	b.l = l
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, b.name)
			c.Close()
		}
	}()
}

func (b *backend) stop() { b.l.Close() }

func (b *backend) start(t *testing.T) {
	l, err := net.Listen("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	b.serve(l)
}

func port(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func loadConf(t *testing.T, text string) *keepalived.Config {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	os.WriteFile(path, []byte(text), 0o644)
	var d config.Diags
	cfg := keepalived.Load(path, &d)
	if cfg == nil {
		var b strings.Builder
		d.Write(&b, 0)
		t.Fatalf("config refused:\n%s", b.String())
	}
	return cfg
}

func dialName(t *testing.T, addr string) string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "refused"
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, _ := io.ReadAll(c)
	return string(b)
}

// destsOf renders the programmed destinations as "addr/weight[sorry]".
func destsOf(rt *Runtime) string {
	var out []string
	for _, d := range rt.Desired()[0].Dests {
		s := fmt.Sprintf("%s/%d", port(d.Addr.String()), d.Weight)
		if d.Sorry {
			s += "sorry"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRuntimeQuorumSorryInhibit drives keepalived's pool rules with real
// checks and the userspace datapath: hysteresis keeps quorum through one
// failure, the sorry server takes over when quorum is lost, a failed
// inhibit_on_failure server stays listed at weight 0, notify scripts and
// the alert hook run on every transition.
func TestRuntimeQuorumSorryInhibit(t *testing.T) {
	a, b, sorry := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "sorry")
	vip := freeAddr(t)
	marker := filepath.Join(t.TempDir(), "down")
	cfg := loadConf(t, fmt.Sprintf(`
virtual_server 127.0.0.1 %s {
    delay_loop 0.05
    lb_algo wrr
    quorum 2
    hysteresis 1
    sorry_server 127.0.0.1 %s
    real_server 127.0.0.1 %s {
        weight 1
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 0.5
            retry 0
        }
    }
    real_server 127.0.0.1 %s {
        weight 2
        notify_down "/bin/sh -c 'echo down >> %s'"
        TCP_CHECK {
            connect_timeout 0.5
            retry 0
        }
    }
}
`, port(vip), port(sorry.addr), port(a.addr), port(b.addr), marker))
	svcs, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logMu sync.Mutex
	var logs, alerts []string
	logf := func(s string) { logMu.Lock(); logs = append(logs, s); logMu.Unlock() }
	dp, err := NewUserspace(svcs, logf)
	if err != nil {
		t.Fatal(err)
	}
	var quorum []string
	rt := New(svcs, dp, Options{Logf: logf, OnRealServer: func(vs, rs string, up bool, reason string) {
		logMu.Lock()
		alerts = append(alerts, fmt.Sprintf("%s %s %v %s", vs, rs, up, reason))
		logMu.Unlock()
	}, OnQuorum: func(vs *keepalived.VirtualServer, up, init bool, threshold, sum int) {
		logMu.Lock()
		quorum = append(quorum, fmt.Sprintf("up=%v init=%v %d %d", up, init, threshold, sum))
		logMu.Unlock()
	}})
	if err := rt.Start(); err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	pa, pb, ps := port(a.addr), port(b.addr), port(sorry.addr)
	if got := destsOf(rt); got != pa+"/1 "+pb+"/2" {
		t.Fatalf("start: %s", got)
	}
	seen := map[string]int{}
	for range 6 {
		seen[dialName(t, vip)]++
	}
	if seen["a"] != 2 || seen["b"] != 4 {
		t.Fatalf("wrr 1:2 through the userspace datapath: %v", seen)
	}

	b.stop() // live weight 1 >= quorum-hysteresis 1: quorum holds
	waitFor(t, "b removed", func() bool { return destsOf(rt) == pa+"/1" })
	a.stop() // live weight 0: quorum lost, sorry server in, a at weight 0
	waitFor(t, "sorry server", func() bool { return destsOf(rt) == pa+"/0 "+ps+"/1sorry" })
	if got := dialName(t, vip); got != "sorry" {
		t.Fatalf("quorum lost: got %q from the VIP", got)
	}
	a.start(t) // live weight 1 < quorum+hysteresis 3: still no quorum
	waitFor(t, "a alive", func() bool {
		logMu.Lock()
		defer logMu.Unlock()
		return strings.Contains(strings.Join(logs, "\n"), "Enabling service [127.0.0.1]:tcp:"+pa)
	})
	if got := destsOf(rt); got != pa+"/0 "+ps+"/1sorry" {
		t.Fatalf("weight 1 < 3 keeps the sorry server: %s", got)
	}
	b.start(t)
	waitFor(t, "quorum back", func() bool { return destsOf(rt) == pa+"/1 "+pb+"/2" })

	logMu.Lock()
	all := strings.Join(logs, "\n")
	alertText := strings.Join(alerts, "\n")
	logMu.Unlock()
	for _, want := range []string{
		"Removing service [127.0.0.1]:tcp:" + pb + " from VS [127.0.0.1]:tcp:" + port(vip),
		"Disabling service [127.0.0.1]:tcp:" + pa + " of VS [127.0.0.1]:tcp:" + port(vip),
		"Lost quorum 2-1=1 > 0 for VS [127.0.0.1]:tcp:" + port(vip),
		"Adding sorry server [127.0.0.1]:tcp:" + ps + " to VS",
		"Gained quorum 2+1=3 <= 3 for VS [127.0.0.1]:tcp:" + port(vip),
		"Removing sorry server [127.0.0.1]:tcp:" + ps + " from VS",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("log lacks %q:\n%s", want, all)
		}
	}
	if !strings.Contains(alertText, "[127.0.0.1]:tcp:"+pb+" false => TCP CHECK failed on service <=") ||
		!strings.Contains(alertText, "[127.0.0.1]:tcp:"+pb+" true => TCP CHECK succeed on service <=") {
		t.Errorf("alert hook calls:\n%s", alertText)
	}
	if got := strings.Join(quorum, ", "); got != "up=false init=false 1 0, up=true init=false 3 3" {
		t.Errorf("quorum hook calls: %s", got)
	}
	waitFor(t, "notify_down script", func() bool { b, _ := os.ReadFile(marker); return string(b) == "down\n" })
}

// TestRuntimeAlphaOmega: with alpha a real server enters the pool only
// after its first successful check; with omega the down notifiers run
// when dhproxy stops.
func TestRuntimeAlphaOmega(t *testing.T) {
	a := newBackend(t, "a")
	vip := freeAddr(t)
	dir := t.TempDir()
	cfg := loadConf(t, fmt.Sprintf(`
virtual_server 127.0.0.1 %s {
    delay_loop 0.3
    alpha
    omega
    quorum_down "/bin/sh -c 'echo quorum >> %s/q'"
    real_server 127.0.0.1 %s {
        notify_down "/bin/sh -c 'echo rs >> %s/rs'"
        TCP_CHECK {
            connect_timeout 0.5
        }
    }
}
`, port(vip), dir, port(a.addr), dir))
	svcs, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := NewUserspace(svcs, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	rt := New(svcs, dp, Options{})
	if got := destsOf(rt); got != "" {
		t.Fatalf("alpha: no real server before its first check, got %q", got)
	}
	if err := rt.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first check", func() bool { return destsOf(rt) == port(a.addr)+"/1" })
	rt.Stop()
	waitFor(t, "omega notifiers", func() bool {
		rs, _ := os.ReadFile(filepath.Join(dir, "rs"))
		q, _ := os.ReadFile(filepath.Join(dir, "q"))
		return string(rs) == "rs\n" && string(q) == "quorum\n"
	})
}
