package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// natLab6 builds LVS-NAT over IPv6: the client on fd00:213:9::/64, the
// director lb1 routing between it and the real servers on fd00:213::/64,
// which use lb1 as their default gateway. The VIPs fd00:213:9::100 and
// ::101 are on lb1.
func natLab6(t *testing.T) *lab {
	l := newLVSLab(t, "client", "lb1", "web1", "web2")
	l.sh("lb1", "sysctl -qw net.ipv6.conf.all.forwarding=1 &&"+
		" ip -6 addr add fd00:213::254/64 dev eth0 nodad && ip -6 addr add fd00:213:9::254/64 dev eth0 nodad &&"+
		" ip -6 addr add fd00:213:9::100/128 dev eth0 nodad && ip -6 addr add fd00:213:9::101/128 dev eth0 nodad")
	// lb1 routes back out of the interface it received on: the client
	// and the real servers must not follow its ICMPv6 redirects (there is
	// no send_redirects switch for IPv6 on the router), or replies would
	// bypass the NAT.
	for _, h := range []string{"client", "web1", "web2"} {
		l.sh(h, "sysctl -qw net.ipv6.conf.all.accept_redirects=0 net.ipv6.conf.eth0.accept_redirects=0")
	}
	l.sh("client", "ip -6 addr add fd00:213:9::1/64 dev eth0 nodad && ip -6 route add default via fd00:213:9::254")
	l.sh("web1", "ip -6 addr add fd00:213::3/64 dev eth0 nodad && ip -6 route add default via fd00:213::254")
	l.sh("web2", "ip -6 addr add fd00:213::4/64 dev eth0 nodad && ip -6 route add default via fd00:213::254")
	return l
}

const natConf6 = `
virtual_server fd00:213:9::100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server fd00:213::3 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server fd00:213::4 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server fd00:213:9::101 80 {
    delay_loop 1
    lb_algo lc
    lb_kind NAT
    protocol TCP
    real_server fd00:213::3 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server fd00:213::4 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`

// TestLVSNATIPv6: IPv6 virtual servers on the nftables datapath (table ip6
// dhproxy_lvs): rr alternates, lc is counted from IPv6 conntrack entries
// (lvs list shows the closed connections as InActConn), and the table
// goes on SIGTERM.
func TestLVSNATIPv6(t *testing.T) {
	l := natLab6(t)
	l.web("web1")
	l.web("web2")
	lvs, sock := l.startLVS("lb1", natConf6, "-datapath", "nftables")
	lvsWaitLog(t, lvs, "TCP connection to [fd00:213::3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, lvs, "TCP connection to [fd00:213::4]:tcp:80 success.", 10*time.Second)
	probe := lvsProbe(t)

	got := lvsLines(l.run("client", probe, "get", "http://[fd00:213:9::100]/", "6"))
	if c := lvsCount(got); c["web1"] != 3 || c["web2"] != 3 {
		t.Fatalf("rr over web1, web2 via IPv6: %v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("rr must alternate: %v", got)
		}
	}
	// lc: each closed connection lingers in TIME_WAIT (InActConn 1), so
	// requests alternate, each sent once the director counted the last.
	var lc []string
	for i := range 4 {
		lc = append(lc, lvsLines(l.run("client", probe, "get", "http://[fd00:213:9::101]/", "1"))...)
		lcInactive(t, l, sock, i+1)
	}
	if strings.Join(lc, " ") != "web1 web2 web1 web2" {
		t.Fatalf("lc via IPv6: %v", lc)
	}
	if tables := l.run("lb1", "nft", "list", "tables"); !strings.Contains(tables, "table ip6 dhproxy_lvs") {
		t.Fatalf("no ip6 table: %s", tables)
	}
	l.lvsStopClean(lvs, "lb1")
}

// lcInactive waits until `lvs list` shows want InActConn in total for the
// lc service.
func lcInactive(t *testing.T, l *lab, sock string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		list := l.run("lb1", bin, "lvs", "list", "-S", sock)
		total, section := 0, ""
		for _, line := range lvsLines(list) {
			f := strings.Fields(line)
			if len(f) >= 3 && f[0] == "TCP" {
				section = f[2]
			}
			if section == "lc" && len(f) == 6 && f[0] == "->" {
				n, _ := strconv.Atoi(f[5])
				total += n
			}
		}
		if total == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lc service: want InActConn %d in total:\n%s", want, list)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLVSDRIPv6: direct routing of an IPv6 VIP through the director's
// netdev ingress: the real servers hold the VIP on loopback (Linux answers
// neighbour solicitations only for addresses of the asking interface, so
// lb1 alone answers for it), rr alternates, and the replies bypass lb1.
func TestLVSDRIPv6(t *testing.T) {
	l := newLVSLab(t, "client", "lb1", "web1", "web2")
	// The VIP is deprecated (preferred_lft 0) on lb1 so that lb1's own
	// connections (checks, neighbour probes) do not take it as source: the
	// real servers would answer themselves.
	l.sh("lb1", "ip -6 addr add fd00:213::254/64 dev eth0 nodad && ip -6 addr add fd00:213::100/128 dev eth0 nodad preferred_lft 0")
	l.sh("client", "ip -6 addr add fd00:213::1/64 dev eth0 nodad")
	l.sh("web1", "ip -6 addr add fd00:213::3/64 dev eth0 nodad && ip -6 addr add fd00:213::100/128 dev lo nodad")
	l.sh("web2", "ip -6 addr add fd00:213::4/64 dev eth0 nodad && ip -6 addr add fd00:213::100/128 dev lo nodad")
	l.web("web1")
	l.web("web2")
	lvs, _ := l.startLVS("lb1", strings.NewReplacer("fd00:213:9::100", "fd00:213::100", "lb_kind NAT", "lb_kind DR").Replace(natConf6[:strings.Index(natConf6, "virtual_server fd00:213:9::101")]), "-datapath", "nftables")
	lvsWaitLog(t, lvs, "TCP connection to [fd00:213::3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, lvs, "TCP connection to [fd00:213::4]:tcp:80 success.", 10*time.Second)
	before := txBytes(t, l, "lb1")
	got := lvsLines(l.run("client", lvsProbe(t), "get", "http://[fd00:213::100]/big", "4"))
	if strings.Join(got, " ") != "1048576 bytes 1048576 bytes 1048576 bytes 1048576 bytes" {
		t.Fatalf("DR over IPv6, 1 MiB each: %v", got)
	}
	if sent := txBytes(t, l, "lb1") - before; sent > 1<<20 {
		t.Fatalf("lb1 sent %d bytes for 4 MiB of replies: they must go straight to the client", sent)
	}
	names := lvsLines(l.run("client", lvsProbe(t), "get", "http://[fd00:213::100]/", "4"))
	if strings.Join(names, " ") != "web1 web2 web1 web2" && strings.Join(names, " ") != "web2 web1 web2 web1" {
		t.Fatalf("rr over DR via IPv6: %v", names)
	}
	if tables := l.run("lb1", "nft", "list", "table", "netdev", "dhproxy_lvs"); !strings.Contains(tables, "ip6 daddr fd00:213::100 tcp dport 80") {
		t.Errorf("the ingress chain must match IPv6 frames:\n%s", tables)
	}
	lvsStopTerm(t, lvs)
}
