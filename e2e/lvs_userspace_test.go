package e2e

import (
	"strings"
	"testing"
	"time"
)

const userspaceConf = `
virtual_server 10.213.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.213.0.3 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.213.0.4 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server 10.213.0.100 53 {
    delay_loop 1
    lb_algo rr
    protocol UDP
    real_server 10.213.0.3 53 {
        TCP_CHECK {
            connect_port 80
            connect_timeout 1
        }
    }
    real_server 10.213.0.4 53 {
        MISC_CHECK {
            misc_path "/bin/true"
        }
    }
}
`

// TestLVSUserspace: the fallback datapath proxies TCP and UDP with the
// same checks and scheduler, selected explicitly.
func TestLVSUserspace(t *testing.T) {
	l := newLVSLab(t, "client", "lb1", "web1", "web2")
	l.sh("lb1", "ip addr add 10.213.0.100/32 dev eth0")
	web1 := l.web("web1")
	l.web("web2")
	lvs, sock := l.startLVS("lb1", userspaceConf, "-datapath", "userspace")
	lvsWaitLog(t, lvs, "virtual servers: userspace datapath selected", time.Second)
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, lvs, "Misc check to [10.213.0.4] for [/bin/true] succeeded.", 10*time.Second)
	probe := lvsProbe(t)

	got := lvsLines(l.run("client", probe, "get", "http://10.213.0.100/", "4"))
	if c := lvsCount(got); c["web1"] != 2 || c["web2"] != 2 || got[0] == got[1] {
		t.Fatalf("TCP rr over web1, web2: %v", got)
	}
	got = lvsLines(l.run("client", probe, "udp", "10.213.0.100:53", "4"))
	if c := lvsCount(got); c["web1"] != 2 || c["web2"] != 2 || got[0] == got[1] {
		t.Fatalf("UDP rr over web1, web2: %v", got)
	}
	l.wantList("lb1", sock, "datapath=userspace", "TCP  10.213.0.100:80 rr\n", "UDP  10.213.0.100:53 rr\n", "  -> 10.213.0.4:53                Masq    1      0          2")

	web1.stop()
	lvsWaitLog(t, lvs, "Removing service [10.213.0.3]:udp:53 from VS [10.213.0.100]:udp:53", 10*time.Second)
	lvsWaitLog(t, lvs, "Removing service [10.213.0.3]:tcp:80 from VS [10.213.0.100]:tcp:80", 10*time.Second)
	if c := lvsCount(lvsLines(l.run("client", probe, "udp", "10.213.0.100:53", "3"))); c["web2"] != 3 {
		t.Fatalf("UDP with web1 down: %v", c)
	}
	if c := lvsCount(lvsLines(l.run("client", probe, "get", "http://10.213.0.100/", "3"))); c["web2"] != 3 {
		t.Fatalf("TCP with web1 down: %v", c)
	}
	lvsStopTerm(t, lvs)
}

// TestLVSAutoFallback: a service nftables cannot carry (an IPv6 VIP in
// front of an IPv4 real server here) makes
// the default datapath fall back to userspace, saying why.
func TestLVSAutoFallback(t *testing.T) {
	l := newLVSLab(t, "lb1")
	l.start("lb1", lvsProbe(t), "serve", "six", "127.0.0.1:8081")
	lvs, sock := l.startLVS("lb1", `
virtual_server ::1 8080 {
    delay_loop 1
    lb_algo wlc
    real_server 127.0.0.1 8081 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`)
	lvsWaitLog(t, lvs, "virtual servers: nftables datapath not usable (VS [::1]:tcp:8080: real server [127.0.0.1]:tcp:8081 is not of the virtual server's address family); using the userspace datapath", time.Second)
	lvsWaitLog(t, lvs, "TCP connection to [127.0.0.1]:tcp:8081 success.", 10*time.Second)
	if got := strings.TrimSpace(l.run("lb1", lvsProbe(t), "get", "http://[::1]:8080/", "1")); got != "six" {
		t.Fatalf("through the userspace fallback: %q", got)
	}
	if tables := l.run("lb1", "nft", "list", "tables"); strings.Contains(tables, "dhproxy_lvs") {
		t.Fatalf("no table expected: %s", tables)
	}
	if list := l.run("lb1", bin, "lvs", "list", "-S", sock); !strings.Contains(list, "TCP  [::1]:8080 wlc\n") {
		t.Errorf("list:\n%s", list)
	}
}
