package vrrp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dhproxy/internal/config/keepalived"
)

func TestIsProxyProbe(t *testing.T) {
	yes := []string{"killall -0 haproxy", "/usr/bin/killall -0 haproxy", "pidof haproxy", "pgrep -x haproxy",
		"/usr/bin/pgrep haproxy", "systemctl is-active --quiet haproxy", "systemctl is-active haproxy.service", `killall -0 "haproxy"`, "pidof dhproxy"}
	no := []string{"killall -0 nginx", "curl -f http://127.0.0.1/", "pidof haproxy && curl x", "/etc/keepalived/check_haproxy.sh", "killall haproxy"}
	for _, s := range yes {
		if !IsProxyProbe(s) {
			t.Errorf("%q not recognised as a haproxy process check", s)
		}
	}
	for _, s := range no {
		if IsProxyProbe(s) {
			t.Errorf("%q taken for a haproxy process check", s)
		}
	}
}

func TestTrackerRiseFall(t *testing.T) {
	tr := &tracker{s: &keepalived.VRRPScript{Rise: 2, Fall: 3}, ok: true}
	steps := []struct {
		result  bool
		changed bool
	}{
		{false, false}, {false, false}, {true, false}, // a success resets the fall count
		{false, false}, {false, false}, {false, true}, // third failure in a row: failed
		{true, false}, {true, true}, // second success: up again
	}
	for i, s := range steps {
		if got := tr.observe(s.result); got != s.changed || (s.changed && tr.ok != s.result) {
			t.Fatalf("step %d: changed=%v ok=%v", i, got, tr.ok)
		}
	}
}

func TestCheckScriptSecure(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the ownership cases need root (chown)")
	}
	dir := t.TempDir() // 0700, root's, under the sticky /tmp
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	safe := write("safe.sh", 0o755)
	if err := checkScriptSecure(safe + " arg"); err != nil {
		t.Errorf("root-owned 0755 script refused: %v", err)
	}
	if err := checkScriptSecure("killall -0 haproxy"); err != nil && !strings.Contains(err.Error(), "cannot find") {
		t.Errorf("path search: %v", err)
	}
	world := write("world.sh", 0o757)
	if err := checkScriptSecure(world); err == nil || !strings.Contains(err.Error(), "unsafe permissions found for script") {
		t.Errorf("world-writable script accepted: %v", err)
	}
	other := write("other.sh", 0o755)
	os.Chown(other, 1000, 1000)
	if err := checkScriptSecure(other); err == nil {
		t.Error("script owned by another user accepted")
	}
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	inOpen := filepath.Join(open, "s.sh")
	os.WriteFile(inOpen, []byte("#!/bin/sh\n"), 0o755)
	if err := checkScriptSecure(inOpen); err == nil || !strings.Contains(err.Error(), open) {
		t.Errorf("script in a world-writable directory accepted: %v", err)
	}
	os.Chmod(open, 0o777|os.ModeSticky)
	if err := checkScriptSecure(inOpen); err != nil {
		t.Errorf("sticky directory refused: %v", err)
	}
	if err := checkScriptSecure(filepath.Join(dir, "missing.sh")); err == nil {
		t.Error("missing script accepted")
	}
}

func TestLookupScriptUser(t *testing.T) {
	su, err := lookupScriptUser("root", "")
	if err != nil || !su.root || su.cred.Uid != 0 {
		t.Fatalf("root: %+v %v", su, err)
	}
	if _, err := lookupScriptUser("no-such-user-here", ""); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := lookupScriptUser("root", "no-such-group-here"); err == nil {
		t.Error("unknown group accepted")
	}
}
