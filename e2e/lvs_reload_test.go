package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// reloadNATConf is natLab's virtual server with the real servers given
// in order as "address weight".
func reloadNATConf(reals ...string) string { return reloadConfOf("10.213.9.100", "NAT", reals...) }

// reloadConfOf is a wrr virtual server on vip with lb_kind kind.
func reloadConfOf(vip, kind string, reals ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "virtual_server %s 80 {\n delay_loop 1\n lb_algo wrr\n lb_kind %s\n protocol TCP\n", vip, kind)
	for _, r := range reals {
		addr, w, _ := strings.Cut(r, " ")
		fmt.Fprintf(&b, " real_server %s 80 {\n  weight %s\n  TCP_CHECK {\n   connect_timeout 1\n   retry 1\n   delay_before_retry 1\n  }\n }\n", addr, w)
	}
	return b.String() + "}\n"
}

// echoConn is a connection through the VIP to lvsprobe's /echo, opened
// from the client's namespace.
type echoConn struct {
	c    net.Conn
	br   *bufio.Reader
	name string
}

func (l *lab) openEcho(t *testing.T, addr string) *echoConn {
	t.Helper()
	var c net.Conn
	var err error
	if nerr := l.inNetns("client", func() { c, err = net.DialTimeout("tcp", addr, 3*time.Second) }); nerr != nil {
		t.Fatal(nerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(c, "GET /echo HTTP/1.0\r\n\r\n")
	e := &echoConn{c: c, br: bufio.NewReader(c)}
	for {
		line, err := e.br.ReadString('\n')
		if err != nil {
			t.Fatalf("echo connection: %v", err)
		}
		if line == "\r\n" {
			break
		}
	}
	name, err := e.br.ReadString('\n')
	if err != nil {
		t.Fatalf("echo connection: %v", err)
	}
	e.name = strings.TrimSpace(name)
	return e
}

// roundTrip sends msg and wants it back: data flows both ways.
func (e *echoConn) roundTrip(msg string) error {
	e.c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprintln(e.c, msg); err != nil {
		return err
	}
	got, err := e.br.ReadString('\n')
	if err != nil {
		return err
	}
	if got != msg+"\n" {
		return fmt.Errorf("echo: sent %q, got %q", msg, got)
	}
	return nil
}

// TestLVSReloadInPlace: SIGHUP with a file adding web3 (first), removing
// web2 and changing web1's weight, with NAT on the nftables and userspace
// datapaths and DR on nftables (no conntrack there: its flow bindings
// carry the connection). A connection open through web1 carries data both
// ways after the reload; new connections go to web1 and web3 at 3:1, none
// to web2; `dhproxy lvs list` shows the new set; web1 never went down and
// up (no checker restart, no pool change), web2 left with keepalived's
// lines.
func TestLVSReloadInPlace(t *testing.T) {
	for _, tc := range []struct{ name, datapath, kind, vip string }{
		{"nftables", "nftables", "NAT", "10.213.9.100"},
		{"userspace", "userspace", "NAT", "10.213.9.100"},
		{"nftables-DR", "nftables", "DR", "10.213.0.100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l *lab
			if tc.kind == "DR" {
				l = drLab(t)
			} else {
				l = natLab(t)
			}
			l.web("web1")
			l.web("web2")
			l.web("web3")
			conf := l.writeFile("keepalived-reload.conf", reloadConfOf(tc.vip, tc.kind, "10.213.0.3 1", "10.213.0.4 1"))
			lvs, sock := l.startLVSFile("lb1", conf, "-datapath", tc.datapath)
			lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
			lvsWaitLog(t, lvs, "TCP connection to [10.213.0.4]:tcp:80 success.", 10*time.Second)

			// wrr 1:1: of two connections, one is on web1.
			var held *echoConn
			for range 2 {
				if e := l.openEcho(t, tc.vip+":80"); e.name == "web1" {
					held = e
				}
			}
			if held == nil {
				t.Fatal("no connection landed on web1")
			}
			if err := held.roundTrip("before"); err != nil {
				t.Fatal(err)
			}
			_, stats := listStats(t, l, "lb1", sock)
			web1Before := stats["10.213.0.3:80"]

			os.WriteFile(conf, []byte(reloadConfOf(tc.vip, tc.kind, "10.213.0.5 1", "10.213.0.3 3")), 0o644)
			lvs.cmd.Process.Signal(syscall.SIGHUP)
			lvsWaitLog(t, lvs, "Removing service [10.213.0.4]:tcp:80 from VS ["+tc.vip+"]:tcp:80", 10*time.Second)
			lvsWaitLog(t, lvs, "TCP connection to [10.213.0.5]:tcp:80 success.", 10*time.Second)

			if err := held.roundTrip("after"); err != nil {
				t.Fatalf("the connection through web1 broke on reload: %v\n%s", err, lvs.Stderr())
			}
			probe := lvsProbe(t)
			got := lvsCount(lvsLines(l.run("client", probe, "get", "http://"+tc.vip+"/", "8")))
			if got["web1"] != 6 || got["web3"] != 2 {
				t.Errorf("wrr 3:1 over web1, web3 after the reload: %v", got)
			}
			if err := held.roundTrip("later"); err != nil {
				t.Fatalf("the connection through web1 broke after new ones: %v", err)
			}
			// web1's traffic counters go on from where they were.
			out, stats := listStats(t, l, "lb1", sock)
			if w := stats["10.213.0.3:80"]; w.conns < web1Before.conns+6 || w.inPkts <= web1Before.inPkts {
				t.Errorf("web1's counters went backwards over the reload: before %+v\n%s", web1Before, out)
			}
			l.wantList("lb1", sock, "TCP  "+tc.vip+":80 wrr\n", "  -> 10.213.0.3:80", "  -> 10.213.0.5:80")
			if list := l.run("lb1", bin, "lvs", "list", "-S", sock); strings.Contains(list, "10.213.0.4") {
				t.Errorf("web2 still listed:\n%s", list)
			}
			log := lvs.Stderr()
			for _, want := range []string{
				"Reloading configuration file " + conf,
				"service [10.213.0.4]:tcp:80 no longer exist",
				"Activating healthchecker for service [10.213.0.5]:tcp:80 for VS [" + tc.vip + "]:tcp:80",
			} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
			for _, unwanted := range []string{"[10.213.0.3]:tcp:80 failed", "Removing service [10.213.0.3]", "Adding service [10.213.0.3]"} {
				if strings.Contains(log, unwanted) {
					t.Errorf("web1 flapped on reload (%q):\n%s", unwanted, log)
				}
			}
			if n := strings.Count(log, "Activating healthchecker for service [10.213.0.3]"); n != 1 {
				t.Errorf("web1's checker restarted (%d activations):\n%s", n, log)
			}
		})
	}
}

// TestLVSReloadBadFile: a reload whose file does not parse keeps the
// running virtual servers and says why.
func TestLVSReloadBadFile(t *testing.T) {
	l := natLab(t)
	l.web("web1")
	l.web("web2")
	conf := l.writeFile("keepalived-bad.conf", reloadNATConf("10.213.0.3 1", "10.213.0.4 1"))
	lvs, sock := l.startLVSFile("lb1", conf, "-datapath", "nftables")
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.4]:tcp:80 success.", 10*time.Second)
	os.WriteFile(conf, []byte("virtual_server 10.213.9.100 80 {\n lb_algo wrr\n real_server 10.213.0.5 {\n}\n"), 0o644)
	lvs.cmd.Process.Signal(syscall.SIGHUP)
	lvsWaitLog(t, lvs, "failed: errors in the file; the running configuration is kept", 5*time.Second)
	got := lvsCount(lvsLines(l.run("client", lvsProbe(t), "get", "http://10.213.9.100/", "4")))
	if got["web1"] != 2 || got["web2"] != 2 {
		t.Errorf("the running virtual server changed: %v", got)
	}
	l.wantList("lb1", sock, "  -> 10.213.0.3:80", "  -> 10.213.0.4:80")
}

