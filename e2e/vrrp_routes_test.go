package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// routesConf is a node's keepalived.conf with static addresses, routes
// and rules and an instance with virtual_routes and virtual_rules: the same
// blocks for keepalived and dhproxy.
func routesConf(state string, prio int) string {
	return fmt.Sprintf(`global_defs {
  router_id r%d
}
static_ipaddress {
  10.213.1.5/24 dev eth0 scope link
}
static_routes {
  10.214.0.0/24 via 10.213.0.254 dev eth0
  10.214.9.0/24 dev eth0 table 7
}
static_rules {
  from 10.218.0.0/24 table 1 preference 100
}
vrrp_instance VI_1 {
  state %s
  interface eth0
  virtual_router_id 51
  priority %d
  advert_int 1
  virtual_ipaddress {
    %s/24
  }
  virtual_routes {
    src %s 10.215.0.0/24 via 10.213.0.254 dev eth0 table 100
    10.215.1.0/24 dev eth0 metric 20
    blackhole 10.215.2.0/24 no_track
    10.215.4.0/24 dev eth0 scope host table 100
    default via 10.213.0.254 dev eth0 table 101
    fd00:215::/64 dev eth0 metric 7 table 100
  }
  virtual_rules {
    from 10.219.1.0/24 to 10.219.2.0/24 table 101 preference 200
    not from 10.219.3.0/24 table 102 preference 201 no_track
    fwmark 0x6/0xff iif eth0 table 103 preference 202
    from fd00:219::/64 goto 1000 preference 400
    to 10.219.7.0/24 blackhole preference 401
  }
}
`, prio, state, prio, vip, vip)
}

// kaRoutes lists the host's routes of protocol keepalived (18), IPv4 and
// IPv6, every table, and its rules but the kernel's three, sorted.
func (l *lab) kaRoutes(host string) []string {
	l.t.Helper()
	var out []string
	for _, fam := range []string{"-4", "-6"} {
		for _, line := range strings.Split(l.run(host, "ip", fam, "route", "show", "table", "all", "proto", "18"), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				out = append(out, line)
			}
		}
		for _, line := range strings.Split(l.run(host, "ip", fam, "rule", "show"), "\n") {
			pref, _, _ := strings.Cut(line, ":")
			if line = strings.TrimSpace(line); line != "" && pref != "0" && pref != "32766" && pref != "32767" {
				out = append(out, line)
			}
		}
	}
	slices.Sort(out)
	return out
}

