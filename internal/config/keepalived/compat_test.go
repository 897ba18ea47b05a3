package keepalived

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"dhproxy/internal/config"
	"dhproxy/internal/netnstest"
)

// compatBase is a configuration keepalived 2.2.7 takes without a message;
// each case adds one line to one of its blocks.
const compatBase = `%[top]global_defs {
  router_id r1
%[global]}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.9.9.9/24
  }
%[inst]}
virtual_server 10.9.9.10 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
%[vs]  real_server 10.9.9.11 80 {
    weight 1
%[rs]    TCP_CHECK {
      connect_timeout 3
%[chk]    }
  }
}
`

// compatCases: what "keepalived -t" says about one added line. fails is
// its verdict (exit 5: a configuration error it reports and then runs
// through); checked against keepalived 2.2.7 by TestKeepalivedCompat.
var compatCases = []struct {
	block, line string
	fails       bool
}{
	{"inst", "nopreempt 1", false},
	{"inst", "priority 300", true},
	{"inst", "advert_int 0", true},
	{"inst", "garp_master_delay 300", false},
	{"inst", "garp_master_delay 5000", true},
	{"inst", "garp_master_delay 1.5", true},
	{"inst", "mcast_src_ip 10.9.9.1", false},
	{"inst", "mcast_src_ip 10.9.9", true},
	{"inst", "unicast_ttl 64", true},
	{"inst", "unicast_ttl 64\n  unicast_peer {\n    10.9.9.3\n  }", false},
	{"inst", "unicast_ttl 256", true},
	{"inst", "unicast_peer {\n    10.9.9.3 min_ttl 60 max_ttl 64\n  }", false},
	{"inst", "unicast_peer {\n    10.9.9.3 min_ttl 9 max_ttl 5\n  }", true},
	{"inst", "unicast_peer {\n    10.9.9.300\n  }", true},
	{"inst", "use_vmac", false},
	{"inst", "use_vmac vm1 02:00:00:00:01", false},
	{"inst", "use_vmac vm1 vm2", true},
	{"inst", "use_vmac vm1 zz:zz", true},
	{"inst", "use_vmac vm1 00:00:5e:00:01", true},
	{"inst", "vmac_xmit_base", true},
	{"inst", "nopreempt", false},
	{"inst", "preempt_delay 10 extra", false},
	{"inst", "garp_master_delay 5 extra", false},
	{"inst", "dont_track_primary yes", false},
	{"inst", "smtp_alert extra", true},
	{"inst", "smtp_alert on", false},
	{"inst", "unicast_src_ip 10.9.9.1", true},
	{"inst", "track_script {\n    nosuch\n  }", true},
	{"inst", "vrrp_version 3", true},
	{"inst", "no_such_keyword 1", true},
	{"inst", "virtual_routes {\n    10.9.8.0/24 via 10.9.9.254 dev eth0\n  }", false},
	{"inst", "virtual_routes {\n    src 10.9.9.9 to 10.9.8.0/24 via 10.9.9.254 dev eth0 table 100 metric 5 onlink\n  }", false},
	{"inst", "virtual_routes {\n    10.9.8.0/24 dev eth0 scope link table main no_track\n    10.9.7.1 dev eth0 append\n  }", false},
	{"inst", "virtual_routes {\n    blackhole 10.9.8.0/24\n  }", true},
	{"inst", "virtual_routes {\n    blackhole 10.9.8.0/24 no_track\n  }", false},
	{"inst", "virtual_routes {\n    0.0.0.0/0 gw 10.9.9.254 dev eth0 table 100\n  }", true},
	{"inst", "virtual_routes {\n    10.9.8.0/24 dev eth0 protocol static no_track\n  }", false},
	{"inst", "virtual_routes {\n    10.9.8.0/24 dev eth0 protocol static\n  }", true},
	{"inst", "virtual_routes {\n    0.0.0.0/0 gw 10.9.9.254 table 100\n  }", true},
	{"inst", "virtual_routes {\n    fd00:9::/64 dev eth0 metric 7\n  }", false},
	{"inst", "virtual_routes {\n    inet6 default via fd00:9::1 dev eth0 table 102\n  }", true},
	{"inst", "virtual_routes {\n    inet6 x default via fd00:9::1 dev eth0 table 102\n  }", true},
	{"inst", "virtual_routes {\n    ::/0 via fd00:9::1 dev eth0 table 102\n  }", false},
	{"inst", "virtual_routes {\n    10.9.8.0/24 dev eth0 proto static\n  }", true},
	{"inst", "virtual_routes {\n    10.9.8.0/24 dev eth0 metric x\n  }", true},
	{"inst", "virtual_routes {\n    10.9.8.0/33 dev eth0\n  }", true},
	{"inst", "virtual_routes {\n    10.9.8.0/24 dev eth0 table no-such-table\n  }", true},
	{"inst", "virtual_routes {\n    10.9.8.0/24 via 10.9.9\n  }", true},
	{"top", "static_routes {\n    10.9.8.0/24 via 10.9.9.254 dev eth0\n    blackhole 10.9.6.0/24 no_track\n  }", false},
	{"top", "static_routes {\n    blackhole 10.9.6.0/24\n  }", true},
	{"top", "static_routes {\n    10.9.8.0/24 dev eth0 protocol static\n  }", true},
	{"top", "static_ipaddress {\n    10.9.5.5/24 dev eth0 scope link\n  }", false},
	{"top", "static_routes {\n    10.9.8.0/24 dev eth0 bogus 1\n  }", true},
	{"inst", "virtual_rules {\n    from 10.9.8.0/24 table 100 preference 100\n  }", false},
	{"inst", "virtual_rules {\n    from 10.9.8.0/24 to 10.9.7.0/24 lookup main priority 101 no_track\n    not from all fwmark 0x5/0xff iif eth0 oif eth0 table 7 preference 102\n  }", false},
	{"inst", "virtual_rules {\n    from fd00:9::/64 goto 1000 preference 103\n    blackhole order 104\n  }", false},
	{"inst", "virtual_rules {\n    to 10.9.8.0/24 unreachable preference 105 protocol 4 no_track\n  }", false},
	{"inst", "virtual_rules {\n    to 10.9.8.0/24 unreachable preference 105 protocol 4\n  }", true},
	{"inst", "virtual_rules {\n    inet6 from all table 5 preference 1\n  }", true},
	{"inst", "virtual_rules {\n    inet6 x to fd00:9::/64 table 5 preference 1\n  }", false},
	{"inst", "virtual_rules {\n    from 10.9.8.0/24 table 100\n  }", true},
	{"inst", "virtual_rules {\n    from 10.9.8.0/24 table 100 pref 100\n  }", true},
	{"inst", "virtual_rules {\n    from 10.9.8.0/24 table 100 preference 100 protocol static\n  }", true},
	{"inst", "virtual_rules {\n    from 10.9.8.0/24 preference 100\n  }", true},
	{"inst", "virtual_rules {\n    from 10.9.8 table 100 preference 100\n  }", true},
	{"top", "static_rules {\n    from 10.9.8.0/24 table 100 preference 100\n  }", false},
	{"top", "static_rules {\n    from 10.9.8.0/24 table no-such-table preference 100\n  }", true},
	{"global", "router_id r1 extra", false},
	{"global", "vrrp_strict extra", false},
	{"global", "vrrp_skip_check_adv_addr off", false},
	{"global", "vrrp_garp_master_repeat 5 extra", false},
	{"global", "checker_log_all_failures extra", true},
	{"global", "lvs_id x", true},
	{"global", "script_user root root", false},
	{"global", "script_user root no-such-group-dhproxy", true},
	{"vs", "delay_loop 6 extra", false},
	{"vs", "alpha off", false},
	{"vs", "persistence_timeout 50 extra", false},
	{"vs", "sorry_server 10.9.9.12 80 extra", false},
	{"vs", "sorry_server_inhibit", true},
	{"vs", "lb_kind DR", false},
	{"vs", "lb_kind NAT extra", true},
	{"vs", "lb_kind nat", true},
	{"vs", "nat_mask 255.255.255.0", true},
	{"rs", "weight 2 extra", false},
	{"rs", "inhibit_on_failure extra", true},
	{"rs", "nb_get_retry 3", true},
	{"rs", "SMTP_CHECK { host { connect_ip 10.1.1.1 } }", false},
	{"rs", "SMTP_CHECK { host { nosuch 1 } }", true},
	{"chk", "host { connect_ip 10.1.1.1 }", true},
	{"chk", "connect_timeout 3 extra", false},
	{"chk", "connect_port 80 extra", false},
	{"chk", "log_all_failures extra", true},
	// Bad values: keepalived reports them and keeps the default.
	{"inst", "priority 300", true},
	{"inst", "state FOO", true},
	{"inst", "advert_int abc", true},
	{"inst", "garp_master_delay abc", true},
	{"global", "smtp_connect_timeout abc", true},
	{"global", "vrrp_version 4", true},
	{"vs", "delay_loop abc", true},
	{"vs", "lvs_sched foo", true},
	{"vs", "protocol FOO", true},
	{"vs", "quorum abc", true},
	{"rs", "retry abc", true},
	{"chk", "connect_timeout abc", true},
	{"chk", "connect_port 70000", true},
	{"chk", "connect_ip 1.2.3", true},
	{"chk", "bindto 1.2.3", true},
	{"chk", "bind_port 0", true},
}

