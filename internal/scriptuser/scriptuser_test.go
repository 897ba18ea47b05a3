package scriptuser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
	if err := CheckSecure(safe + " arg"); err != nil {
		t.Errorf("root-owned 0755 script refused: %v", err)
	}
	if err := CheckSecure("killall -0 haproxy"); err != nil && !strings.Contains(err.Error(), "cannot find") {
		t.Errorf("path search: %v", err)
	}
	world := write("world.sh", 0o757)
	if err := CheckSecure(world); err == nil || !strings.Contains(err.Error(), "unsafe permissions found for script") {
		t.Errorf("world-writable script accepted: %v", err)
	}
	other := write("other.sh", 0o755)
	os.Chown(other, 1000, 1000)
	if err := CheckSecure(other); err == nil {
		t.Error("script owned by another user accepted")
	}
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	inOpen := filepath.Join(open, "s.sh")
	os.WriteFile(inOpen, []byte("#!/bin/sh\n"), 0o755)
	if err := CheckSecure(inOpen); err == nil || !strings.Contains(err.Error(), open) {
		t.Errorf("script in a world-writable directory accepted: %v", err)
	}
	os.Chmod(open, 0o777|os.ModeSticky)
	if err := CheckSecure(inOpen); err != nil {
		t.Errorf("sticky directory refused: %v", err)
	}
	if err := CheckSecure(filepath.Join(dir, "missing.sh")); err == nil {
		t.Error("missing script accepted")
	}
}

func TestLookup(t *testing.T) {
	su, err := Lookup("root", "")
	if err != nil || !su.Root || su.Cred.Uid != 0 {
		t.Fatalf("root: %+v %v", su, err)
	}
	if _, err := Lookup("no-such-user-here", ""); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := Lookup("root", "no-such-group-here"); err == nil {
		t.Error("unknown group accepted")
	}
}
