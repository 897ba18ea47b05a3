package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vipService is one virtual_server block of the tests with several
// services on one address: web1 and web2 (10.213.0.3, .4, or the IPv6
// addresses in reals) as real servers on the service's port, rr.
type vipService struct {
	kind    string // lb_kind
	proto   string // TCP or UDP
	port    int
	persist bool      // persistence_timeout 50
	mark    uint32    // a fwmark service, for the packets lb1 marks
	reals   [2]string // web1's and web2's addresses when not 10.213.0.3, .4
}

// real is the address of web1 (i 0) or web2 (i 1) on the service's port.
func (s vipService) real(i int) string {
	a := [2]string{"10.213.0.3", "10.213.0.4"}[i]
	if s.reals[i] != "" {
		a = s.reals[i]
	}
	return netip.AddrPortFrom(netip.MustParseAddr(a), uint16(s.port)).String()
}

// vipPort is vip:port, IPv6 in brackets.
func vipPort(vip string, port int) string {
	return netip.AddrPortFrom(netip.MustParseAddr(vip), uint16(port)).String()
}

func (s vipService) conf(vip string) string {
	extra := ""
	if s.persist {
		extra = "    persistence_timeout 50\n"
	}
	target := fmt.Sprintf("%s %d", vip, s.port)
	if s.mark != 0 {
		target = fmt.Sprintf("fwmark %d", s.mark)
	}
	return fmt.Sprintf(`
virtual_server %[1]s {
    lb_algo rr
    lb_kind %[3]s
    protocol %[4]s
%[5]s    real_server %[6]s %[2]d {
        weight 1
    }
    real_server %[7]s %[2]d {
        weight 1
    }
}
`, target, s.port, s.kind, s.proto, extra, netip.MustParseAddrPort(s.real(0)).Addr(), netip.MustParseAddrPort(s.real(1)).Addr())
}

// listLines is what `dhproxy lvs list` must show for the service, as
// parseList gives it.
func (s vipService) listLines(vip string) []string {
	head := fmt.Sprintf("%s %s rr", s.proto, vipPort(vip, s.port))
	if s.mark != 0 {
		head = fmt.Sprintf("FWM %d rr", s.mark)
	}
	if s.persist {
		head += " persistent 50"
	}
	fwd := map[string]string{"DR": "Route", "NAT": "Masq", "TUN": "Tunnel"}[s.kind]
	return []string{head,
		fmt.Sprintf("-> %s %s 1", s.real(0), fwd),
		fmt.Sprintf("-> %s %s 1", s.real(1), fwd)}
}

// parseList reads `dhproxy lvs list`: its service and destination lines
// in order, words single-spaced, without the connection counts; and each
// destination's connections (active + inactive) under "service line
// destination".
func parseList(list string) (lines []string, conns map[string]int) {
	conns = map[string]int{}
	head := ""
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && (f[0] == "TCP" || f[0] == "UDP" || f[0] == "FWM"):
			head = strings.Join(f, " ")
			lines = append(lines, head)
		case len(f) == 6 && f[0] == "->" && f[1] != "RemoteAddress:Port":
			lines = append(lines, strings.Join(f[:4], " "))
			active, _ := strconv.Atoi(f[4])
			inactive, _ := strconv.Atoi(f[5])
			conns[head+" "+f[1]] = active + inactive
		}
	}
	return lines, conns
}

