package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// natLab builds LVS-NAT: the client on its own subnet (10.213.9.0/24), the
// director lb1 routing between it and the real servers, which use lb1 as
// their default gateway, so replies return through it and conntrack
// undoes the DNAT. The VIP 10.213.9.100 is on lb1.
func natLab(t *testing.T) *lab {
	l := newLVSLab(t, "client", "lb1", "web1", "web2", "web3")
	l.sh("lb1", "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0 &&"+
		" ip addr add 10.213.9.254/24 dev eth0 && ip addr add 10.213.9.100/32 dev eth0")
	l.sh("client", "ip addr flush dev eth0 && ip addr add 10.213.9.1/24 dev eth0 && ip route add default via 10.213.9.254")
	for _, w := range []string{"web1", "web2", "web3"} {
		l.sh(w, "ip route add default via "+l.addr["lb1"])
	}
	return l
}

const natConf = `
global_defs {
    router_id lb1
}
virtual_server 10.213.9.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    sorry_server 10.213.0.5 80
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
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
`

// TestLVSNATGateway: rr alternation through nftables DNAT, a real server
// leaving and coming back per its checker, the sorry server while quorum
// is lost, `dhproxy lvs list`, and the table removed on SIGTERM.
func TestLVSNATGateway(t *testing.T) {
	l := natLab(t)
	web1, web2 := l.web("web1"), l.web("web2")
	l.web("web3")
	lvs, sock := l.startLVS("lb1", natConf, "-datapath", "nftables")
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, lvs, "HTTP status code success to [10.213.0.4]:tcp:80 url(/)", 10*time.Second)
	probe := lvsProbe(t)
	url := "http://10.213.9.100/"

	got := lvsLines(l.run("client", probe, "get", url, "6"))
	if c := lvsCount(got); c["web1"] != 3 || c["web2"] != 3 {
		t.Fatalf("rr over web1, web2: got %v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("rr must alternate: %v", got)
		}
	}
	l.wantList("lb1", sock,
		"Prot LocalAddress:Port Scheduler Flags",
		"TCP  10.213.9.100:80 rr\n",
		// Counts read back from conntrack: the 6 connections are closed
		// (TIME_WAIT), so InActConn, 3 per real server.
		"  -> 10.213.0.3:80                Masq    1      0          3 ",
		"  -> 10.213.0.4:80                Masq    1      0          3 ",
	)
	if tables := l.run("lb1", "nft", "list", "tables"); !strings.Contains(tables, "table ip dhproxy_lvs") {
		t.Fatalf("no dhproxy table in lb1: %s", tables)
	}

	// web1 stops: its TCP_CHECK fails, then once more after
	// delay_before_retry, and the server leaves the pool.
	web1.stop()
	took := lvsWaitLog(t, lvs, "Removing service [10.213.0.3]:tcp:80 from VS [10.213.9.100]:tcp:80", 10*time.Second)
	t.Logf("web1 removed %v after it stopped (delay_loop 1 + retry 1 x delay_before_retry 1)", took.Round(100*time.Millisecond))
	if !strings.Contains(lvs.Stderr(), "TCP_CHECK on service [10.213.0.3]:tcp:80 failed after 1 retries.") {
		t.Errorf("no keepalived-style failure line:\n%s", lvs.Stderr())
	}
	if c := lvsCount(lvsLines(l.run("client", probe, "get", url, "4"))); c["web2"] != 4 {
		t.Fatalf("with web1 down every request goes to web2: %v", c)
	}

	web1 = l.web("web1")
	lvsWaitLog(t, lvs, "Adding service [10.213.0.3]:tcp:80 to VS [10.213.9.100]:tcp:80", 10*time.Second)
	if c := lvsCount(lvsLines(l.run("client", probe, "get", url, "4"))); c["web1"] != 2 || c["web2"] != 2 {
		t.Fatalf("web1 back in rr: %v", c)
	}

	web1.stop()
	web2.stop()
	lvsWaitLog(t, lvs, "Lost quorum 1-0=1 > 0 for VS [10.213.9.100]:tcp:80", 15*time.Second)
	lvsWaitLog(t, lvs, "Adding sorry server [10.213.0.5]:tcp:80 to VS [10.213.9.100]:tcp:80", time.Second)
	if c := lvsCount(lvsLines(l.run("client", probe, "get", url, "3"))); c["web3"] != 3 {
		t.Fatalf("all real servers down: the sorry server answers: %v", c)
	}

	l.web("web2")
	lvsWaitLog(t, lvs, "Gained quorum 1+0=1 <= 1 for VS [10.213.9.100]:tcp:80", 10*time.Second)
	lvsWaitLog(t, lvs, "Removing sorry server [10.213.0.5]:tcp:80 from VS [10.213.9.100]:tcp:80", time.Second)
	if c := lvsCount(lvsLines(l.run("client", probe, "get", url, "3"))); c["web2"] != 3 {
		t.Fatalf("quorum back: web2 answers: %v", c)
	}

	// A second instance on the same socket is refused before it touches
	// the running one's table.
	second := exec.Command("ip", "netns", "exec", l.prefix+"-lb1", bin, "lvs", "run", "-S", sock, l.writeFile("again.conf", natConf))
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another running dhproxy") {
		t.Fatalf("second instance: %v\n%s", err, out)
	}
	if c := lvsCount(lvsLines(l.run("client", probe, "get", url, "2"))); c["web2"] != 2 {
		t.Fatalf("the first instance's table must be intact: %v", c)
	}

	lvsStopTerm(t, lvs)
	if tables := l.run("lb1", "nft", "list", "tables"); strings.Contains(tables, "dhproxy_lvs") {
		t.Fatalf("table left after SIGTERM: %s", tables)
	}
}