// TestLVSReloadKeepsPersistence: with persistence_timeout, the client's
// binding survives a reload that adds a real server and changes weights:
// its new connections still go to the server it was bound to.
func TestLVSReloadKeepsPersistence(t *testing.T) {
	for _, datapath := range []string{"nftables", "userspace"} {
		t.Run(datapath, func(t *testing.T) {
			l := natLab(t)
			l.web("web1")
			l.web("web2")
			l.web("web3")
			persist := func(reals ...string) string {
				return strings.Replace(reloadNATConf(reals...), " lb_algo wrr\n", " lb_algo wrr\n persistence_timeout 60\n", 1)
			}
			conf := l.writeFile("keepalived-persist.conf", persist("10.213.0.3 1", "10.213.0.4 1"))
			lvs, _ := l.startLVSFile("lb1", conf, "-datapath", datapath)
			lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
			lvsWaitLog(t, lvs, "TCP connection to [10.213.0.4]:tcp:80 success.", 10*time.Second)
			probe := lvsProbe(t)
			before := lvsCount(lvsLines(l.run("client", probe, "get", "http://10.213.9.100/", "4")))
			if len(before) != 1 {
				t.Fatalf("persistence: one server for the client, got %v", before)
			}
			var bound string
			for name := range before {
				bound = name
			}
			// web3 joins first, the bound server weighs least and comes
			// last: without the binding, the client would go elsewhere.
			other := map[string]string{"web1": "10.213.0.4", "web2": "10.213.0.3"}[bound]
			own := map[string]string{"web1": "10.213.0.3", "web2": "10.213.0.4"}[bound]
			os.WriteFile(conf, []byte(persist("10.213.0.5 5", other+" 5", own+" 1")), 0o644)
			lvs.cmd.Process.Signal(syscall.SIGHUP)
			lvsWaitLog(t, lvs, "TCP connection to [10.213.0.5]:tcp:80 success.", 10*time.Second)
			after := lvsCount(lvsLines(l.run("client", probe, "get", "http://10.213.9.100/", "4")))
			if after[bound] != 4 {
				t.Errorf("the client bound to %s before the reload got %v after it:\n%s", bound, after, lvs.Stderr())
			}
		})
	}
}
