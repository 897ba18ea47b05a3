package e2e

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// drLab builds LVS-DR on one segment: the VIP 10.213.0.100 on the
// director's eth0, and on every real server's loopback with
// arp_ignore=1 / arp_announce=2 so that only the director answers ARP for
// it, while the real servers accept packets for it and answer the client
// directly.
func drLab(t *testing.T) *lab {
	l := newLVSLab(t, "client", "lb1", "web1", "web2", "web3")
	l.sh("lb1", "ip addr add 10.213.0.100/32 dev eth0")
	for _, w := range []string{"web1", "web2", "web3"} {
		l.sh(w, "ip addr add 10.213.0.100/32 dev lo &&"+
			" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2"+
			" net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2")
	}
	return l
}

// The keepalived tutorial's virtual server (rr, DR, persistence_timeout
// 50, two real servers with TCP_CHECK), with short timers so that the
// test runs in seconds, and a sorry server.
const drTutorialConf = `
virtual_server 10.213.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    persistence_timeout 50
    protocol TCP
    sorry_server 10.213.0.5 80

    real_server 10.213.0.3 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            connect_port 80
            nb_get_retry 1
            delay_before_retry 1
        }
    }
    real_server 10.213.0.4 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            connect_port 80
            nb_get_retry 1
            delay_before_retry 1
        }
    }
}
`

func txBytes(t testing.TB, l *lab, host string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(l.sh(host, "cat /sys/class/net/eth0/statistics/tx_bytes")), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLVSDRTutorial: direct routing through the director's netdev ingress:
// persistence, replies that bypass the director, failover of the bound
// real server, the sorry server, then rr alternation without persistence.
func TestLVSDRTutorial(t *testing.T) {
	l := drLab(t)
	webs := map[string]*proc{"web1": l.web("web1"), "web2": l.web("web2")}
	l.web("web3")
	lvs, sock := l.startLVS("lb1", drTutorialConf, "-datapath", "nftables")
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.4]:tcp:80 success.", 10*time.Second)
	probe := lvsProbe(t)
	url := "http://10.213.0.100/"

	got := lvsLines(l.run("client", probe, "get", url, "6"))
	c := lvsCount(got)
	if len(c) != 1 || (c["web1"] != 6 && c["web2"] != 6) {
		t.Fatalf("persistence_timeout 50 keeps the client on one real server: %v", got)
	}
	bound := got[0]
	l.wantList("lb1", sock, "TCP  10.213.0.100:80 rr persistent 50\n", "  -> 10.213.0.3:80                Route   1      ", "  -> 10.213.0.4:80                Route   1      ")

	l.wantDirectReturn("lb1", url)

	// The bound real server stops: it leaves the pool, the binding goes
	// with it, and the client moves to the other one.
	other := map[string]string{"web1": "web2", "web2": "web1"}[bound]
	ip := map[string]string{"web1": "10.213.0.3", "web2": "10.213.0.4"}
	webs[bound].stop()
	lvsWaitLog(t, lvs, "Removing service ["+ip[bound]+"]:tcp:80 from VS [10.213.0.100]:tcp:80", 10*time.Second)
	if c := lvsCount(lvsLines(l.run("client", probe, "get", url, "3"))); c[other] != 3 {
		t.Fatalf("after %s left, %s answers: %v", bound, other, c)
	}
	webs[bound] = l.web(bound)
	lvsWaitLog(t, lvs, "Adding service ["+ip[bound]+"]:tcp:80 to VS [10.213.0.100]:tcp:80", 10*time.Second)
	if c := lvsCount(lvsLines(l.run("client", probe, "get", url, "3"))); c[other] != 3 {
		t.Fatalf("the client stays where persistence put it (%s): %v", other, c)
	}

	webs["web1"].stop()
	webs["web2"].stop()
	lvsWaitLog(t, lvs, "Adding sorry server [10.213.0.5]:tcp:80 to VS [10.213.0.100]:tcp:80", 15*time.Second)
	if c := lvsCount(lvsLines(l.run("client", probe, "get", url, "3"))); c["web3"] != 3 {
		t.Fatalf("all real servers down: the sorry server answers: %v", c)
	}
	l.lvsStopClean(lvs, "lb1")

	// Without persistence, rr alternates per connection.
	l.web("web1")
	l.web("web2")
	lvs, _ = l.startLVS("lb1", strings.Replace(drTutorialConf, "persistence_timeout 50", "", 1), "-datapath", "nftables")
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.4]:tcp:80 success.", 10*time.Second)
	got = lvsLines(l.run("client", probe, "get", url, "6"))
	if c := lvsCount(got); c["web1"] != 3 || c["web2"] != 3 {
		t.Fatalf("rr over web1, web2 in DR: %v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("rr must alternate: %v", got)
		}
	}

	// web1 is replaced by a machine with another MAC: once the director's
	// neighbour table knows it, DR forwards there.
	l.sh("web1", "ip link set dev eth0 address 02:00:00:00:d4:01")
	l.sh("lb1", "ip neigh replace 10.213.0.3 lladdr 02:00:00:00:d4:01 dev eth0")
	lvsWaitLog(t, lvs, "real server 10.213.0.3 moved from MAC", 10*time.Second)
	if c := lvsCount(lvsLines(l.run("client", probe, "get", url, "4"))); c["web1"] != 2 || c["web2"] != 2 {
		t.Fatalf("after web1's MAC changed: %v", c)
	}
}

