package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// reloadInstance is one vrrp_instance of the reload test's configurations.
type reloadInstance struct {
	name  string
	vrid  int
	prio  int
	addrs []string
	track string // a vrrp_script tracked with weight 0
}

func reloadConf(iface string, insts ...reloadInstance) string {
	var b strings.Builder
	for _, in := range insts {
		fmt.Fprintf(&b, "vrrp_instance %s {\n  state BACKUP\n  interface %s\n  virtual_router_id %d\n  priority %d\n  advert_int 1\n  virtual_ipaddress {\n", in.name, iface, in.vrid, in.prio)
		for _, a := range in.addrs {
			fmt.Fprintf(&b, "    %s/24\n", a)
		}
		b.WriteString("  }\n")
		if in.track != "" {
			fmt.Fprintf(&b, "  track_script {\n    %s weight 0\n  }\n", in.track)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// TestVRRPReloadKeepsUntouchedInstance: SIGHUP reloads keepalived.conf as
// keepalived does. lb1 is master of VI_A and VI_B; the reload lowers VI_A's
// priority under lb2's (lb2 takes VI_A over by the normal election) and adds
// VI_C, while VI_B, unchanged, keeps its VIP: a ping at it the whole time
// loses nothing. A later reload removes VI_C (its VIP leaves) and makes VI_A
// track a new, failing vrrp_script; files that
// fail (a syntax error, a missing interface) keep the running configuration.
func TestVRRPReloadKeepsUntouchedInstance(t *testing.T) {
	t.Parallel() // its own lab; timer-bound, not CPU-bound
	l := newVLab(t, "client", "lb1", "lb2")
	lbs := []string{"lb1", "lb2"}
	const vipA, vipB, vipC = "10.213.0.100", "10.213.0.101", "10.213.0.102"
	a := reloadInstance{"VI_A", 51, 150, []string{vipA}, ""}
	b := reloadInstance{"VI_B", 52, 150, []string{vipB}, ""}
	k1 := l.writeFile("keepalived.conf", reloadConf("eth0", a, b))
	k2 := l.writeFile("keepalived.conf", reloadConf("eth0",
		reloadInstance{"VI_A", 51, 100, []string{vipA}, ""}, reloadInstance{"VI_B", 52, 100, []string{vipB}, ""}))
	p1 := l.start("lb1", bin, "vrrp", "-f", k1)
	l.waitHolder(vipA, "lb1", lbs, 10*time.Second, p1)
	l.waitHolder(vipB, "lb1", lbs, 10*time.Second, p1)
	p2 := l.start("lb2", bin, "vrrp", "-f", k2)
	time.Sleep(time.Second) // lb2 hears lb1 and settles as backup

	// Watch VI_B's VIP on lb1 while the reloads happen.
	stopWatch := make(chan struct{})
	lost := make(chan string, 1)
	go func() {
		defer close(lost)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if hs := l.holders(vipB, lbs); len(hs) != 1 || hs[0] != "lb1" {
				lost <- fmt.Sprintf("%s held by %v at %s", vipB, hs, time.Now().Format("15:04:05.000"))
				return
			}
		}
	}()
	ping := make(chan string, 1)
	go func() { ping <- l.ping("client", vipB, 200, 50*time.Millisecond) }()
	time.Sleep(500 * time.Millisecond)

	a.prio = 50
	c := reloadInstance{"VI_C", 53, 150, []string{vipC}, ""}
	os.WriteFile(k1, []byte(reloadConf("eth0", a, b, c)), 0o644)
	p1.cmd.Process.Signal(syscall.SIGHUP)
	l.waitHolder(vipA, "lb2", lbs, 5*time.Second, p1, p2)
	l.waitHolder(vipC, "lb1", lbs, 10*time.Second, p1, p2)

	os.WriteFile(k1, []byte("vrrp_instance VI_A {\n  interface eth0\n"), 0o644)
	p1.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	os.WriteFile(k1, []byte(reloadConf("eth0", a, b, c)+reloadConf("eth9", reloadInstance{"VI_D", 54, 150, []string{"10.213.0.103"}, ""})), 0o644)
	time.Sleep(300 * time.Millisecond)
	p1.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)

	// The last reload also adds a failing vrrp_script to VI_A: it runs.
	a.track = "chk_fail"
	os.WriteFile(k1, []byte("vrrp_script chk_fail {\n  script /bin/false\n  interval 1\n  fall 1\n}\n"+reloadConf("eth0", a, b)), 0o644)
	p1.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(3 * time.Second)
	for l.hasAddr("lb1", vipC) {
		if time.Now().After(deadline) {
			t.Fatalf("VI_C's VIP still on lb1 after its removal:\n%s", p1.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}

	lossMsg := <-ping
	time.Sleep(time.Second) // chk_fail has run by now
	close(stopWatch)
	if msg, ok := <-lost; ok {
		t.Errorf("VI_B's VIP moved during the reloads: %s\n%s", msg, p1.Stderr())
	}
	if lossMsg != "" {
		t.Errorf("ping at the untouched VIP %s: %s", vipB, lossMsg)
	}

	log := p1.Stderr()
	for _, want := range []string{
		"Reload finished: 1 kept, 1 changed, 0 restarted, 1 added, 0 removed",
		"block opened here is never closed",
		"interface eth9 does not exist; the running configuration is kept",
		"Reload finished: 1 kept, 1 changed, 0 restarted, 0 added, 1 removed",
		"VRRP_Script(chk_fail) failed",
		"(VI_A) Entering FAULT STATE",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("lb1's log lacks %q:\n%s", want, log)
		}
	}
	// As keepalived 2.2.7: no gratuitous ARP for addresses that never left.
	for _, ip := range []string{vipA, vipB} {
		if n := strings.Count(log, "gratuitous ARPs on eth0 for "+ip); n != 1 {
			t.Errorf("%d gratuitous ARP bursts for %s, want 1 (at start only):\n%s", n, ip, log)
		}
	}
	if n := strings.Count(log, "(VI_B) Entering MASTER STATE"); n != 1 {
		t.Errorf("VI_B entered MASTER %d times, want once (no restart):\n%s", n, log)
	}
	if l.hasAddr("lb1", "10.213.0.103") || !l.hasAddr("lb1", vipB) {
		t.Errorf("after the refused reload: lb1 holds 10.213.0.103 or lost %s:\n%s", vipB, log)
	}
}

// ping sends count ICMP echoes to addr from host, one every gap, and says
// which got no reply within a second ("" when none was lost).
func (l *lab) ping(host, addr string, count int, gap time.Duration) string {
	var c *icmp.PacketConn
	var err error
	if nerr := l.inNetns(host, func() { c, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0") }); nerr != nil {
		return nerr.Error()
	}
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	id := os.Getpid() & 0xffff
	got := make([]bool, count)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			m, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
				continue
			}
			if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id && e.Seq < count {
				got[e.Seq] = true
			}
		}
	}()
	dst := &net.IPAddr{IP: net.ParseIP(addr)}
	for seq := range count {
		b, _ := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("dhproxy reload")}}).Marshal(nil)
		if _, err := c.WriteTo(b, dst); err != nil {
			return fmt.Sprintf("echo %d: %v", seq, err)
		}
		time.Sleep(gap)
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	<-done
	var lost []int
	for seq, ok := range got {
		if !ok {
			lost = append(lost, seq)
		}
	}
	if len(lost) > 0 {
		return fmt.Sprintf("%d of %d echoes unanswered (seq %v)", len(lost), count, lost)
	}
	return ""
}

