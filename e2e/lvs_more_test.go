package e2e

import (
	"dhproxy/internal/netnstest"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLVSPingFileCheck runs `dhproxy lvs run` (userspace datapath) inside
// a network namespace of its own, with a PING_CHECK real server whose
// address comes and goes on the namespace's lo, and a FILE_CHECK real
// server following a track_file, and follows keepalived's log lines as
// they go down and up.
func TestLVSPingFileCheck(t *testing.T) {
	lvsOnly(t)
	ns, ip := netnstest.Own(t, "lvsmore")
	ip("-n", ns, "addr", "add", "10.213.81.2/32", "dev", "lo")

	dir := t.TempDir()
	maint := filepath.Join(dir, "maint")
	conf := fmt.Sprintf(`
track_file maint {
    file %s
    weight 0
}
virtual_server 127.0.0.1 8080 {
    delay_loop 0.3
    warmup 0
    real_server 10.213.81.2 80 {
        PING_CHECK {
            connect_timeout 0.5
            retry 1
            delay_before_retry 0.2
        }
    }
    real_server 127.0.0.1 8081 {
        weight 5
        FILE_CHECK {
            track_file maint
        }
    }
}
`, maint)
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// ip netns exec runs dhproxy in place of itself: the PID is dhproxy's.
	p := startCmd(t, exec.Command("ip", "netns", "exec", ns, bin, "lvs", "run", "-S", filepath.Join(dir, "lvs.sock"), "-datapath", "userspace", path))

	pingRS, fileRS, vs := "[10.213.81.2]:tcp:80", "[127.0.0.1]:tcp:8081", "[127.0.0.1]:tcp:8080"
	lvsWaitLog(t, p, "virtual servers running", 10*time.Second)
	lvsWaitLog(t, p, "ICMP connection to "+pingRS+" success.", 10*time.Second)

	ip("-n", ns, "addr", "del", "10.213.81.2/32", "dev", "lo")
	lvsWaitLog(t, p, "ICMP CHECK on service "+pingRS+" of "+vs+" failed after 1 retries.", 10*time.Second)
	lvsWaitLog(t, p, "Removing service "+pingRS+" from VS "+vs, 5*time.Second)
	ip("-n", ns, "addr", "add", "10.213.81.2/32", "dev", "lo")
	lvsWaitLog(t, p, "Adding service "+pingRS+" to VS "+vs, 10*time.Second)

	if err := os.WriteFile(maint, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lvsWaitLog(t, p, "("+fileRS+"): tracked file maint now FAULT state", 5*time.Second)
	lvsWaitLog(t, p, "Removing service "+fileRS+" from VS "+vs, 5*time.Second)
	if err := os.WriteFile(maint, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lvsWaitLog(t, p, "("+fileRS+"): tracked file maint leaving FAULT state", 5*time.Second)
	lvsWaitLog(t, p, "Adding service "+fileRS+" to VS "+vs, 5*time.Second)
	if n := strings.Count(p.Stderr(), "ICMP connection to "+pingRS+" success."); n != 2 {
		t.Errorf("ICMP success logged %d times, want 2 (start, recovery):\n%s", n, p.Stderr())
	}
	lvsStopTerm(t, p)
}

// TestLVSHASuspend runs `dhproxy lvs run` in a namespace of its own with
// an ha_suspend virtual server whose address is not there at start: its
// checker stays suspended until the address is added (as VRRP would), runs
// while it is present, and is suspended again when it goes.
func TestLVSHASuspend(t *testing.T) {
	lvsOnly(t)
	ns, ip := netnstest.Own(t, "hasusp")

	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	conf := `
virtual_server 10.213.84.100 80 {
    delay_loop 0.2
    warmup 0
    ha_suspend
    real_server 127.0.0.1 80 {
        PING_CHECK {
            connect_timeout 0.5
        }
    }
}
`
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startCmd(t, exec.Command("ip", "netns", "exec", ns, bin, "lvs", "run", "-S", filepath.Join(dir, "lvs.sock"), "-datapath", "userspace", path))

	rs := "[127.0.0.1]:tcp:80"
	lvsWaitLog(t, p, "Suspending healthchecker for service "+rs, 10*time.Second)
	lvsWaitLog(t, p, "virtual servers running", 10*time.Second)
	time.Sleep(time.Second) // five delay_loops: a running checker would have logged
	if strings.Contains(p.Stderr(), "ICMP connection to "+rs) {
		t.Fatalf("suspended checker ran:\n%s", p.Stderr())
	}
	ip("-n", ns, "addr", "add", "10.213.84.100/32", "dev", "lo")
	lvsWaitLog(t, p, "Activating healthchecker for service "+rs, 5*time.Second)
	lvsWaitLog(t, p, "ICMP connection to "+rs+" success.", 5*time.Second)
	ip("-n", ns, "addr", "del", "10.213.84.100/32", "dev", "lo")
	if n := strings.Count(p.Stderr(), "Suspending healthchecker for service "+rs); n != 1 {
		t.Fatalf("suspended %d times before the address went", n)
	}
	waitFor := time.Now().Add(5 * time.Second)
	for strings.Count(p.Stderr(), "Suspending healthchecker for service "+rs) != 2 {
		if time.Now().After(waitFor) {
			t.Fatalf("not suspended again after the address went:\n%s", p.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	lvsStopTerm(t, p)
}
