package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

const vmacAddr = "00:00:5e:00:01:33" // VRID 51

// vmacHolder waits until host carries ip on its VMAC vrrp.51 and fails
// the test after within.
func (l *lab) vmacHolder(ip, host string, within time.Duration, logs ...*proc) {
	l.t.Helper()
	deadline := time.Now().Add(within)
	for {
		out, _ := l.output(host, "ip", "-o", "addr", "show", "dev", "vrrp.51")
		if strings.Contains(out, " "+ip+"/") {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, p := range logs {
				b.WriteString(p.Stdout() + p.Stderr())
			}
			l.t.Fatalf("%s does not hold %s on vrrp.51 after %v:\n%s", host, ip, within, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// vipMAC is the MAC the client's neighbour table holds for the VIP after
// a ping (it answers ARP). The holder first learns the client's MAC: else
// it asks for it from the base interface with the VIP as sender (the echo
// reply leaves there), which overwrites the client's entry, with
// keepalived too.
func (l *lab) vipMAC(t *testing.T, client, holder, ip string) string {
	t.Helper()
	if lost := l.ping(holder, l.addr[client], 1, 0); lost != "" {
		t.Fatalf("ping %s from %s: %s", client, holder, lost)
	}
	l.output(client, "ip", "neigh", "flush", "to", ip)
	if lost := l.ping(client, ip, 1, 0); lost != "" {
		t.Fatalf("ping %s: %s", ip, lost)
	}
	out, _ := l.output(client, "ip", "neigh", "show", "to", ip)
	f := strings.Fields(out)
	for i, w := range f {
		if w == "lladdr" && i+1 < len(f) {
			return f[i+1]
		}
	}
	t.Fatalf("no neighbour entry for %s: %q", ip, out)
	return ""
}

// TestVRRPUseVMAC: with use_vmac the master puts the VIP on a macvlan
// vrrp.51 with the virtual router's MAC, so clients learn
// 00:00:5e:00:01:33 for it; a real keepalived backup (also use_vmac) takes
// over with the same MAC, so the clients' ARP caches stay right; dhproxy
// removes its VMAC and restores arp_ignore at stop. With vmac_xmit_base
// dhproxy's adverts leave from eth0 and keepalived still hears them.
func TestVRRPUseVMAC(t *testing.T) {
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Fatal("keepalived is not installed (scripts/install-test-deps.sh installs it)")
	}
	for _, extra := range []string{"vmac", "vmac,xmit_base"} {
		t.Run(strings.ReplaceAll(extra, ",", "+"), func(t *testing.T) {
			t.Parallel() // each in its own lab; they mostly wait on timers
			testUseVMAC(t, ka, extra)
		})
	}
}

// testUseVMAC runs TestVRRPUseVMAC with dhproxy's extra (keepalived sends
// from its VMAC).
func testUseVMAC(t *testing.T, ka, extra string) {
	l := newVLab(t, "client", "lb1", "lb2")
	dir := t.TempDir()
	ignore := func() string {
		out, _ := l.output("lb1", "cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore")
		return strings.TrimSpace(out)
	}
	before := ignore()
	d := l.start("lb1", bin, "vrrp", "-f", l.writeFile("d.conf", keepalivedConf("d", "MASTER", 150, 3, extra)))
	k := l.start("lb2", ka, "-n", "-l", "-D", "--vrrp", "-f", l.writeFile("ka.conf", keepalivedConf("ka", "BACKUP", 100, 3, "vmac")),
		"-p", filepath.Join(dir, "ka.pid"), "-r", filepath.Join(dir, "ka-vrrp.pid"))
	l.vmacHolder(vip, "lb1", 10*time.Second, d, k)
	if link, _ := l.output("lb1", "ip", "-o", "link", "show", "dev", "vrrp.51"); !strings.Contains(link, "link/ether "+vmacAddr) || !strings.Contains(link, "vrrp.51@eth0") {
		t.Fatalf("vrrp.51 on lb1: %q", link)
	}
	if got := ignore(); got != "1" {
		t.Errorf("lb1 eth0 arp_ignore = %s while the VMAC runs, want 1 (only the VMAC answers for the VIP)", got)
	}
	if mac := l.vipMAC(t, "client", "lb1", vip); mac != vmacAddr {
		t.Fatalf("client learnt %s for the VIP, want the virtual MAC %s\ndhproxy:\n%s", mac, vmacAddr, d.Stderr())
	}
	time.Sleep(downInterval(3, 100)) // keepalived, hearing our adverts from the VMAC, stays backup
	if out, _ := l.output("lb2", "ip", "-o", "addr", "show", "dev", "vrrp.51"); strings.Contains(out, " "+vip+"/") {
		t.Fatalf("keepalived took the VIP while dhproxy is master:\n%s", k.Stdout()+k.Stderr())
	}

	d.term(t)
	l.vmacHolder(vip, "lb2", 5*time.Second, d, k)
	if mac := l.vipMAC(t, "client", "lb2", vip); mac != vmacAddr {
		t.Errorf("after fail-over the client learnt %s, want %s", mac, vmacAddr)
	}
	if out, err := l.output("lb1", "ip", "link", "show", "dev", "vrrp.51"); err == nil {
		t.Errorf("vrrp.51 is still on lb1 after dhproxy stopped:\n%s", out)
	}
	if got := ignore(); got != before {
		t.Errorf("lb1 eth0 arp_ignore = %s after stop, want %s restored", got, before)
	}
	if strings.Contains(d.Stderr(), "advert from") {
		t.Errorf("dhproxy rejected adverts:\n%s", d.Stderr())
	}
}

// TestVRRPUnicastTTL against keepalived 2.2.7: dhproxy's unicast_ttl 64
// adverts pass a keepalived peer that accepts only TTL 64 (min_ttl 64
// max_ttl 64), so keepalived stays backup; dhproxy with max_ttl 64 for
// keepalived's peer drops its adverts (sent with TTL 255), says so, and
// becomes master too.
func TestVRRPUnicastTTL(t *testing.T) {
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Fatal("keepalived is not installed (scripts/install-test-deps.sh installs it)")
	}
	l := newVLab(t, "lb1", "lb2")
	lbs := []string{"lb1", "lb2"}
	dir := t.TempDir()
	k := l.start("lb2", ka, "-n", "-l", "-D", "--vrrp", "-f",
		l.writeFile("ka.conf", keepalivedConf("ka", "BACKUP", 100, 3, "unicast="+l.addr["lb2"]+"/"+l.addr["lb1"]+" min_ttl 64 max_ttl 64")),
		"-p", filepath.Join(dir, "ka.pid"), "-r", filepath.Join(dir, "ka-vrrp.pid"))
	d := l.start("lb1", bin, "vrrp", "-f", l.writeFile("d1.conf", keepalivedConf("d", "MASTER", 150, 3, "unicast="+l.addr["lb1"]+"/"+l.addr["lb2"]+",ttl=64")))
	l.waitHolder(vip, "lb1", lbs, 10*time.Second, d, k)
	time.Sleep(downInterval(3, 100) + 500*time.Millisecond)
	if hs := l.holders(vip, lbs); len(hs) != 1 || hs[0] != "lb1" {
		t.Fatalf("keepalived refused dhproxy's TTL 64 adverts: VIP on %v\nkeepalived:\n%s", hs, k.Stdout()+k.Stderr())
	}
	d.term(t)
	l.waitHolder(vip, "lb2", lbs, 5*time.Second, d, k)

	d = l.start("lb1", bin, "vrrp", "-f", l.writeFile("d2.conf", keepalivedConf("d", "BACKUP", 50, 3, "unicast="+l.addr["lb1"]+"/"+l.addr["lb2"]+" max_ttl 64")))
	deadline := time.Now().Add(downInterval(3, 50) + 3*time.Second)
	for !l.hasAddr("lb1", vip) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !l.hasAddr("lb1", vip) || !strings.Contains(d.Stderr(), "TTL/HL 255 outside the peer's range 0-64") {
		t.Fatalf("dhproxy did not drop keepalived's TTL 255 adverts (max_ttl 64):\n%s", d.Stderr())
	}
}

// TestVRRPMcastSrcIP: adverts leave from the mcast_src_ip address, seen
// by a listener on the peer, whether the interface has it (a secondary
// address) or not (keepalived sends from it all the same; dhproxy adds a
// notice).
func TestVRRPMcastSrcIP(t *testing.T) {
	l := newVLab(t, "lb1", "lb2")
	l.run("lb1", "ip", "addr", "add", "10.213.0.250/24", "dev", "eth0")
	var c *ipv4.RawConn
	var err error
	if nerr := l.inNetns("lb2", func() {
		var pc net.PacketConn
		if pc, err = net.ListenPacket("ip4:112", "0.0.0.0"); err != nil {
			return
		}
		ifi, _ := net.InterfaceByName("eth0")
		if c, err = ipv4.NewRawConn(pc); err == nil {
			err = c.JoinGroup(ifi, &net.IPAddr{IP: net.IPv4(224, 0, 0, 18)})
		}
	}); nerr != nil || err != nil {
		t.Fatal(nerr, err)
	}
	defer c.Close()
	for _, src := range []string{"10.213.0.250", "10.213.0.251"} {
		d := l.start("lb1", bin, "vrrp", "-f", l.writeFile("d.conf", keepalivedConf("d", "MASTER", 150, 3, "msrc="+src)))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 1500)
		for {
			h, p, _, err := c.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no advert from %s: %v\n%s", src, err, d.Stderr())
			}
			if len(p) < 2 || p[1] != 51 || h.Src.String() != src {
				continue // also the previous run's last adverts
			}
			if h.TTL != 255 {
				t.Fatalf("advert from %s with TTL %d, want 255", h.Src, h.TTL)
			}
			break
		}
		d.term(t)
	}
}

