package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dhproxy/internal/alert/smtpsink"
)

const (
	vip  = "10.213.0.100"
	vip6 = "fd00:213::100"
)

// keepalivedConf is a vrrp_instance as keepalived users write it.
func keepalivedConf(router, state string, prio int, version int, extra string) string {
	auth := ""
	if version == 2 {
		auth = "  authentication {\n    auth_type PASS\n    auth_pass s3cret42\n  }\n"
	}
	addr := vip + "/24"
	if strings.Contains(extra, "vip6") {
		addr = vip6 + "/64"
	}
	return fmt.Sprintf(`global_defs {
  router_id %s
}
%s
vrrp_instance VI_1 {
  state %s
  interface eth0
  virtual_router_id 51
  priority %d
  advert_int %s
  version %d
%s  virtual_ipaddress {
    %s
  }
%s}
`, router, scriptBlock(extra), state, prio, advertInt(version), version, auth, addr, instanceLines(extra))
}

// extra is "script" (track chk_haproxy), "nopreempt", "notify=PATH",
// "vip6" (an IPv6 VIP), "unicast=SRC/PEER" (PEER may carry min_ttl/max_ttl),
// "ttl=N" (unicast_ttl), "msrc=IP" (mcast_src_ip), "vmac" (use_vmac),
// "xmit_base" (vmac_xmit_base), joined by ",".
func scriptBlock(extra string) string {
	if strings.Contains(extra, "script") {
		return "vrrp_script chk_haproxy {\n  script \"killall -0 haproxy\"\n  interval 1\n  weight -60\n}\n"
	}
	return ""
}

func instanceLines(extra string) string {
	var b strings.Builder
	for _, e := range strings.Split(extra, ",") {
		switch {
		case e == "script":
			b.WriteString("  track_script {\n    chk_haproxy\n  }\n")
		case e == "nopreempt":
			b.WriteString("  nopreempt\n")
		case e == "vmac":
			b.WriteString("  use_vmac\n")
		case e == "xmit_base":
			b.WriteString("  vmac_xmit_base\n")
		case strings.HasPrefix(e, "msrc="):
			fmt.Fprintf(&b, "  mcast_src_ip %s\n", strings.TrimPrefix(e, "msrc="))
		case strings.HasPrefix(e, "ttl="):
			fmt.Fprintf(&b, "  unicast_ttl %s\n", strings.TrimPrefix(e, "ttl="))
		case strings.HasPrefix(e, "notify="):
			fmt.Fprintf(&b, "  notify %s\n", strings.TrimPrefix(e, "notify="))
		case strings.HasPrefix(e, "unicast="):
			src, peer, _ := strings.Cut(strings.TrimPrefix(e, "unicast="), "/")
			fmt.Fprintf(&b, "  unicast_src_ip %s\n  unicast_peer {\n    %s\n  }\n", src, peer)
		}
	}
	return b.String()
}

// advertInt keeps the tests short: v3 allows fractional intervals.
func advertInt(version int) string {
	if version == 3 {
		return "0.5"
	}
	return "1"
}

// skew is keepalived's v2 skew for a priority.
func skew(prio int) time.Duration { return time.Duration(256-prio) * time.Second / 256 }

// downInterval is keepalived's master down interval with advertInt.
func downInterval(version, prio int) time.Duration {
	if version == 3 {
		return 1500*time.Millisecond + time.Duration(256-prio)*500*time.Millisecond/256
	}
	return 3*time.Second + skew(prio)
}

// client asks the VIP for a page every 100 ms from the client namespace and
// remembers every answer.
type vipClient struct {
	mu      sync.Mutex
	answers []answer
	stop    chan struct{}
	done    chan struct{}
}

type answer struct {
	at   time.Time
	body string // "" on error
	err  error
}

