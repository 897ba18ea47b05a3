package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shortHostname is keepalived's default config id.
func shortHostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ = strings.Cut(h, ".")
	return h
}

// TestVRRPConfigIDCheck: one keepalived.conf for two nodes, lines chosen
// by keepalived's config id (-i for "dhproxy vrrp" and "dhproxy lvs run",
// --config-id for -K), by default the short host name. Here id "high" gets
// a valid file, "low" one with a configuration error on an '@^high' line,
// any other id one whose vrrp_script has no script line.
func TestVRRPConfigIDCheck(t *testing.T) {
	if isHAProxy() {
		t.Skip("keepalived.conf is dhproxy's")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "cond.conf")
	os.WriteFile(conf, []byte(`vrrp_script chk {
@high	script "/bin/true high"
@low	script "/bin/true low"
	interval 1
}
vrrp_instance VI_1 {
	state BACKUP
	interface eth0
	virtual_router_id 51
@high	priority 170
@low	priority 85
@^high	smtp_alert maybe
	track_script {
		chk
	}
	virtual_ipaddress {
		10.9.9.9/24
	}
}
`), 0o644)
	haproxyCfg := writeConfig(t, "global\n")
	cases := []struct {
		args []string
		want string // "" for a valid file, else the file:line named
	}{
		{[]string{"vrrp", "-t", "-i", "high", "-f", conf}, ""},
		{[]string{"vrrp", "--config-test", "--config-id=high", "-f", conf}, ""},
		{[]string{"vrrp", "-t", "-i", "low", "-f", conf}, "cond.conf:12"},
		{[]string{"vrrp", "-t", "-i", "other", "-f", conf}, "cond.conf:1]"},
		{[]string{"vrrp", "-t", "-f", conf}, "cond.conf:1]"}, // the host name: neither high nor low
		{[]string{"-c", "-f", haproxyCfg, "-K", conf, "--config-id", "high"}, ""},
		{[]string{"-c", "-f", haproxyCfg, "--config-id", "low", "-K", conf}, "cond.conf:12"},
		{[]string{"-c", "-f", haproxyCfg, "-K", conf}, "cond.conf:1]"},
	}
	if h := shortHostname(t); h == "high" || h == "low" {
		t.Skipf("the host is called %s", h)
	}
	for _, c := range cases {
		out, err := exec.Command(bin, c.args...).CombinedOutput()
		if c.want == "" {
			if err != nil || strings.Contains(string(out), "cond.conf:") {
				t.Errorf("%v: want a clean pass, got %v\n%s", c.args, err, out)
			}
			continue
		}
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: want a failure naming %s, got %v\n%s", c.args, c.want, err, out)
		}
	}

	// dhproxy-keepalived.service checks the file with DAEMON_ARGS, where
	// the id is set.
	u := readUnit(t, "../examples/systemd/dhproxy-keepalived.service")
	u.env["KEEPALIVED_CONF"] = conf
	for id, ok := range map[string]bool{"high": true, "other": false} {
		u.env["DAEMON_ARGS"] = "--config-id " + id
		for _, line := range u.exec["ExecStartPre"] {
			argv := u.command(strings.Replace(line, "/usr/sbin/dhproxy", bin, 1))
			if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); (err == nil) != ok {
				t.Errorf("ExecStartPre with DAEMON_ARGS=%q: %v\n%s", u.env["DAEMON_ARGS"], err, out)
			}
		}
	}

	// The default id is the host name: '@HOST' lines are used, '@^HOST'
	// ones are not; "lvs run" takes -i as well (these files fail at once on
	// the one '}' that closes no block, so nothing starts).
	host := filepath.Join(dir, "host.conf")
	os.WriteFile(host, []byte("@"+shortHostname(t)+" }\n@^"+shortHostname(t)+" }\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"vrrp", "-t", "-f", host}, "host.conf:1]"},
		{[]string{"vrrp", "-t", "-i", "x", "-f", host}, "host.conf:2]"},
		{[]string{"lvs", "run", "-S", filepath.Join(dir, "lvs.sock"), host}, "host.conf:1]"},
		{[]string{"lvs", "run", "-S", filepath.Join(dir, "lvs.sock"), "-i", "x", host}, "host.conf:2]"},
	} {
		out, err := exec.Command(bin, c.args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) || strings.Count(string(out), "closes no block") != 1 {
			t.Errorf("%v: want one failure, at %s, got %v\n%s", c.args, c.want, err, out)
		}
	}
}

// TestVRRPConfigIDPair runs keepalived and dhproxy -K on one
// keepalived.conf: keepalived with -i high (priority 170) holds the VIP
// over dhproxy with --config-id low (85), which would take it with the
// host name's line (254); a reload keeps the id: '@low priority 200' then
// moves the VIP to dhproxy.
func TestVRRPConfigIDPair(t *testing.T) {
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Fatal("keepalived is not installed (scripts/install-test-deps.sh installs it)")
	}
	t.Parallel() // its own lab; timer-bound
	l := newVLab(t, "lb1", "lb2")
	lbs := []string{"lb1", "lb2"}
	dir := t.TempDir()
	base := keepalivedConf("pair", "BACKUP", 100, 2, "")
	cond := func(lines string) string {
		if !strings.Contains(base, "  priority 100\n") {
			t.Fatal("keepalivedConf has no 'priority 100' line")
		}
		return strings.Replace(base, "  priority 100\n", lines, 1)
	}
	conf := l.writeFile("keepalived.conf", cond("@high priority 170\n@low  priority 85\n@"+shortHostname(t)+" priority 254\n"))
	k := l.start("lb2", ka, "-n", "-l", "-D", "--vrrp", "-i", "high", "-f", conf,
		"-p", filepath.Join(dir, "ka.pid"), "-r", filepath.Join(dir, "ka-vrrp.pid"))
	l.waitHolder(vip, "lb2", lbs, 10*time.Second, k)
	d := l.start("lb1", bin, "-K", conf, "--config-id", "low")
	time.Sleep(downInterval(2, 85) + 500*time.Millisecond) // past dhproxy's down interval: with 254 it would be master now
	if hs := l.holders(vip, lbs); len(hs) != 1 || hs[0] != "lb2" {
		t.Fatalf("keepalived -i high (170) + dhproxy --config-id low (85): VIP on %v\ndhproxy:\n%s", hs, d.Stderr())
	}
	// Without the host name's line, a reload that read the file as the
	// host would leave dhproxy at 100, under keepalived's 170.
	os.WriteFile(conf, []byte(cond("@high priority 170\n@low  priority 200\n")), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	l.waitHolder(vip, "lb1", lbs, 10*time.Second, d, k)
}