// TestVRRPReloadDropsVMAC: a reload that removes use_vmac moves the VIP
// back to eth0, deletes vrrp.51 and restores eth0's arp_ignore; one that
// sets it again brings the VMAC back.
func TestVRRPReloadDropsVMAC(t *testing.T) {
	l := newVLab(t, "lb1")
	conf := l.writeFile("d.conf", keepalivedConf("d", "MASTER", 150, 3, "vmac"))
	ignore := func() string {
		out, _ := l.output("lb1", "cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore")
		return strings.TrimSpace(out)
	}
	before := ignore()
	d := l.start("lb1", bin, "vrrp", "-f", conf)
	l.vmacHolder(vip, "lb1", 10*time.Second, d)

	os.WriteFile(conf, []byte(keepalivedConf("d", "MASTER", 150, 3, "")), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	l.waitHolder(vip, "lb1", []string{"lb1"}, 5*time.Second, d)
	deadline := time.Now().Add(3 * time.Second)
	for {
		_, err := l.output("lb1", "ip", "link", "show", "dev", "vrrp.51")
		if err != nil && ignore() == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the reload without use_vmac: vrrp.51 still there or arp_ignore %s (want %s)\n%s", ignore(), before, d.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}

	os.WriteFile(conf, []byte(keepalivedConf("d", "MASTER", 150, 3, "vmac")), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	l.vmacHolder(vip, "lb1", 5*time.Second, d)
	if l.hasAddr("lb1", vip) {
		t.Errorf("the VIP is on eth0 and vrrp.51:\n%s", d.Stderr())
	}
	d.term(t)
	if _, err := l.output("lb1", "ip", "link", "show", "dev", "vrrp.51"); err == nil {
		t.Errorf("vrrp.51 left after stop")
	}
}