// TestLVSDRFailover: two directors running the same virtual server, the
// VIP held by VRRP: keepalived 2.x from Debian (--vrrp only) beside
// `dhproxy lvs run`, or one `dhproxy -K keepalived.conf` per director
// running both, from the one keepalived.conf operators have. When the
// master dies (killed, its link down), the backup takes the VIP and the
// virtual service keeps answering through it.
func TestLVSDRFailover(t *testing.T) {
	for _, kind := range []string{"keepalived", "dhproxy"} {
		t.Run(kind, func(t *testing.T) { lvsDRFailover(t, kind) })
	}
}

func lvsDRFailover(t *testing.T, kind string) {
	if _, err := exec.LookPath("keepalived"); err != nil && kind == "keepalived" {
		t.Fatalf("keepalived not found (%v); run scripts/install-test-deps.sh", err)
	}
	l := newLVSLab(t, "client", "lb1", "web1", "web2", "lb2")
	for _, w := range []string{"web1", "web2"} {
		l.sh(w, "ip addr add 10.213.0.100/32 dev lo &&"+
			" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2"+
			" net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2")
		l.web(w)
	}
	conf := strings.Replace(strings.Replace(drTutorialConf, "persistence_timeout 50", "", 1), "sorry_server 10.213.0.5 80", "", 1)
	kill := map[string]func(){}
	for host, prio := range map[string]string{"lb1": "150", "lb2": "100"} {
		vrrp := `
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority ` + prio + `
    advert_int 1
    virtual_ipaddress {
        10.213.0.100/32 dev eth0
    }
}
`
		var p *proc
		if kind == "dhproxy" {
			p = l.start(host, "env", "DHPROXY_LVS_DATAPATH=nftables", "DHPROXY_LVS_SOCKET="+l.dir+"/"+host+".sock",
				bin, "-K", l.writeFile(host+"-keepalived.conf", vrrp+conf))
			kill[host] = func() { p.cmd.Process.Kill() } // no priority-0 goodbye
		} else {
			pid, vpid := l.dir+"/"+host+".pid", l.dir+"/"+host+"-vrrp.pid"
			l.start(host, "keepalived", "-n", "-l", "-D", "--vrrp", "-f", l.writeFile(host+"-vrrp.conf", vrrp), "-p", pid, "-r", vpid)
			kill[host] = func() {
				for _, f := range []string{vpid, pid} { // the VRRP child first: no priority-0 goodbye
					l.sh(host, "kill -9 $(cat "+f+")")
				}
			}
			p, _ = l.startLVS(host, conf, "-datapath", "nftables")
		}
		lvsWaitLog(t, p, "TCP connection to [10.213.0.4]:tcp:80 success.", 10*time.Second)
	}
	hasVIP := func(host string) bool {
		return strings.Contains(l.sh(host, "ip -4 addr show dev eth0"), "10.213.0.100/32")
	}
	deadline := time.Now().Add(15 * time.Second)
	for !hasVIP("lb1") {
		if time.Now().After(deadline) {
			t.Fatal("lb1 (priority 150) never became VRRP master")
		}
		time.Sleep(100 * time.Millisecond)
	}
	probe := lvsProbe(t)
	url := "http://10.213.0.100/"
	if c := lvsCount(lvsLines(l.run("client", probe, "get", url, "4"))); c["web1"] != 2 || c["web2"] != 2 {
		t.Fatalf("through lb1: %v", c)
	}

	if hasVIP("lb2") {
		t.Fatal("lb2 holds the VIP while lb1 is master")
	}
	// The master dies: killed, link down.
	kill["lb1"]()
	l.sh("lb1", "ip link set dev eth0 down")
	start := time.Now()
	for !hasVIP("lb2") {
		if time.Since(start) > 15*time.Second {
			t.Fatal("lb2 did not take the VIP")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var got []string
	for {
		got = lvsLines(l.run("client", probe, "get", url, "4"))
		if c := lvsCount(got); c["web1"] == 2 && c["web2"] == 2 {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("the virtual service did not come back through lb2: %v", got)
		}
	}
	t.Logf("service answering through lb2 %v after the master died", time.Since(start).Round(100*time.Millisecond))
	if !strings.Contains(l.run("lb2", "nft", "list", "chain", "netdev", "dhproxy_lvs", "ingress_eth0"), "counter packets") {
		t.Fatal("no DR chain on lb2")
	}
}
