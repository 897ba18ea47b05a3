package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLVSDRLeastConnection: lc and wlc with lb_kind DR follow IPVS'
// choice from the connections the director counts from the client's
// packets (SYN inactive, the handshake's ACK active, FIN inactive), as
// IPVS counts DR. Held connections are opened one after another, each
// counted before the next; after some are closed the next ones go where
// IPVS sends them. The round robin used before fails both second halves
// (and wlc's first), and its lvs list showed every flow as active.
func TestLVSDRLeastConnection(t *testing.T) {
	for _, c := range leastConnCases {
		t.Run(c.algo, func(t *testing.T) {
			l := drLab(t)
			l.web("web1")
			l.web("web2")
			conf := strings.NewReplacer("10.213.9.100", "10.213.0.100", "lb_kind NAT", "lb_kind DR").Replace(schedConf(c.algo, c.w1, c.w2))
			lvs, sock := l.startLVS("lb1", conf, "-datapath", "nftables")
			lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
			lvsWaitLog(t, lvs, "TCP connection to [10.213.0.4]:tcp:80 success.", 10*time.Second)
			if strings.Contains(lvs.Stderr(), "round robin") {
				t.Fatalf("%s must not be approximated on DR:\n%s", c.algo, lvs.Stderr())
			}
			c.check(t, l, sock, "10.213.0.100:80")

			// Data packets are not logged: a 1 MiB download (hundreds of
			// client ACKs) logs a handful of packets.
			before := loggedPackets(t, l)
			if out := strings.TrimSpace(l.run("client", lvsProbe(t), "get", "http://10.213.0.100/big", "1")); out != "1048576 bytes" {
				t.Fatalf("big download: %q", out)
			}
			n := loggedPackets(t, l) - before
			if n < 3 || n > 8 {
				t.Fatalf("a 1 MiB download logged %d packets; want SYN, first ACK, FIN (and a few retransmits), not the data", n)
			}
			t.Logf("a 1 MiB download logged %d packets", n)
			lvsStopTerm(t, lvs)
			sawSummary := false
			for _, line := range strings.Split(lvs.Stderr(), "\n") {
				if strings.Contains(line, "connection-count scheduling") {
					t.Log(line)
					sawSummary = true
				}
			}
			if !sawSummary {
				t.Errorf("no connection-count scheduling summary on exit:\n%s", lvs.Stderr())
			}
		})
	}
}

// TestLVSDRLeastConnectionIPv6: the same counting for an IPv6 DR service
// (the logged packets and the flow set carry IPv6 addresses).
func TestLVSDRLeastConnectionIPv6(t *testing.T) {
	l := newLVSLab(t, "client", "lb1", "web1", "web2")
	l.sh("lb1", "ip -6 addr add fd00:213::254/64 dev eth0 nodad && ip -6 addr add fd00:213::100/128 dev eth0 nodad preferred_lft 0")
	l.sh("client", "ip -6 addr add fd00:213::1/64 dev eth0 nodad")
	l.sh("web1", "ip -6 addr add fd00:213::3/64 dev eth0 nodad && ip -6 addr add fd00:213::100/128 dev lo nodad")
	l.sh("web2", "ip -6 addr add fd00:213::4/64 dev eth0 nodad && ip -6 addr add fd00:213::100/128 dev lo nodad")
	l.web("web1")
	l.web("web2")
	conf := strings.NewReplacer("fd00:213:9::100", "fd00:213::100", "lb_kind NAT", "lb_kind DR", "lb_algo rr", "lb_algo lc").
		Replace(natConf6[:strings.Index(natConf6, "virtual_server fd00:213:9::101")])
	lvs, sock := l.startLVS("lb1", conf, "-datapath", "nftables")
	lvsWaitLog(t, lvs, "TCP connection to [fd00:213::3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, lvs, "TCP connection to [fd00:213::4]:tcp:80 success.", 10*time.Second)
	addr := map[string]string{"web1": "[fd00:213::3]:80", "web2": "[fd00:213::4]:80"}
	count := map[string][2]int{addr["web1"]: {}, addr["web2"]: {}}
	h := l.holdClient(t, "client", "[fd00:213::100]:80")
	var got strings.Builder
	open := func(n int) {
		for range n {
			name := h.do("open")
			got.WriteString(strings.TrimPrefix(name, "web"))
			v := count[addr[name]]
			v[0]++
			count[addr[name]] = v
			waitConns(t, l, sock, count)
		}
	}
	open(4)
	h.do("close web1 2")
	count[addr["web1"]] = [2]int{0, 2}
	waitConns(t, l, sock, count)
	open(2)
	if got.String() != "121211" {
		t.Fatalf("lc over IPv6 DR: held connections went to %s, IPVS sends them to 1212 then, after closing 2 on web1, 11", got.String())
	}
	lvsStopTerm(t, lvs)
}

// loggedPackets sums the counters of the DR chains' log rules.
func loggedPackets(t *testing.T, l *lab) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(l.run("lb1", "nft", "list", "table", "netdev", "dhproxy_lvs"), "\n") {
		f := strings.Fields(line)
		for i := 0; i+2 < len(f); i++ {
			if f[i] == "counter" && f[i+1] == "packets" && strings.Contains(line, " log ") {
				v, err := strconv.Atoi(f[i+2])
				if err != nil {
					t.Fatalf("nft counter in %q: %v", line, err)
				}
				n += v
			}
		}
	}
	return n
}
