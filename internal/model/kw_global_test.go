package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/config"
)

func TestMasterWorkerAndHardStopAfter(t *testing.T) {
	cfg := buildText(t, "global\n  master-worker no-exit-on-failure\n  hard-stop-after 2m\n  grace 1500ms\n")
	g := cfg.Global
	if !g.MasterWorker || !g.NoExitOnFailure || g.HardStopAfter != 2*time.Minute || g.Grace != 1500*time.Millisecond {
		t.Fatalf("got master-worker %v, no-exit-on-failure %v, hard-stop-after %v", g.MasterWorker, g.NoExitOnFailure, g.HardStopAfter)
	}
	if g := buildText(t, "global\n  master-worker\n").Global; !g.MasterWorker || g.NoExitOnFailure {
		t.Fatalf("plain master-worker: got %v, %v", g.MasterWorker, g.NoExitOnFailure)
	}
}

func TestMasterWorkerErrors(t *testing.T) {
	for _, line := range []string{"master-worker exit", "hard-stop-after soon", "hard-stop-after", "grace x", "close-spread-time 5q", "spread-checks 51", "spread-checks -1", "spread-checks x", "spread-checks"} {
		path := filepath.Join(t.TempDir(), "haproxy.cfg")
		os.WriteFile(path, []byte("global\n  "+line+"\n"), 0o644)
		var d config.Diags
		Build(config.Load([]string{path}, nil, &d), &d)
		var b strings.Builder
		d.Write(&b, 0)
		if !d.HasErrors() || !strings.Contains(b.String(), "haproxy.cfg:2") {
			t.Errorf("%q: want an error at line 2, got:\n%s", line, b.String())
		}
	}
}

// HAProxy 2.5 dropped the proxy-level "grace": an error naming the global one.
func TestProxyGraceRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(path, []byte("defaults\n  grace 2s\n"), 0o644)
	var d config.Diags
	Build(config.Load([]string{path}, nil, &d), &d)
	var b strings.Builder
	d.Write(&b, 0)
	if !d.HasErrors() || !strings.Contains(b.String(), "haproxy.cfg:2") || !strings.Contains(b.String(), "global section") {
		t.Errorf("got:\n%s", b.String())
	}
}