// waitRoutes waits until the host's keepalived routes are want.
func (l *lab) waitRoutes(host string, want []string, within time.Duration, logs ...*proc) {
	l.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := l.kaRoutes(host)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i, p := range logs {
				fmt.Fprintf(&b, "\n--- log %d:\n%s%s", i, p.Stdout(), p.Stderr())
			}
			l.t.Fatalf("%s: routes after %v:\n  %s\nwant:\n  %s%s", host, within, strings.Join(got, "\n  "), strings.Join(want, "\n  "), b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestVRRPVirtualRoutes: dhproxy installs static_ipaddress, static_routes
// and static_rules at start whatever its state, the virtual_routes and
// virtual_rules while it is MASTER, and removes them as keepalived 2.2.7
// does (virtual ones on leaving MASTER, everything at stop), and leaves
// MASTER when a tracked virtual route or rule is deleted by hand. The routes and
// rules it installs are the very ones keepalived installs for the same
// blocks, read back with "ip route" and "ip rule".
func TestVRRPVirtualRoutes(t *testing.T) {
	t.Parallel()
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Fatal("keepalived is not installed (scripts/install-test-deps.sh installs it)")
	}
	l := newVLab(t, "lb1", "lb2")
	lbs := []string{"lb1", "lb2"}
	dir := t.TempDir()
	startKA := func(prio int) *proc {
		return l.start("lb2", ka, "-n", "-l", "-D", "--vrrp", "-f", l.writeFile("ka.conf", routesConf("MASTER", prio)),
			"-p", filepath.Join(dir, "ka.pid"), "-r", filepath.Join(dir, "ka-vrrp.pid"))
	}

	// keepalived master on lb2: what it installs for the block.
	k := startKA(150)
	l.waitHolder(vip, "lb2", lbs, 10*time.Second, k)
	var kaWant []string
	for deadline := time.Now().Add(5 * time.Second); len(kaWant) != 3+6+5; time.Sleep(20 * time.Millisecond) {
		if kaWant = l.kaRoutes("lb2"); time.Now().After(deadline) {
			t.Fatalf("keepalived master installed:\n%s\n%s", strings.Join(kaWant, "\n"), k.Stdout()+k.Stderr())
		}
	}

	t.Logf("keepalived 2.2.7 installs:\n  %s", strings.Join(kaWant, "\n  "))
	var static []string
	for _, r := range kaWant {
		if strings.Contains(r, "10.214.") || strings.Contains(r, "10.218.") {
			static = append(static, r)
		}
	}

	// dhproxy backup on lb1: the static ones only.
	dconf := l.writeFile("d.conf", routesConf("BACKUP", 100))
	d := l.start("lb1", bin, "vrrp", "-f", dconf)
	l.waitRoutes("lb1", static, 5*time.Second, d)
	if !l.hasStatic("lb1") {
		t.Fatalf("lb1: no static_ipaddress 10.213.1.5\n%s", d.Stderr())
	}

	// keepalived stops: dhproxy becomes master with keepalived's routes;
	// keepalived took its static ones away.
	k.term(t)
	l.waitHolder(vip, "lb1", lbs, 5*time.Second, d)
	l.waitRoutes("lb1", kaWant, 5*time.Second, d)
	if got := l.kaRoutes("lb2"); len(got) != 0 || l.hasStatic("lb2") {
		t.Errorf("keepalived left routes %v (static address: %t) at stop", got, l.hasStatic("lb2"))
	}

	// A reload on the master: a changed virtual route, rule and static
	// route are replaced, the others stay (the rule's table is written
	// "table" in the file, "lookup" by ip).
	swap := strings.NewReplacer("10.215.1.0/24 dev eth0 metric 20", "10.215.3.0/24 dev eth0 metric 30",
		"10.214.9.0/24 dev eth0 table 7", "10.214.8.0/24 dev eth0 table 8",
		"table 102 preference 201", "table 104 preference 201", "lookup 102", "lookup 104")
	if err := os.WriteFile(dconf, []byte(swap.Replace(routesConf("BACKUP", 100))), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	var reloaded []string
	for _, r := range kaWant {
		reloaded = append(reloaded, swap.Replace(r))
	}
	slices.Sort(reloaded)
	l.waitRoutes("lb1", reloaded, 5*time.Second, d)
	for i := range static {
		static[i] = swap.Replace(static[i])
	}
	slices.Sort(static)

	// Routes deleted by hand: an untracked one (no_track) is not watched, a
	// tracked one (with dev) sends the master to BACKUP as keepalived's
	// (priority 0); alone, it becomes master again after its down
	// interval and sets every route again, the untracked one too.
	l.run("lb1", "ip", "route", "del", "blackhole", "10.215.2.0/24")
	l.run("lb1", "ip", "route", "del", "10.215.0.0/24", "table", "100", "dev", "eth0")
	l.waitStderr(d, "(VI_1) virtual route 10.215.0.0/24 via 10.213.0.254 dev eth0 src 10.213.0.100 table 100 was deleted: leaving MASTER", 5*time.Second)
	l.waitRoutes("lb1", reloaded, 8*time.Second, d)
	// The same with rules.
	l.run("lb1", "ip", "rule", "del", "pref", "201")
	l.run("lb1", "ip", "rule", "del", "pref", "200")
	l.waitStderr(d, "(VI_1) virtual rule 200: from 10.219.1.0/24 to 10.219.2.0/24 table 101 was deleted: leaving MASTER", 5*time.Second)
	l.waitRoutes("lb1", reloaded, 8*time.Second, d)

	// A higher-priority keepalived preempts: dhproxy's virtual routes go,
	// its static ones stay.
	k = startKA(200)
	l.waitHolder(vip, "lb2", lbs, 10*time.Second, d, k)
	l.waitRoutes("lb1", static, 5*time.Second, d)
	if !strings.Contains(d.Stderr(), "(VI_1) removing Virtual Routes") {
		t.Errorf("dhproxy did not log keepalived's line:\n%s", d.Stderr())
	}

	// dhproxy stops: its static address and routes go too.
	d.term(t)
	l.waitRoutes("lb1", nil, 0, d)
	if l.hasStatic("lb1") {
		t.Errorf("lb1 kept its static_ipaddress after stop")
	}
}

// waitStderr waits until p's standard error holds want.
func (l *lab) waitStderr(p *proc, want string, within time.Duration) {
	l.t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(p.Stderr(), want) {
		if time.Now().After(deadline) {
			l.t.Fatalf("no %q after %v:\n%s", want, within, p.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *lab) hasStatic(host string) bool {
	out, _ := l.output(host, "ip", "-o", "addr", "show", "dev", "eth0")
	return strings.Contains(out, " 10.213.1.5/24 ")
}

// TestVRRPStaticOnly: as keepalived, "dhproxy vrrp" runs a file with
// static routes and rules but no vrrp_instance, setting them at start and
// removing them at stop.
func TestVRRPStaticOnly(t *testing.T) {
	t.Parallel()
	l := newVLab(t, "lb1")
	d := l.start("lb1", bin, "vrrp", "-f", l.writeFile("d.conf", `static_routes {
  10.214.0.0/24 dev eth0
}
static_rules {
  from 10.218.0.0/24 table 1 preference 100
}
`))
	l.waitRoutes("lb1", []string{"10.214.0.0/24 dev eth0", "100:\tfrom 10.218.0.0/24 lookup 1 proto keepalived"}, 5*time.Second, d)
	d.term(t)
	l.waitRoutes("lb1", nil, 0, d)
}