// vipWebs starts on web1 and web2 a server per port answering "webN:port"
// (HTTP and UDP echo), bound to addr (0.0.0.0, or the VIP so that UDP
// replies leave from it).
func (l *lab) vipWebs(addr string, ports ...int) {
	l.t.Helper()
	for _, w := range []string{"web1", "web2"} {
		for _, p := range ports {
			port := strconv.Itoa(p)
			srv := l.start(w, lvsProbe(l.t), "serve", w+":"+port, net.JoinHostPort(addr, port))
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(l.sh(w, "ss -Hltn sport = :"+port), ":"+port) {
				if time.Now().After(deadline) || srv.exited() {
					l.t.Fatalf("%s not listening on %s: %s", w, port, srv.Stderr())
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}

// checkVIPServices runs svcs on vip in lb1 with `dhproxy lvs run` and
// checks that each one is forwarded (rr alternates over web1 and web2 on
// the service's port; persistence keeps the client on one) and that
// `lvs list` shows exactly them.
func (l *lab) checkVIPServices(vip string, svcs []vipService) {
	l.t.Helper()
	l.checkVIPServicesRun(vip, svcs, func(conf string) (*proc, string) {
		return l.startLVS("lb1", conf, "-datapath", "nftables")
	})
}

// keepalivedK runs conf with `dhproxy -K` (default datapath) in lb1 beside
// a vrrp_instance holding vip on eth0, as an operator's keepalived.conf
// does, and waits until lb1 holds the VIP.
func (l *lab) keepalivedK(vip string) func(conf string) (*proc, string) {
	return func(conf string) (*proc, string) {
		l.t.Helper()
		sock := filepath.Join(l.dir, "k.sock")
		vrrp := `
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        ` + vip + `/32 dev eth0
    }
}
`
		p := l.start("lb1", "env", "DHPROXY_LVS_SOCKET="+sock, bin, "-K", l.writeFile("keepalived.conf", vrrp+conf))
		l.waitHolder(vip, "lb1", []string{"lb1"}, 10*time.Second, p)
		return p, sock
	}
}

func (l *lab) checkVIPServicesRun(vip string, svcs []vipService, run func(conf string) (*proc, string)) {
	l.t.Helper()
	var conf strings.Builder
	var want []string
	for _, s := range svcs {
		conf.WriteString(s.conf(vip))
		want = append(want, s.listLines(vip)...)
	}
	lvs, sock := run(conf.String())
	probe := lvsProbe(l.t)
	answered := map[vipService]map[string]int{}
	for _, s := range svcs {
		port := strconv.Itoa(s.port)
		var got []string
		if s.proto == "UDP" {
			got = lvsLines(l.run("client", probe, "udp", vipPort(vip, s.port), "4"))
		} else {
			got = lvsLines(l.run("client", probe, "get", "http://"+vipPort(vip, s.port)+"/", "4"))
		}
		c := lvsCount(got)
		answered[s] = c
		one, two := "web1:"+port, "web2:"+port
		switch {
		case s.persist:
			if c[one] != 4 && c[two] != 4 {
				l.t.Errorf("%s %s %s, persistent: want one real server for all 4, got %v", s.kind, s.proto, vipPort(vip, s.port), got)
			}
		case c[one] != 2 || c[two] != 2 || got[0] == got[1]:
			l.t.Errorf("%s %s %s: want rr over %s and %s, got %v", s.kind, s.proto, vipPort(vip, s.port), one, two, got)
		}
	}
	list := l.run("lb1", bin, "lvs", "list", "-S", sock)
	lines, conns := parseList(list)
	if !slices.Equal(lines, want) {
		l.t.Errorf("lvs list shows\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// Its counts show connections on the real servers that answered,
	// and on them only.
	for s, got := range answered {
		for i, rs := range []string{"web1", "web2"} {
			key := s.listLines(vip)[0] + " " + s.real(i)
			if n := got[rs+":"+strconv.Itoa(s.port)]; (n > 0) != (conns[key] > 0) {
				l.t.Errorf("%s: %d answers from %s, %d connections listed", key, n, rs, conns[key])
			}
		}
	}
	if l.t.Failed() {
		l.t.Logf("lvs list:\n%s", list)
	}
	if l.t.Failed() {
		ruleset, _ := l.output("lb1", "nft", "list", "ruleset")
		l.t.Fatalf("ruleset of lb1:\n%s\nlog:\n%s", ruleset, lvs.Stderr())
	}
	l.lvsStopClean(lvs, "lb1")
}

// vipPorts are the services on one VIP: port 81 persistent, as in the
// report of a second DR service disabling the first.
func vipPorts(kind string, n int) []vipService {
	var out []vipService
	for i := range n {
		out = append(out, vipService{kind: kind, proto: "TCP", port: 80 + i, persist: i == 1})
	}
	return out
}

// TestLVSServicesOnOneVIP: two, then three virtual servers on one VIP,
// per lb_kind, each forwarded to its port's real servers; then TCP and UDP
// on one port (DR), the reported `dhproxy -K` setup, IPv6 DR with a fwmark
// service, and DR, NAT, TUN and fwmark services on one address side by
// side. `lvs list` must show each service and its connections where they
// went.
func TestLVSServicesOnOneVIP(t *testing.T) {
	if isHAProxy() {
		t.Skip("lvs run is dhproxy's")
	}
	for _, kind := range []string{"DR", "NAT", "TUN"} {
		t.Run(kind, func(t *testing.T) {
			var l *lab
			vip := "10.213.0.100"
			switch kind {
			case "DR":
				l = newLVSLab(t, "client", "lb1", "web1", "web2")
				l.sh("lb1", "ip addr add "+vip+"/32 dev eth0")
				for _, w := range []string{"web1", "web2"} {
					l.sh(w, "ip addr add "+vip+"/32 dev lo &&"+
						" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2"+
						" net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2")
				}
			case "NAT":
				l, vip = natLab(t), "10.213.9.100"
			case "TUN":
				l = newLVSLab(t, "client", "lb1", "web1", "web2")
				l.sh("lb1", "ip addr add "+vip+"/32 dev eth0")
				for _, w := range []string{"web1", "web2"} {
					tunRealServer(l, w, vip)
				}
			}
			l.vipWebs("0.0.0.0", 80, 81, 82)
			for _, n := range []int{2, 3} {
				l.checkVIPServices(vip, vipPorts(kind, n))
			}
			if kind == "DR" {
				// TCP and UDP on one port: replies from the VIP itself.
				l.vipWebs(vip, 5353)
				l.checkVIPServices(vip, []vipService{
					{kind: "DR", proto: "TCP", port: 5353},
					{kind: "DR", proto: "UDP", port: 5353},
					{kind: "DR", proto: "TCP", port: 80},
				})
				// As reported: `dhproxy -K keepalived.conf`, the VIP held
				// by a vrrp_instance.
				l.sh("lb1", "ip addr del "+vip+"/32 dev eth0")
				l.checkVIPServicesRun(vip, vipPorts(kind, 2), l.keepalivedK(vip))
			}
		})
	}
	t.Run("DR IPv6", func(t *testing.T) {
		// TestLVSDRIPv6's lab: the VIP deprecated on lb1, so that lb1's
		// own connections do not take it as source.
		l := newLVSLab(t, "client", "lb1", "web1", "web2")
		vip := "fd00:213::100"
		l.sh("lb1", "ip -6 addr add fd00:213::254/64 dev eth0 nodad && ip -6 addr add "+vip+"/128 dev eth0 nodad preferred_lft 0")
		l.sh("client", "ip -6 addr add fd00:213::1/64 dev eth0 nodad")
		l.sh("web1", "ip -6 addr add fd00:213::3/64 dev eth0 nodad && ip -6 addr add "+vip+"/128 dev lo nodad")
		l.sh("web2", "ip -6 addr add fd00:213::4/64 dev eth0 nodad && ip -6 addr add "+vip+"/128 dev lo nodad")
		l.sh("lb1", `nft 'add table ip6 marks; add chain ip6 marks pre { type filter hook prerouting priority mangle; };`+
			` add rule ip6 marks pre ip6 daddr `+vip+` tcp dport 82 meta mark set 3'`)
		l.vipWebs("::", 80, 81, 82)
		reals := [2]string{"fd00:213::3", "fd00:213::4"}
		l.checkVIPServices(vip, []vipService{
			{kind: "DR", proto: "TCP", port: 80, reals: reals},
			{kind: "DR", proto: "TCP", port: 81, persist: true, reals: reals},
			{kind: "DR", proto: "TCP", port: 82, mark: 3, reals: reals},
		})
	})
	t.Run("mixed", func(t *testing.T) {
		// The NAT lab (client on 10.213.9.0/24 routed through lb1); the
		// real servers also hold the VIP (tunl0, arp_ignore) for DR and
		// TUN, and send what comes from the VIP straight to the client.
		l := natLab(t)
		vip := "10.213.9.100"
		for _, w := range []string{"web1", "web2"} {
			tunRealServer(l, w, vip)
			l.sh(w, "ip rule add from "+vip+" table 100 && ip route add 10.213.9.0/24 dev eth0 table 100")
		}
		// fwmark services beside them, NAT and DR: lb1 marks ports 84
		// and 85 in prerouting at mangle priority, as iptables -t mangle
		// does.
		l.sh("lb1", `nft 'add table ip marks; add chain ip marks pre { type filter hook prerouting priority mangle; };`+
			` add rule ip marks pre ip daddr `+vip+` tcp dport 84 meta mark set 1;`+
			` add rule ip marks pre ip daddr `+vip+` tcp dport 85 meta mark set 2'`)
		l.vipWebs("0.0.0.0", 80, 81, 82, 83, 84, 85)
		l.checkVIPServices(vip, []vipService{
			{kind: "DR", proto: "TCP", port: 80},
			{kind: "NAT", proto: "TCP", port: 81},
			{kind: "TUN", proto: "TCP", port: 82, persist: true},
			{kind: "DR", proto: "TCP", port: 83},
			{kind: "NAT", proto: "TCP", port: 84, mark: 1},
			{kind: "DR", proto: "TCP", port: 85, mark: 2},
		})
	})
}
