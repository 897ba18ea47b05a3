package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	decapOnce  sync.Once
	decapBin   string
	decapError error
)

// ipipDecap builds the userspace stand-in for tunl0 (e2e/testdata/ipipdecap).
func ipipDecap(t testing.TB) string {
	decapOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ipipdecap-")
		if err != nil {
			decapError = err
			return
		}
		decapBin = filepath.Join(dir, "ipipdecap")
		if out, err := exec.Command("go", "build", "-o", decapBin, "dhproxy/e2e/testdata/ipipdecap").CombinedOutput(); err != nil {
			decapError = fmt.Errorf("building ipipdecap: %v\n%s", err, out)
		}
	})
	if decapError != nil {
		t.Fatal(decapError)
	}
	return decapBin
}

// tunRealServer prepares host as an LVS-TUN real server for vips: the
// kernel's tunl0 when it has ipip, otherwise the userspace decapsulator
// behind a TUN device named tunl0; then the VIPs on tunl0, rp_filter off
// (the inner packets come in on tunl0 from a client routed elsewhere) and
// arp_ignore/arp_announce so that only the director answers ARP for them.
// It returns which decapsulator is used, and the userspace one's process.
func tunRealServer(l *lab, host string, vips ...string) (string, *proc) {
	l.t.Helper()
	how := "kernel ipip (tunl0)"
	var p *proc
	kernel := exec.Command("ip", "netns", "exec", l.prefix+"-"+host, "sh", "-c",
		"modprobe ipip 2>/dev/null; ip link show tunl0 >/dev/null 2>&1 || ip link add tunl0 type ipip")
	if out, err := kernel.CombinedOutput(); err != nil {
		how = "userspace decapsulator (no ipip in this kernel: " + strings.TrimSpace(string(out)) + ")"
		p = l.start(host, ipipDecap(l.t), "tunl0")
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(p.Stdout(), "ready tunl0") {
			if time.Now().After(deadline) || p.exited() {
				l.t.Fatalf("ipipdecap in %s: %s", host, p.Stderr())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	script := "ip link set tunl0 up &&" +
		" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0" +
		" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2" +
		" net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2"
	for _, v := range vips {
		script += " && ip addr add " + v + "/32 dev tunl0"
	}
	l.sh(host, script)
	return how, p
}

const tunConf = `
virtual_server 10.213.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind TUN
    protocol TCP
    real_server 10.213.0.3 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.213.0.4 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
`

// tunUDPConf adds a UDP service: the real servers' echo on the VIP, port
// 5353 (bound to the VIP, so that replies leave from it, as any UDP
// service behind LVS-TUN or DR must).
const tunUDPConf = `
virtual_server 10.213.0.100 5353 {
    lb_algo rr
    lb_kind TUN
    protocol UDP
    real_server 10.213.0.3 5353 {
        weight 1
    }
    real_server 10.213.0.4 5353 {
        weight 1
    }
}
`

// TestLVSTUN: LVS-TUN on one segment. The director (VIP on eth0) sends
// each client packet inside IP-in-IP to a real server, which holds the
// VIP on tunl0 and answers the client directly: rr alternation, replies
// that bypass the director, `dhproxy lvs list`, a failed real server
// removed by TCP_CHECK, and the drop table removed on SIGTERM.
func TestLVSTUN(t *testing.T) {
	l := newLVSLab(t, "client", "lb1", "web1", "web2")
	l.sh("lb1", "ip addr add 10.213.0.100/32 dev eth0")
	webs := map[string]*proc{}
	for _, w := range []string{"web1", "web2"} {
		how, _ := tunRealServer(l, w, "10.213.0.100")
		t.Logf("%s: %s", w, how)
		webs[w] = l.web(w)
		l.start(w, lvsProbe(t), "serve", w, "10.213.0.100:5353")
	}
	lvs, sock := l.startLVS("lb1", tunConf+tunUDPConf, "-datapath", "nftables")
	lvsWaitLog(t, lvs, "lb_kind TUN datapath (IP-in-IP", 5*time.Second)
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.4]:tcp:80 success.", 10*time.Second)
	probe := lvsProbe(t)
	url := "http://10.213.0.100/"

	got := lvsLines(l.run("client", probe, "get", url, "6"))
	if c := lvsCount(got); c["web1"] != 3 || c["web2"] != 3 {
		t.Fatalf("rr over web1, web2 through TUN: %v\n%s", got, lvs.Stderr())
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("rr must alternate: %v", got)
		}
	}
	// UDP: one flow per client socket, rr over them.
	got = lvsLines(l.run("client", probe, "udp", "10.213.0.100:5353", "4"))
	if c := lvsCount(got); c["web1"] != 2 || c["web2"] != 2 {
		t.Fatalf("UDP rr through TUN: %v", got)
	}
	l.wantList("lb1", sock,
		"datapath=tun\n",
		"UDP  10.213.0.100:5353 rr\n",
		"TCP  10.213.0.100:80 rr\n",
		// The 6 connections were closed by their clients (FIN seen):
		// InActConn, 3 per real server.
		"  -> 10.213.0.3:80                Tunnel  1      0          3 ",
		"  -> 10.213.0.4:80                Tunnel  1      0          3 ",
	)

	// The director only carries the client's packets (encapsulated).
	l.wantDirectReturn("lb1", url)
	// The director's own stack never saw the client's packets: the drop
	// rule counted them before conntrack.
	table := l.run("lb1", "nft", "list", "table", "ip", "dhproxy_lvs_tun")
	m := regexp.MustCompile(`counter packets (\d+)`).FindStringSubmatch(table)
	if m == nil {
		t.Fatalf("no counter in the drop table:\n%s", table)
	}
	if n, _ := strconv.Atoi(m[1]); n < 20 {
		t.Fatalf("drop rule counters:\n%s", table)
	}

	// A firewall reload flushing the ruleset: the drop table comes back,
	// or the director would answer the clients itself.
	l.sh("lb1", "nft delete table ip dhproxy_lvs_tun")
	lvsWaitLog(t, lvs, "nftables table ip dhproxy_lvs_tun was removed by someone else; putting it back", 10*time.Second)
	if c := lvsCount(lvsLines(l.run("client", probe, "get", url, "2"))); c["web1"] != 1 || c["web2"] != 1 {
		t.Fatalf("after the drop table came back: %v", c)
	}

	// web1 fails: TCP_CHECK removes it and every new client goes to web2.
	webs["web1"].stop()
	lvsWaitLog(t, lvs, "Removing service [10.213.0.3]:tcp:80 from VS [10.213.0.100]:tcp:80", 10*time.Second)
	if c := lvsCount(lvsLines(l.run("client", probe, "get", url, "4"))); c["web2"] != 4 {
		t.Fatalf("after web1 failed: %v", c)
	}
	webs["web1"] = l.web("web1")
	lvsWaitLog(t, lvs, "Adding service [10.213.0.3]:tcp:80 to VS [10.213.0.100]:tcp:80", 10*time.Second)
	if c := lvsCount(lvsLines(l.run("client", probe, "get", url, "4"))); c["web1"] != 2 || c["web2"] != 2 {
		t.Fatalf("after web1 came back: %v", c)
	}
	l.lvsStopClean(lvs, "lb1")
}

// TestLVSBenchTUNvsNAT measures new connections per second through LVS-TUN
// and through nftables NAT in the same namespaces, with one dhproxy
// running both virtual servers (datapath nftables+tun): 10.213.9.100 NAT,
// 10.213.9.101 TUN. The real servers route replies from the TUN VIP
// straight to the client (policy routing by source), NAT replies through
// the director. Bounded: 2000 connections each, 8 at a time.
func TestLVSBenchTUNvsNAT(t *testing.T) {
	l := natLab(t)
	l.sh("lb1", "ip addr add 10.213.9.101/32 dev eth0")
	var decaps []*proc
	for _, w := range []string{"web1", "web2"} {
		how, p := tunRealServer(l, w, "10.213.9.101")
		t.Logf("%s: %s", w, how)
		if p != nil {
			decaps = append(decaps, p)
		}
		l.sh(w, "ip rule add from 10.213.9.101 table 100 && ip route add 10.213.9.0/24 dev eth0 table 100")
		l.web(w)
	}
	conf := strings.Replace(natConf, "    sorry_server 10.213.0.5 80\n", "", 1) +
		strings.Replace(tunConf, "10.213.0.100", "10.213.9.101", 1)
	lvs, sock := l.startLVS("lb1", conf, "-datapath", "nftables")
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.4]:tcp:80 success.", 10*time.Second)
	if list := l.run("lb1", bin, "lvs", "list", "-S", sock); !strings.Contains(list, "datapath=nftables+tun") || !strings.Contains(list, "Tunnel") || !strings.Contains(list, "Masq") {
		t.Fatalf("lvs list:\n%s", list)
	}
	probe := lvsProbe(t)
	for _, run := range []struct{ name, url string }{
		{"nftables NAT", "http://10.213.9.100/"},
		{"TUN", "http://10.213.9.101/"},
		{"nftables NAT", "http://10.213.9.100/"},
		{"TUN", "http://10.213.9.101/"},
	} {
		// The userspace decapsulators stand in for the real servers'
		// kernel: their CPU is reported apart.
		decapCPU := func() (d time.Duration) {
			for _, p := range decaps {
				d += procCPU(t, p.cmd.Process.Pid)
			}
			return d
		}
		p0, s0, d0 := procCPU(t, lvs.cmd.Process.Pid), systemCPU(t), decapCPU()
		out := strings.TrimSpace(l.run("client", probe, "load", run.url, "2000", "8"))
		if !strings.HasPrefix(out, "ok=2000 fail=0 ") {
			t.Fatalf("%s: %s", run.name, out)
		}
		t.Logf("%-12s %s  dhproxy CPU %v, decapsulators CPU %v, machine CPU %v", run.name, out,
			procCPU(t, lvs.cmd.Process.Pid)-p0, decapCPU()-d0, systemCPU(t)-s0)
	}
}
