package vrrp

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/config"
	"dhproxy/internal/config/keepalived"
)

func loadConf(t *testing.T, text string) *keepalived.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var d config.Diags
	cfg := keepalived.Load(path, &d)
	if d.HasErrors() {
		t.Fatalf("%v", d)
	}
	return cfg
}

const reloadBase = `
vrrp_instance KEEP {
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        10.0.0.1/24
    }
}
vrrp_instance PRIO {
    interface eth0
    virtual_router_id 2
    priority 100
    virtual_ipaddress {
        10.0.0.2/24
    }
}
vrrp_instance MOVE {
    interface eth0
    virtual_router_id 3
    priority 100
    virtual_ipaddress {
        10.0.0.3/24
    }
}
vrrp_instance GONE {
    interface eth0
    virtual_router_id 4
    priority 100
    virtual_ipaddress {
        10.0.0.4/24
    }
}
`

// TestPlanReload matches instances by name as keepalived does: unchanged
// (even when the block moved in the file) are kept, a new priority or VIP
// carries the state over, a new VRID is another router and restarts.
func TestPlanReload(t *testing.T) {
	old := loadConf(t, reloadBase)
	cur := loadConf(t, `
# a comment shifts every line: positions are not settings
vrrp_instance NEW {
    interface eth0
    virtual_router_id 5
    priority 100
    virtual_ipaddress {
        10.0.0.5/24
    }
}
vrrp_instance MOVE {
    interface eth0
    virtual_router_id 30
    priority 100
    virtual_ipaddress {
        10.0.0.3/24
    }
}
vrrp_instance PRIO {
    interface eth0
    virtual_router_id 2
    priority 50
    virtual_ipaddress {
        10.0.0.2/24
        10.0.0.22/24
    }
}
vrrp_instance KEEP {
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        10.0.0.1/24
    }
}
`)
	p := PlanReload(old, cur)
	want := ReloadPlan{Kept: []string{"KEEP"}, Changed: []string{"PRIO"}, Restarted: []string{"MOVE"}, Added: []string{"NEW"}, Removed: []string{"GONE"}}
	if !keepalived.SameSettings(p, want) {
		t.Fatalf("plan %+v, want %+v", p, want)
	}
	if p := PlanReload(old, loadConf(t, reloadBase)); len(p.Kept) != 4 || len(p.Changed)+len(p.Restarted)+len(p.Added)+len(p.Removed) != 0 {
		t.Fatalf("same file: plan %+v", p)
	}
}

// TestPlanReloadEverySetting: any setting of the block is a change, so no
// edit is silently ignored by the reload.
func TestPlanReloadEverySetting(t *testing.T) {
	base := loadConf(t, reloadBase)
	for _, edit := range []struct{ from, to string }{
		{"priority 100\n    virtual_ipaddress {\n        10.0.0.1/24", "priority 100\n    advert_int 2\n    virtual_ipaddress {\n        10.0.0.1/24"},
		{"10.0.0.1/24", "10.0.0.1/24 dev eth0 label eth0:1"},
		{"10.0.0.1/24", "10.0.0.9/24"},
	} {
		cur := loadConf(t, replaceOnce(reloadBase, edit.from, edit.to))
		if p := PlanReload(base, cur); !slices.Equal(p.Changed, []string{"KEEP"}) {
			t.Errorf("%q -> %q: plan %+v", edit.from, edit.to, p)
		}
	}
}

// TestResume: across a reload a master stays master without a transition
// (no notify, no VIP removal) and tells the backups its new priority at
// once; a backup keeps waiting for the master it knows.
func TestResume(t *testing.T) {
	prev, _ := newTestInstance(nil)
	prev.Start(t0)
	prev.Timer(t0.Add(5 * time.Second))
	if prev.State() != StateMaster {
		t.Fatalf("state %s", prev.State())
	}
	in, r := newTestInstance(func(c *keepalived.VRRPInstance) { c.Priority = 50 })
	in.Resume(t0.Add(6*time.Second), prev, false, 0)
	if in.State() != StateMaster {
		t.Fatalf("state %s after resume", in.State())
	}
	if got := r.take(); got != "advert 50" {
		t.Fatalf("events %q", got)
	}
	// A backup with priority 100 now wins the normal election.
	in.Receive(t0.Add(7*time.Second), &Advert{Version: 2, VRID: 51, Priority: 100, Interval: time.Second}, peerB)
	if in.State() != StateBackup {
		t.Fatalf("state %s after a higher advert", in.State())
	}

	back, _ := newTestInstance(nil)
	back.Start(t0)
	back.Receive(t0.Add(time.Second), &Advert{Version: 2, VRID: 51, Priority: 200, Interval: time.Second}, peerB)
	in2, r2 := newTestInstance(func(c *keepalived.VRRPInstance) { c.Priority = 120 })
	in2.Resume(t0.Add(2*time.Second), back, false, 0)
	if in2.State() != StateBackup || r2.take() != "" || in2.lastMaster != peerB {
		t.Fatalf("backup resumed as %s, master %s", in2.State(), in2.lastMaster)
	}
	if d := in2.Deadline().Sub(t0.Add(2 * time.Second)); d != in2.DownInterval() {
		t.Fatalf("down timer %v, want %v", d, in2.DownInterval())
	}
}

func replaceOnce(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		panic("no " + from)
	}
	return s[:i] + to + s[i+len(from):]
}