func compatConfig(block, line string) string {
	r := strings.NewReplacer("%[top]", "", "%[global]", "", "%[inst]", "", "%[vs]", "", "%[rs]", "", "%[chk]", "")
	indent := map[string]string{"top": "", "global": "  ", "inst": "  ", "vs": "  ", "rs": "    ", "chk": "      "}[block]
	s := strings.Replace(compatBase, "%["+block+"]", indent+line+"\n", 1)
	return r.Replace(s)
}

// TestKeepalivedCompatVerdicts: dhproxy reads every case without a hard
// error (keepalived runs them all), and counts a configuration error
// exactly where keepalived -t fails.
func TestKeepalivedCompatVerdicts(t *testing.T) {
	dir := t.TempDir()
	for _, c := range compatCases {
		path := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(path, []byte(compatConfig(c.block, c.line)), 0o644); err != nil {
			t.Fatal(err)
		}
		var d config.Diags
		cfg := LoadWithID(path, "lb1", &d)
		if cfg == nil {
			var b strings.Builder
			d.Write(&b, 0)
			t.Errorf("%s %q: refused, keepalived runs it:\n%s", c.block, c.line, b.String())
			continue
		}
		if fails := cfg.ConfigErrors > 0; fails != c.fails {
			t.Errorf("%s %q: config test fails=%t, keepalived -t fails=%t", c.block, c.line, fails, c.fails)
		}
	}
}