// TestLVSNATPersistenceGranularity: with persistence_timeout and
// persistence_granularity 255.255.255.0, every client of one /24 sticks
// to the real server the first one got; lvs list shows the flags.
func TestLVSNATPersistenceGranularity(t *testing.T) {
	l := natLab(t)
	l.web("web1")
	l.web("web2")
	l.sh("client", "ip addr add 10.213.9.2/24 dev eth0 && ip addr add 10.213.9.3/24 dev eth0")
	conf := strings.Replace(natConf, "    protocol TCP\n", "    protocol TCP\n    persistence_timeout 50\n    persistence_granularity 255.255.255.0\n", 1)
	lvs, sock := l.startLVS("lb1", conf, "-datapath", "nftables")
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, lvs, "HTTP status code success to [10.213.0.4]:tcp:80 url(/)", 10*time.Second)
	var got []string
	for _, src := range []string{"10.213.9.1", "10.213.9.2", "10.213.9.3", "10.213.9.2", "10.213.9.1"} {
		got = append(got, strings.TrimSpace(l.run("client", "curl", "-s", "-m", "3", "--interface", src, "http://10.213.9.100/")))
	}
	if c := lvsCount(got); len(c) != 1 || (c["web1"] != 5 && c["web2"] != 5) {
		t.Fatalf("one /24, one real server: %v", got)
	}
	if list := l.run("lb1", bin, "lvs", "list", "-S", sock); !strings.Contains(list, "TCP  10.213.9.100:80 rr persistent 50 mask 255.255.255.0\n") {
		t.Errorf("list:\n%s", list)
	}
	if set := l.run("lb1", "nft", "list", "set", "ip", "dhproxy_lvs", "vs0_bind"); !strings.Contains(set, "10.213.9.0 . 10.213.0.") {
		t.Errorf("the binding is keyed by the masked client address:\n%s", set)
	}
}

// TestLVSNATUDP: a UDP virtual server through nftables DNAT, rr per
// client socket (conntrack keeps each socket's flow on its real server);
// the table comes back after `nft flush ruleset`.
func TestLVSNATUDP(t *testing.T) {
	l := natLab(t)
	l.web("web1")
	l.web("web2")
	lvs, sock := l.startLVS("lb1", `
virtual_server 10.213.9.100 53 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol UDP
    real_server 10.213.0.3 53 {
        TCP_CHECK {
            connect_port 80
            connect_timeout 1
        }
    }
    real_server 10.213.0.4 53 {
        TCP_CHECK {
            connect_port 80
            connect_timeout 1
        }
    }
}
`, "-datapath", "nftables")
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:udp:80 success.", 10*time.Second)
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.4]:udp:80 success.", 10*time.Second)
	got := lvsLines(l.run("client", lvsProbe(t), "udp", "10.213.9.100:53", "4"))
	if c := lvsCount(got); c["web1"] != 2 || c["web2"] != 2 || got[0] == got[1] {
		t.Fatalf("UDP rr over web1, web2: %v", got)
	}
	if list := l.run("lb1", bin, "lvs", "list", "-S", sock); !strings.Contains(list, "UDP  10.213.9.100:53 rr\n") ||
		!strings.Contains(list, "  -> 10.213.0.3:53                Masq    1      0          2 ") {
		t.Errorf("list:\n%s", list)
	}

	// A firewall reload flushes the whole ruleset: dhproxy puts its table back.
	l.sh("lb1", "nft flush ruleset")
	lvsWaitLog(t, lvs, "nftables table ip dhproxy_lvs was removed by someone else; reprogramming the nftables datapath", 10*time.Second)
	if c := lvsCount(lvsLines(l.run("client", lvsProbe(t), "udp", "10.213.9.100:53", "2"))); c["web1"] != 1 || c["web2"] != 1 {
		t.Fatalf("after the flush: %v", c)
	}
}