func startVIPClient(t *testing.T, l *lab) *vipClient {
	c := &vipClient{stop: make(chan struct{}), done: make(chan struct{})}
	hc := l.httpClient("client")
	go func() {
		defer close(c.done)
		for {
			a := answer{at: time.Now()}
			resp, err := hc.Get("http://" + vip + "/")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				a.body = string(b)
			}
			a.err = err
			c.mu.Lock()
			c.answers = append(c.answers, a)
			c.mu.Unlock()
			select {
			case <-c.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { close(c.stop); <-c.done })
	return c
}

// waitBody waits until the client got body, and returns when.
func (c *vipClient) waitBody(t *testing.T, body string, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	start := time.Now()
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, a := range c.answers {
			if !a.at.Before(start) && a.body == body {
				c.mu.Unlock()
				return a.at
			}
		}
		c.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	last := c.answers[max(len(c.answers)-5, 0):]
	t.Fatalf("client got no %q from the VIP within %v; last answers: %+v", body, within, last)
	return time.Time{}
}

// failures counts the requests without an answer in [from, to).
func (c *vipClient) failures(from, to time.Time) (failed, total int) {
	failed, total, _ = c.failuresWhy(from, to)
	return failed, total
}

// failuresWhy is failures with the errors and when they happened.
func (c *vipClient) failuresWhy(from, to time.Time) (failed, total int, why []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.answers {
		if !a.at.Before(from) && a.at.Before(to) {
			total++
			if a.err != nil {
				failed++
				why = append(why, fmt.Sprintf("%s: %v", a.at.Format("15:04:05.000"), a.err))
			}
		}
	}
	return failed, total, why
}

// TestVRRPFailoverBetweenDhproxyNodes: two dhproxy processes run the proxy
// and VRRP (v2, PASS auth) in one process each. The master holds the VIP;
// SIGKILLed, the backup holds it within 3×advert_int+skew and a client keeps
// getting answers; restarted, the master preempts; when its only server
// goes down, the in-process health check (replacing "killall -0 haproxy")
// lowers its priority and the VIP moves.
func TestVRRPFailoverBetweenDhproxyNodes(t *testing.T) {
	l := newVLab(t, "client", "lb1", "lb2", "web")
	stopWebA := l.httpServer("web", 8081, "web-a")
	l.httpServer("web", 8082, "web-b")
	// lb1's global log target: a syslog receiver inside lb1.
	var syslog net.PacketConn
	var serr error
	if err := l.inNetns("lb1", func() { syslog, serr = net.ListenPacket("udp", "127.0.0.1:5514") }); err != nil || serr != nil {
		t.Fatalf("syslog receiver in lb1: %v %v", err, serr)
	}
	defer syslog.Close()
	hcfg := func(port int) string { return vipProxyConf(l, port, "log 127.0.0.1:5514 local0") }
	h1, h2 := l.writeFile("h1.cfg", hcfg(8081)), l.writeFile("h2.cfg", hcfg(8082))
	k1 := l.writeFile("k1.conf", keepalivedConf("lb1", "MASTER", 150, 2, "script"))
	k2 := l.writeFile("k2.conf", keepalivedConf("lb2", "BACKUP", 100, 2, "script"))
	lbs := []string{"lb1", "lb2"}

	p2 := l.start("lb2", bin, "-db", "-f", h2, "-K", k2)
	p1 := l.start("lb1", bin, "-db", "-f", h1, "-K", k1)
	l.waitHolder(vip, "lb1", lbs, 10*time.Second, p1, p2)
	// The proxies bind on the VIP, which the backup does not hold.
	if !strings.Contains(p2.Stderr(), "bind 10.213.0.100:80 is a VRRP virtual address: bound with IP_FREEBIND") {
		t.Errorf("no notice about the VIP bind:\n%s", p2.Stderr())
	}
	if !strings.Contains(p1.Stderr(), "(chk_haproxy) script 'killall -0 haproxy' checks for a haproxy process") {
		t.Errorf("no notice about the replaced track script:\n%s", p1.Stderr())
	}
	syslog.SetReadDeadline(time.Now().Add(5 * time.Second))
	var logged []string
	for {
		buf := make([]byte, 2048)
		n, _, err := syslog.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no VRRP state change in lb1's syslog; got %q", logged)
		}
		logged = append(logged, string(buf[:n]))
		if strings.Contains(string(buf[:n]), "(VI_1) Entering MASTER STATE") {
			break
		}
	}
	c := startVIPClient(t, l)
	c.waitBody(t, "web-a", 5*time.Second)

	// SIGKILL: no priority-0 advert, the backup waits for the down interval.
	p1.kill()
	killed := time.Now()
	bound := 3*time.Second + skew(100)
	for !l.hasAddr("lb2", vip) {
		if time.Since(killed) > bound+2*time.Second {
			t.Fatalf("lb2 did not take the VIP within %v:\n%s", bound+2*time.Second, p2.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(killed)
	t.Logf("SIGKILL of the master -> backup holds the VIP after %v (3×advert_int+skew = %v)", took.Round(time.Millisecond), bound)
	// The bound counts from the master's last advert, before the kill; the
	// slack covers polling through "ip netns exec" on a loaded machine.
	if took > bound+1500*time.Millisecond {
		t.Errorf("failover took %v, more than 3×advert_int+skew = %v (+1.5 s slack)", took, bound)
	}
	back := c.waitBody(t, "web-b", 5*time.Second)
	// The client reached lb2 although lb1's dead process left the VIP on
	// lb1's interface: lb2's gratuitous ARP moved the client's neighbour entry.
	mac2, _ := l.output("lb2", "cat", "/sys/class/net/eth0/address")
	if neigh, _ := l.output("client", "ip", "neigh", "show", vip); !strings.Contains(neigh, strings.TrimSpace(mac2)) {
		t.Errorf("client's neighbour entry for the VIP %q does not name lb2's MAC %s", neigh, mac2)
	}
	failed, total := c.failures(killed, back)
	t.Logf("client: %d of %d requests failed between the kill and the first answer through lb2 (%v)", failed, total, back.Sub(killed).Round(time.Millisecond))
	time.Sleep(time.Second)
	if f, n := c.failures(back, time.Now()); f > 0 {
		t.Errorf("client: %d of %d requests failed after the failover", f, n)
	}
	if !strings.Contains(p2.Stderr(), "(VI_1) Entering MASTER STATE") {
		t.Errorf("lb2 did not log its transition:\n%s", p2.Stderr())
	}

	// The restarted master removes its stale VIP, then preempts.
	restarted := time.Now()
	p1 = l.start("lb1", bin, "-db", "-f", h1, "-K", k1)
	at := l.waitHolder(vip, "lb1", lbs, 10*time.Second, p1, p2)
	t.Logf("restarted master preempted after %v", at.Sub(restarted).Round(time.Millisecond))
	c.waitBody(t, "web-a", 5*time.Second)

	// lb1's only server dies: its proxy is unhealthy, its priority drops by
	// 60 (150 -> 90 < 100) and lb2 takes over.
	stopWebA()
	down := time.Now()
	at = l.waitHolder(vip, "lb2", lbs, 10*time.Second, p1, p2)
	t.Logf("every server of lb1 down -> lb2 holds the VIP after %v (health check + script interval + lb2's skew)", at.Sub(down).Round(time.Millisecond))
	c.waitBody(t, "web-b", 5*time.Second)
	if !strings.Contains(p1.Stderr(), "Changing effective priority from 150 to 90") {
		t.Errorf("lb1 did not lower its priority:\n%s", p1.Stderr())
	}
}

// TestVRRPNoPreemptAndGracefulStop: SIGTERM sends priority 0, so the backup
// takes over after its skew time only; a restarted nopreempt instance with
// the higher priority stays backup. The notify script gets keepalived's
// four arguments.
func TestVRRPNoPreemptAndGracefulStop(t *testing.T) {
	t.Parallel() // its own lab; timer-bound, not CPU-bound
	l := newVLab(t, "lb1", "lb2")
	lbs := []string{"lb1", "lb2"}
	dir := t.TempDir()
	notifyOut := filepath.Join(dir, "notify.out")
	notify := filepath.Join(dir, "notify.sh")
	os.WriteFile(notify, []byte("#!/bin/sh\necho \"$@\" >> "+notifyOut+"\n"), 0o755)
	k1 := l.writeFile("k1.conf", keepalivedConf("lb1", "BACKUP", 150, 2, "nopreempt"))
	k2 := l.writeFile("k2.conf", keepalivedConf("lb2", "BACKUP", 100, 2, "notify="+notify))

	p1 := l.start("lb1", bin, "vrrp", "-n", "-l", "-D", "-f", k1)
	l.waitHolder(vip, "lb1", lbs, 10*time.Second, p1)
	p2 := l.start("lb2", bin, "vrrp", "-f", k2)
	time.Sleep(downInterval(2, 100) + 400*time.Millisecond) // longer than lb2's down interval
	if hs := l.holders(vip, lbs); len(hs) != 1 || hs[0] != "lb1" {
		t.Fatalf("VIP on %v with lb1 master and lb2 backup:\n%s\n%s", hs, p1.Stderr(), p2.Stderr())
	}

	stopped := time.Now()
	p1.term(t)
	at := l.waitHolder(vip, "lb2", lbs, 3*time.Second, p1, p2)
	t.Logf("SIGTERM of the master -> backup holds the VIP after %v (skew %v)", at.Sub(stopped).Round(time.Millisecond), skew(100))
	if !strings.Contains(p2.Stderr(), "(VI_1) Backup received priority 0 advertisement") {
		t.Errorf("lb2 saw no priority 0 advert:\n%s", p2.Stderr())
	}

	p1 = l.start("lb1", bin, "vrrp", "-f", k1)
	time.Sleep(downInterval(2, 150) + time.Second) // lb1 would have preempted by now
	if hs := l.holders(vip, lbs); len(hs) != 1 || hs[0] != "lb2" {
		t.Fatalf("nopreempt: VIP on %v, want lb2 still:\n%s", hs, p1.Stderr())
	}
	p2.term(t)
	got, _ := os.ReadFile(notifyOut)
	want := "INSTANCE VI_1 BACKUP 100\nINSTANCE VI_1 MASTER 100\nINSTANCE VI_1 STOP 100\n"
	if string(got) != want {
		t.Errorf("notify calls:\n%s\nwant:\n%s", got, want)
	}
}

// TestVRRPInterfaceFault: the master's link goes down -> FAULT, VIP removed,
// the backup takes over; link up -> BACKUP, then the master preempts again.
func TestVRRPInterfaceFault(t *testing.T) {
	t.Parallel() // its own lab; timer-bound, not CPU-bound
	l := newVLab(t, "lb1", "lb2")
	lbs := []string{"lb1", "lb2"}
	k1 := l.writeFile("k1.conf", keepalivedConf("lb1", "MASTER", 150, 3, ""))
	k2 := l.writeFile("k2.conf", keepalivedConf("lb2", "BACKUP", 100, 3, ""))
	p1 := l.start("lb1", bin, "vrrp", "-f", k1)
	p2 := l.start("lb2", bin, "vrrp", "-f", k2)
	l.waitHolder(vip, "lb1", lbs, 10*time.Second, p1, p2)

	if out, err := l.output("lb1", "ip", "link", "set", "eth0", "down"); err != nil {
		t.Fatalf("link down: %v %s", err, out)
	}
	down := time.Now()
	at := l.waitHolder(vip, "lb2", lbs, downInterval(3, 100)+2*time.Second, p1, p2)
	t.Logf("master link down -> backup holds the VIP after %v (v3, advert_int 0.5: down interval %v)", at.Sub(down).Round(time.Millisecond), downInterval(3, 100))
	if !strings.Contains(p1.Stderr(), "(VI_1) Entering FAULT STATE") {
		t.Errorf("lb1 did not enter FAULT:\n%s", p1.Stderr())
	}

	if out, err := l.output("lb1", "ip", "link", "set", "eth0", "up"); err != nil {
		t.Fatalf("link up: %v %s", err, out)
	}
	l.waitHolder(vip, "lb1", lbs, 10*time.Second, p1, p2)
	if !strings.Contains(p1.Stderr(), "Netlink reports eth0 UP") {
		t.Errorf("lb1 did not log the link recovery:\n%s", p1.Stderr())
	}
}

// TestVRRPInteropKeepalived runs dhproxy against keepalived 2.x from the
// distribution, each as master and as backup: v2 with PASS, v3 over IPv4
// multicast, IPv6 multicast and IPv4 unicast.
func TestVRRPInteropKeepalived(t *testing.T) {
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Fatal("keepalived is not installed (scripts/install-test-deps.sh installs it)")
	}
	cases := []struct {
		name    string
		version int
		extra   string // see instanceLines; "unicast" gets each side's addresses
	}{
		{"v2-PASS", 2, ""},
		{"v3", 3, ""},
		{"v3-IPv6", 3, "vip6"},
		{"v3-unicast", 3, "unicast"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each in its own lab; they mostly wait on timers
			l := newVLab(t, "lb1", "lb2")
			lbs := []string{"lb1", "lb2"}
			dir := t.TempDir()
			ip := vip
			if tc.extra == "vip6" {
				ip = vip6
			}
			dExtra, kExtra := tc.extra, tc.extra
			if tc.extra == "unicast" {
				dExtra = "unicast=" + l.addr["lb1"] + "/" + l.addr["lb2"]
				kExtra = "unicast=" + l.addr["lb2"] + "/" + l.addr["lb1"]
			}
			version := tc.version
			kconf := l.writeFile("ka.conf", keepalivedConf("ka", "BACKUP", 100, version, kExtra))
			startKA := func() *proc {
				return l.start("lb2", ka, "-n", "-l", "-D", "--vrrp", "-f", kconf,
					"-p", filepath.Join(dir, "ka.pid"), "-r", filepath.Join(dir, "ka-vrrp.pid"))
			}

			// dhproxy master, keepalived backup: keepalived must accept our
			// adverts (else it would take over after 3.6 s).
			d := l.start("lb1", bin, "vrrp", "-f", l.writeFile("d1.conf", keepalivedConf("d", "MASTER", 150, version, dExtra)))
			k := startKA()
			l.waitHolder(ip, "lb1", lbs, 10*time.Second, d, k)
			time.Sleep(downInterval(version, 100) / 2) // with the time to get here: keepalived's own down interval is over
			if hs := l.holders(ip, lbs); len(hs) != 1 || hs[0] != "lb1" {
				t.Fatalf("dhproxy master + keepalived backup: VIP on %v\nkeepalived:\n%s", hs, k.Stdout()+k.Stderr())
			}
			stopped := time.Now()
			d.term(t)
			at := l.waitHolder(ip, "lb2", lbs, 3*time.Second, d, k)
			t.Logf("dhproxy SIGTERM -> keepalived holds the VIP after %v", at.Sub(stopped).Round(time.Millisecond))

			// keepalived master, dhproxy backup: we must accept its adverts.
			d = l.start("lb1", bin, "vrrp", "-f", l.writeFile("d2.conf", keepalivedConf("d", "BACKUP", 50, version, dExtra)))
			time.Sleep(downInterval(version, 50) + 500*time.Millisecond) // past dhproxy's down interval
			if hs := l.holders(ip, lbs); len(hs) != 1 || hs[0] != "lb2" {
				t.Fatalf("keepalived master + dhproxy backup: VIP on %v\ndhproxy:\n%s", hs, d.Stderr())
			}
			stopped = time.Now()
			k.term(t)
			at = l.waitHolder(ip, "lb1", lbs, 3*time.Second, d, k)
			t.Logf("keepalived SIGTERM -> dhproxy holds the VIP after %v", at.Sub(stopped).Round(time.Millisecond))
			if !strings.Contains(d.Stderr(), "Backup received priority 0 advertisement") {
				t.Errorf("dhproxy did not see keepalived's priority 0:\n%s", d.Stderr())
			}

			klog := k.Stdout() + k.Stderr()
			for _, bad := range []string{"checksum", "invalid", "mismatch", "failure", "Unknown", "ttl"} {
				if strings.Contains(strings.ToLower(klog), strings.ToLower(bad)) {
					t.Errorf("keepalived complained (%q):\n%s", bad, klog)
				}
			}
			if strings.Contains(d.Stderr(), "advert from") {
				t.Errorf("dhproxy rejected adverts:\n%s", d.Stderr())
			}
		})
	}
}

// TestVRRPSplitBrainHeals: adverts between the nodes are dropped (nftables
// on the backup), so both become master and hold the VIP; once the partition
// heals the protocol elects the higher priority again, and both sides say so.
func TestVRRPSplitBrainHeals(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatal("nft is not installed (scripts/install-test-deps.sh installs nftables)")
	}
	l := newVLab(t, "lb1", "lb2")
	lbs := []string{"lb1", "lb2"}
	p1 := l.start("lb1", bin, "vrrp", "-f", l.writeFile("k1.conf", keepalivedConf("lb1", "MASTER", 150, 3, "")))
	p2 := l.start("lb2", bin, "vrrp", "-f", l.writeFile("k2.conf", keepalivedConf("lb2", "BACKUP", 100, 3, "")))
	l.waitHolder(vip, "lb1", lbs, 10*time.Second, p1, p2)

	nft := func(args ...string) {
		t.Helper()
		if out, err := l.output("lb2", "nft", args...); err != nil {
			t.Fatalf("nft %v: %v %s", args, err, out)
		}
	}
	nft("add table inet split")
	nft("add chain inet split in { type filter hook input priority 0 ; }")
	nft("add rule inet split in meta l4proto 112 drop")
	deadline := time.Now().Add(downInterval(3, 100) + 2*time.Second)
	for !(l.hasAddr("lb1", vip) && l.hasAddr("lb2", vip)) {
		if time.Now().After(deadline) {
			t.Fatalf("no split brain: VIP on %v\n%s", l.holders(vip, lbs), p2.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	nft("delete table inet split")
	healed := time.Now()
	at := l.waitHolder(vip, "lb1", lbs, 3*time.Second, p1, p2)
	t.Logf("partition healed -> one master again after %v", at.Sub(healed).Round(time.Millisecond))
	if !strings.Contains(p2.Stderr(), "(VI_1) Master received advert from "+l.addr["lb1"]+" with higher priority 150, ours 100") {
		t.Errorf("lb2 did not log why it yielded:\n%s", p2.Stderr())
	}
	if !strings.Contains(p1.Stderr(), "with lower priority 100, ours 150, forcing new election") {
		t.Errorf("lb1 did not log the other master:\n%s", p1.Stderr())
	}
}

// TestVRRPSyncGroupFollowsTrackedInterface: two instances in a
// vrrp_sync_group move together: a tracked interface of one going down puts
// both in FAULT (the backup takes both VIPs), and both come back with it.
func TestVRRPSyncGroupFollowsTrackedInterface(t *testing.T) {
	t.Parallel()
	l := newVLab(t, "lb1", "lb2")
	lbs := []string{"lb1", "lb2"}
	// trk0 is the tracked link; taking its veth peer down removes its
	// carrier, as a pulled cable does.
	if out, err := l.output("lb1", "ip", "link", "add", "trk0", "type", "veth", "peer", "name", "trk1"); err != nil {
		t.Fatalf("veth: %v %s", err, out)
	}
	l.output("lb1", "ip", "link", "set", "trk0", "up")
	l.output("lb1", "ip", "link", "set", "trk1", "up")
	dir := t.TempDir()
	notifyOut := filepath.Join(dir, "notify.out")
	notify := filepath.Join(dir, "notify.sh")
	os.WriteFile(notify, []byte("#!/bin/sh\necho \"$@\" >> "+notifyOut+"\n"), 0o755)
	conf := func(router string, prio int, track string) string {
		inst := func(name string, vrid int, addr, more string) string {
			return fmt.Sprintf(`vrrp_instance %s {
  state BACKUP
  interface eth0
  virtual_router_id %d
  priority %d
  advert_int 0.5
  version 3
  virtual_ipaddress {
    %s/24
  }
%s}
`, name, vrid, prio, addr, more)
		}
		return fmt.Sprintf("global_defs {\n  router_id %s\n}\nvrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n  notify %s\n}\n", router, notify) +
			inst("VI_1", 51, "10.213.0.100", "") + inst("VI_2", 52, "10.213.0.101", track)
	}
	p1 := l.start("lb1", bin, "vrrp", "-f", l.writeFile("k1.conf", conf("lb1", 150, "  track_interface {\n    trk0\n  }\n")))
	p2 := l.start("lb2", bin, "vrrp", "-f", l.writeFile("k2.conf", conf("lb2", 100, "")))
	l.waitHolder("10.213.0.100", "lb1", lbs, 10*time.Second, p1, p2)
	l.waitHolder("10.213.0.101", "lb1", lbs, 10*time.Second, p1, p2)

	l.output("lb1", "ip", "link", "set", "trk1", "down")
	l.waitHolder("10.213.0.101", "lb2", lbs, 5*time.Second, p1, p2)
	l.waitHolder("10.213.0.100", "lb2", lbs, 5*time.Second, p1, p2)
	for _, want := range []string{"(VI_1) Entering FAULT STATE", "(VI_2) Entering FAULT STATE"} {
		if !strings.Contains(p1.Stderr(), want) {
			t.Errorf("lb1: no %q:\n%s", want, p1.Stderr())
		}
	}

	l.output("lb1", "ip", "link", "set", "trk1", "up")
	l.waitHolder("10.213.0.100", "lb1", lbs, 10*time.Second, p1, p2)
	l.waitHolder("10.213.0.101", "lb1", lbs, 10*time.Second, p1, p2)
	p1.term(t)
	got, _ := os.ReadFile(notifyOut)
	for _, want := range []string{"GROUP G MASTER 0", "GROUP G FAULT 0", "GROUP G BACKUP 0"} {
		if !strings.Contains(string(got), want+"\n") {
			t.Errorf("group notify: no %q in\n%s", want, got)
		}
	}
}

// TestVRRPConfigTest: "dhproxy vrrp -t" checks a keepalived.conf as
// keepalived -t does, errors naming file:line.
func TestVRRPConfigTest(t *testing.T) {
	if isHAProxy() {
		t.Skip("dhproxy vrrp is dhproxy's")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.conf")
	os.WriteFile(good, []byte(keepalivedConf("r", "MASTER", 150, 2, "")), 0o644)
	out, err := exec.Command(bin, "vrrp", "-n", "-l", "-D", "-t", "-f", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Configuration file is valid") {
		t.Fatalf("good config: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n}\n"), 0o644)
	out, err = exec.Command(bin, "vrrp", "-t", "-f", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bad.conf:3") || !strings.Contains(string(out), "virtual_router_id") {
		t.Fatalf("bad config: %v\n%s", err, out)
	}
	// Extra words keepalived ignores pass, with a warning; a configuration
	// error keepalived reports and runs through fails the test, as
	// "keepalived -t" does, for "vrrp -t" and "-c -K" alike.
	inst := "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    10.9.9.9/24\n  }\n  %s\n}\n"
	extra := filepath.Join(dir, "extra.conf")
	os.WriteFile(extra, []byte(fmt.Sprintf(inst, "nopreempt 1")), 0o644)
	out, err = exec.Command(bin, "vrrp", "-t", "-f", extra).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "extra.conf:9") || !strings.Contains(string(out), "Configuration file is valid") {
		t.Fatalf("nopreempt 1: %v\n%s", err, out)
	}
	cfgErr := filepath.Join(dir, "cfgerr.conf")
	os.WriteFile(cfgErr, []byte(fmt.Sprintf(inst, "smtp_alert maybe")), 0o644)
	for _, args := range [][]string{{"vrrp", "-t", "-f", cfgErr}, {"-c", "-K", cfgErr, "-f", writeConfig(t, "global\n")}} {
		out, err = exec.Command(bin, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "cfgerr.conf:9") || !strings.Contains(string(out), "configuration error(s)") {
			t.Fatalf("%v with smtp_alert maybe: %v\n%s", args, err, out)
		}
	}
}

// TestVRRPDualStack: an IPv4 (v2) and an IPv6 (v3) instance in one process,
// each on its own socket; SIGTERM hands both over and exits cleanly, and the
// new master's unsolicited neighbour advertisement updates a client.
func TestVRRPDualStack(t *testing.T) {
	t.Parallel()
	l := newVLab(t, "lb1", "lb2", "client")
	lbs := []string{"lb1", "lb2"}
	conf := func(router, state string, prio int) string {
		four := keepalivedConf(router, state, prio, 2, "")
		six := keepalivedConf(router, state, prio, 3, "vip6")
		six = six[strings.Index(six, "vrrp_instance"):]
		six = strings.Replace(six, "VI_1", "VI_6", 1)
		six = strings.Replace(six, "virtual_router_id 51", "virtual_router_id 61", 1)
		return four + six
	}
	p1 := l.start("lb1", bin, "vrrp", "-f", l.writeFile("k1.conf", conf("lb1", "MASTER", 150)))
	p2 := l.start("lb2", bin, "vrrp", "-f", l.writeFile("k2.conf", conf("lb2", "BACKUP", 100)))
	l.waitHolder(vip, "lb1", lbs, 10*time.Second, p1, p2)
	l.waitHolder(vip6, "lb1", lbs, 10*time.Second, p1, p2)
	if out, err := l.output("client", "ip", "-6", "addr", "add", "fd00:213::9/64", "dev", "eth0", "nodad"); err != nil {
		t.Fatalf("client address: %v %s", err, out)
	}
	// A datagram to the VIP makes the client resolve it: lb1's MAC.
	mac1, _ := l.output("lb1", "cat", "/sys/class/net/eth0/address")
	waitNeigh := func(mac string) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for {
			var c net.Conn
			var derr error
			l.inNetns("client", func() { c, derr = net.Dial("udp6", "["+vip6+"]:9") })
			if derr == nil {
				c.Write([]byte("x"))
				c.Close()
			}
			neigh, _ := l.output("client", "ip", "-6", "neigh", "show", vip6)
			if strings.Contains(neigh, strings.TrimSpace(mac)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("client's neighbour entry for %s is %q, want MAC %s", vip6, neigh, mac)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitNeigh(mac1)
	p1.term(t)
	if p1.err != nil {
		t.Errorf("SIGTERM: exit %v\n%s", p1.err, p1.Stderr())
	}
	l.waitHolder(vip, "lb2", lbs, 3*time.Second, p1, p2)
	l.waitHolder(vip6, "lb2", lbs, 3*time.Second, p1, p2)
	// lb2's unsolicited NA (override flag) moves the entry; the datagrams
	// waitNeigh sends would not, while the entry is fresh.
	mac2, _ := l.output("lb2", "cat", "/sys/class/net/eth0/address")
	waitNeigh(mac2)
}

// TestVRRPDualMaster: keepalived's tutorial "dual master" (two instances
// with mirrored priorities): each node masters one VIP; when one node stops
// the other holds both.
func TestVRRPDualMaster(t *testing.T) {
	t.Parallel()
	l := newVLab(t, "lb1", "lb2")
	lbs := []string{"lb1", "lb2"}
	conf := func(p1, p2 int) string {
		inst := func(name string, vrid, prio int, addr string) string {
			return fmt.Sprintf("vrrp_instance %s {\n  interface eth0\n  virtual_router_id %d\n  priority %d\n  advert_int 1\n  authentication {\n    auth_type PASS\n    auth_pass dual\n  }\n  virtual_ipaddress {\n    %s/24\n  }\n}\n", name, vrid, prio, addr)
		}
		return inst("VI_1", 51, p1, "10.213.0.100") + inst("VI_2", 52, p2, "10.213.0.101")
	}
	d1 := l.start("lb1", bin, "vrrp", "-f", l.writeFile("k1.conf", conf(150, 100)))
	d2 := l.start("lb2", bin, "vrrp", "-f", l.writeFile("k2.conf", conf(100, 150)))
	l.waitHolder("10.213.0.100", "lb1", lbs, 10*time.Second, d1, d2)
	l.waitHolder("10.213.0.101", "lb2", lbs, 10*time.Second, d1, d2)
	d2.term(t)
	l.waitHolder("10.213.0.101", "lb1", lbs, 3*time.Second, d1, d2)
	if !l.hasAddr("lb1", "10.213.0.100") {
		t.Fatalf("lb1 lost its own VIP:\n%s", d1.Stderr())
	}
}

// TestVRRPSMTPAlert: smtp_alert mails every state change with keepalived's
// subjects, through the smtp_server of global_defs (an SMTP sink inside the
// node's namespace).
func TestVRRPSMTPAlert(t *testing.T) {
	t.Parallel()
	l := newVLab(t, "lb1")
	var ln net.Listener
	var lerr error
	if err := l.inNetns("lb1", func() { ln, lerr = net.Listen("tcp", "127.0.0.1:2525") }); err != nil || lerr != nil {
		t.Fatalf("SMTP sink in lb1: %v %v", err, lerr)
	}
	sink := smtpsink.Serve(ln, nil)
	defer sink.Close()
	conf := keepalivedConf("lb1", "BACKUP", 100, 3, "")
	conf = strings.Replace(conf, "  router_id lb1\n", "  router_id lb1\n  notification_email {\n    ops@example.com\n  }\n  notification_email_from vrrp@example.com\n  smtp_server 127.0.0.1 2525\n  smtp_connect_timeout 5\n", 1)
	conf = strings.Replace(conf, "  interface eth0\n", "  interface eth0\n  smtp_alert\n", 1)
	p := l.start("lb1", bin, "vrrp", "-f", l.writeFile("k.conf", conf))
	l.waitHolder(vip, "lb1", []string{"lb1"}, 10*time.Second, p)
	p.term(t)
	mails, err := sink.WaitMails(3, 5*time.Second)
	if err != nil {
		t.Fatalf("%v\n%s", err, p.Stderr())
	}
	var subjects []string
	for _, m := range mails {
		if m.From != "vrrp@example.com" || len(m.To) != 1 || m.To[0] != "ops@example.com" {
			t.Errorf("envelope from %q to %q", m.From, m.To)
		}
		for _, line := range strings.Split(m.Data, "\r\n") {
			if s, ok := strings.CutPrefix(line, "Subject: "); ok {
				subjects = append(subjects, s)
			}
		}
	}
	want := []string{"[lb1] VRRP Instance VI_1 - Entering BACKUP state", "[lb1] VRRP Instance VI_1 - Entering MASTER state", "[lb1] VRRP Instance VI_1 - Stopping"}
	if strings.Join(subjects, "\n") != strings.Join(want, "\n") {
		t.Errorf("subjects:\n%s\nwant:\n%s", strings.Join(subjects, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(mails[1].Data, "=> VRRP Instance is now owning VRRP VIPs <=") {
		t.Errorf("MASTER mail body:\n%s", mails[1].Data)
	}
}