// TestKeepalivedKReload: "dhproxy -K keepalived.conf" (what
// dhproxy-keepalived.service runs) reloads its VRRP instances on SIGHUP
// too: VI_A's VIP is replaced while VI_B's stays; a virtual_server added
// to a file that had none starts.
func TestKeepalivedKReload(t *testing.T) {
	t.Parallel() // its own lab; timer-bound, not CPU-bound
	l := newVLab(t, "lb1")
	lb := []string{"lb1"}
	const vipA, vipA2, vipB = "10.213.0.100", "10.213.0.102", "10.213.0.101"
	a := reloadInstance{"VI_A", 51, 150, []string{vipA}, ""}
	b := reloadInstance{"VI_B", 52, 150, []string{vipB}, ""}
	k := l.writeFile("keepalived.conf", reloadConf("eth0", a, b))
	sock := filepath.Join(l.dir, "lvs.sock")
	p := l.start("lb1", "env", "DHPROXY_LVS_DATAPATH=nftables", "DHPROXY_LVS_SOCKET="+sock, bin, "-K", k)
	l.waitHolder(vipA, "lb1", lb, 10*time.Second, p)
	l.waitHolder(vipB, "lb1", lb, 10*time.Second, p)

	a.addrs = []string{vipA2}
	vs := "virtual_server 10.213.0.101 80 {\n  lb_kind NAT\n  real_server 10.213.0.9 80 {\n  }\n}\n"
	os.WriteFile(k, []byte(reloadConf("eth0", a, b)+vs), 0o644)
	p.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(3 * time.Second)
	for !l.hasAddr("lb1", vipA2) || l.hasAddr("lb1", vipA) {
		if !l.hasAddr("lb1", vipB) {
			t.Fatalf("VI_B's VIP left during the reload:\n%s", p.Stderr())
		}
		if time.Now().After(deadline) {
			t.Fatalf("VI_A's VIPs not swapped after the reload:\n%s", p.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	log := p.Stderr()
	if want := "Reload finished: 1 kept, 1 changed"; !strings.Contains(log, want) {
		t.Errorf("log lacks %q:\n%s", want, log)
	}
	list := l.run("lb1", bin, "lvs", "list", "-S", sock)
	for _, want := range []string{"TCP  10.213.0.101:80 wlc", "  -> 10.213.0.9:80"} {
		if !strings.Contains(list, want) {
			t.Errorf("the virtual server added by the reload is not running (%q):\n%s\n%s", want, list, log)
		}
	}
	if !l.hasAddr("lb1", vipB) || strings.Count(log, "(VI_B) Entering MASTER STATE") != 1 {
		t.Errorf("VI_B was disturbed by the reload:\n%s", log)
	}
}

// TestKeepalivedKMasterWorker: "-W -K" runs the proxy in workers and VRRP
// in the master, so proxy reloads (SIGUSR2, the master CLI's "reload")
// leave the VIP where it is: a ping at it loses nothing and the client
// behind it gets every answer. The workers drop every capability, the
// master's "killall -0 haproxy" track script follows the current worker's
// health, a reload also reads keepalived.conf again, and SIGTERM leaves
// VRRP first.
func TestKeepalivedKMasterWorker(t *testing.T) {
	l := newVLab(t, "client", "lb1", "lb2", "web")
	stopWebA := l.httpServer("web", 8081, "web-a")
	l.httpServer("web", 8082, "web-b")
	hcfg := func(port int) string { return vipProxyConf(l, port, "user nobody", "hard-stop-after 5s") }
	h1, h2 := l.writeFile("h1.cfg", hcfg(8081)), l.writeFile("h2.cfg", hcfg(8082))
	k1 := l.writeFile("k1.conf", keepalivedConf("lb1", "MASTER", 150, 2, "script"))
	k2 := l.writeFile("k2.conf", keepalivedConf("lb2", "BACKUP", 100, 2, "script"))
	msock := filepath.Join(l.dir, "master.sock")
	lbs := []string{"lb1", "lb2"}

	p2 := l.start("lb2", bin, "-db", "-f", h2, "-K", k2)
	p1 := l.start("lb1", bin, "-W", "-S", msock, "-f", h1, "-K", k1)
	l.waitHolder(vip, "lb1", lbs, 10*time.Second, p1, p2)
	c := startVIPClient(t, l)
	c.waitBody(t, "web-a", 5*time.Second)

	watchStart := time.Now()
	ping := make(chan string, 1)
	go func() { ping <- l.ping("client", vip, 120, 50*time.Millisecond) }()
	for i := range 5 {
		before, _ := showProc(t, msock)
		if i == 4 {
			if out, err := masterCLI(t, msock, "reload"); err != nil || !strings.Contains(out, "Success=1") {
				t.Fatalf("master CLI reload: %q %v\n%s", out, err, p1.Stderr())
			}
		} else {
			p1.cmd.Process.Signal(syscall.SIGUSR2)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			pt, err := showProc(t, msock)
			if err == nil && len(pt.workers) == 1 && len(before.workers) == 1 && pt.workers[0] != before.workers[0] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("reload %d: no new worker (%+v):\n%s", i+1, pt, p1.Stderr())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if hs := l.holders(vip, lbs); len(hs) != 1 || hs[0] != "lb1" {
			t.Fatalf("reload %d: the VIP is held by %v:\n%s", i+1, hs, p1.Stderr())
		}
		time.Sleep(700 * time.Millisecond)
	}
	if msg := <-ping; msg != "" {
		t.Errorf("ping at the VIP across 5 proxy reloads: %s", msg)
	}
	if f, n, why := c.failuresWhy(watchStart, time.Now()); f > 0 || n == 0 {
		t.Errorf("client: %d of %d requests failed across the reloads: %v\n%s", f, n, why, p1.Stderr())
	}
	log := p1.Stderr()
	if n := strings.Count(log, "(VI_1) Entering MASTER STATE"); n != 1 {
		t.Errorf("VI_1 entered MASTER %d times, want once:\n%s", n, log)
	}
	if n := strings.Count(log, "gratuitous ARPs on eth0 for "+vip); n != 1 {
		t.Errorf("%d gratuitous ARP bursts for the VIP, want 1 (at start only):\n%s", n, log)
	}

	// The worker has no capability left; the master keeps VRRP's.
	pt, _ := showProc(t, msock)
	caps := func(pid int) string {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return err.Error()
		}
		for _, line := range strings.Split(string(st), "\n") {
			if strings.HasPrefix(line, "CapEff:") {
				return strings.TrimSpace(strings.TrimPrefix(line, "CapEff:"))
			}
		}
		return "?"
	}
	if len(pt.workers) != 1 || caps(pt.workers[0]) != "0000000000000000" {
		t.Errorf("worker %v CapEff %q, want none", pt.workers, caps(pt.workers[0]))
	}
	if got := caps(p1.cmd.Process.Pid); got == "0000000000000000" {
		t.Errorf("the master dropped its capabilities: VRRP cannot run")
	}

	// lb1's only server dies: the current worker reports it to the master,
	// whose "killall -0 haproxy" script fails (150 - 60 < 100): lb2 takes over.
	stopWebA()
	l.waitHolder(vip, "lb2", lbs, 10*time.Second, p1, p2)
	c.waitBody(t, "web-b", 5*time.Second)
	if log := p1.Stderr(); !strings.Contains(log, "Changing effective priority from 150 to 90") {
		t.Errorf("lb1 did not lower its priority:\n%s", log)
	}

	// A reload reads keepalived.conf again: VI_2 added on lb1.
	os.WriteFile(k1, []byte(keepalivedConf("lb1", "MASTER", 150, 2, "script")+reloadConf("eth0", reloadInstance{"VI_2", 52, 150, []string{"10.213.0.102"}, ""})), 0o644)
	p1.cmd.Process.Signal(syscall.SIGUSR2)
	l.waitHolder("10.213.0.102", "lb1", lbs, 10*time.Second, p1)

	// SIGTERM: VI_2's VIP leaves, then the master and its worker exit.
	worker := pt.workers[0]
	if now, err := showProc(t, msock); err == nil && len(now.workers) == 1 {
		worker = now.workers[0]
	}
	p1.term(t)
	if l.hasAddr("lb1", "10.213.0.102") {
		t.Errorf("VI_2's VIP still on lb1 after SIGTERM:\n%s", p1.Stderr())
	}
	if err := syscall.Kill(worker, 0); err == nil {
		t.Errorf("worker %d still runs after the master's SIGTERM", worker)
	}
}
