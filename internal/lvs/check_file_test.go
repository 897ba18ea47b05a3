package lvs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestFileStateRule pins keepalived's track-file rule for checkers.
func TestFileStateRule(t *testing.T) {
	for _, c := range []struct {
		v, w    int
		reverse bool
		up      bool
		delta   int
	}{
		{0, 0, false, true, 0}, {1, 0, false, false, 0}, {-3, 0, false, false, 0},
		{0, 0, true, false, 0}, {5, 0, true, true, 0},
		{3, 2, false, true, 6}, {3, 2, true, true, -6}, {-4, 10, false, true, -40},
		{-65535, 1, false, false, 0}, {1, -70000, false, false, 0}, {100000, 1, false, true, 65534},
	} {
		up, d := fileState(c.v, c.w, c.reverse)
		if up != c.up || d != c.delta {
			t.Errorf("value %d weight %d reverse %v: up=%v delta=%d, want %v %d", c.v, c.w, c.reverse, up, d, c.up, c.delta)
		}
	}
}

// TestFileCheckRuntime: a real server with FILE_CHECK starts in the state
// its file gives, leaves the pool when a weight-0 file holds non-zero and
// comes back at 0; a weighted file changes the server's weight by value ×
// weight; the userspace datapath follows.
func TestFileCheckRuntime(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	vip := freeAddr(t)
	dir := t.TempDir()
	maint, load := filepath.Join(dir, "maint"), filepath.Join(dir, "load")
	os.WriteFile(maint, []byte("1\n"), 0o644)
	cfg := loadConf(t, fmt.Sprintf(`
track_file maint {
    file %s
    weight 0
}
track_file load {
    file %s
}
virtual_server 127.0.0.1 %s {
    lb_algo wrr
    real_server 127.0.0.1 %s {
        weight 10
        FILE_CHECK {
            track_file maint
        }
    }
    real_server 127.0.0.1 %s {
        weight 10
        FILE_CHECK {
            track_file load
            weight 3
        }
    }
}
`, maint, load, port(vip), port(a.addr), port(b.addr)))
	svcs, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logs []string
	logf := func(s string) { mu.Lock(); logs = append(logs, s); mu.Unlock() }
	dp, err := NewUserspace(svcs, logf)
	if err != nil {
		t.Fatal(err)
	}
	rt := New(svcs, dp, Options{Logf: logf})
	if err := rt.Start(); err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	pa, pb := port(a.addr), port(b.addr)
	if got := destsOf(rt); got != pb+"/10" {
		t.Fatalf("start (maint holds 1, load is missing): %s", got)
	}
	if got := dialName(t, vip); got != "b" {
		t.Fatalf("got %q from the VIP, want b", got)
	}
	os.WriteFile(maint, []byte("0\n"), 0o644)
	waitFor(t, "a back", func() bool { return destsOf(rt) == pa+"/10 "+pb+"/10" })
	os.WriteFile(load, []byte("-2"), 0o644)
	waitFor(t, "b lighter", func() bool { return destsOf(rt) == pa+"/10 "+pb+"/4" })
	os.WriteFile(load, []byte("-30000"), 0o644) // -90000: at or below -65535, down
	waitFor(t, "b down", func() bool { return destsOf(rt) == pa+"/10" })
	os.Remove(load) // a missing file holds 0
	waitFor(t, "b back", func() bool { return destsOf(rt) == pa+"/10 "+pb+"/10" })
	mu.Lock()
	all := strings.Join(logs, "\n")
	mu.Unlock()
	for _, want := range []string{
		"([127.0.0.1]:tcp:" + pa + "): tracked file maint leaving FAULT state",
		"Adding service [127.0.0.1]:tcp:" + pa + " to VS [127.0.0.1]:tcp:" + port(vip),
		"Changing weight from 10 to 4 for active service [127.0.0.1]:tcp:" + pb,
		"([127.0.0.1]:tcp:" + pb + "): tracked file load now FAULT state",
		"Removing service [127.0.0.1]:tcp:" + pb,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no line %q in:\n%s", want, all)
		}
	}
}