// TestKeepalivedCompat checks the verdicts of compatCases against the real
// keepalived -t, in a network namespace of the test's own where eth0
// exists (keepalived checks the interface). It runs where keepalived is
// installed and the test may create a namespace.
func TestKeepalivedCompat(t *testing.T) {
	const bin = "/usr/sbin/keepalived"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("keepalived is not installed")
	}
	ns, ip := netnstest.Own(t, "kacompat")
	ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
	ip("-n", ns, "link", "set", "eth0", "up")
	dir := t.TempDir()
	run := func(conf string) (int, string) {
		path := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("ip", "netns", "exec", ns, bin, "-t", "-f", path).CombinedOutput()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, string(out)
		case errors.As(err, &ee):
			return ee.ExitCode(), string(out)
		}
		t.Fatalf("keepalived -t: %v", err)
		return 0, ""
	}
	if rc, out := run(compatConfig("inst", "")); rc != 0 {
		t.Fatalf("the base configuration: keepalived -t exits %d:\n%s", rc, out)
	}
	for _, c := range compatCases {
		rc, out := run(compatConfig(c.block, c.line))
		if (rc != 0) != c.fails {
			t.Errorf("%s %q: keepalived -t exits %d (want failing=%t):\n%s", c.block, c.line, rc, c.fails, out)
		}
	}
}
