package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLVSIPVSOptInWithoutKernelSupport: `dhproxy lvs run` asked for the
// IPVS datapath, by flag or by DHPROXY_LVS_DATAPATH, on a kernel without
// IPVS exits 1 saying what to do, and falls back to nothing.
func TestLVSIPVSOptInWithoutKernelSupport(t *testing.T) {
	lvsOnly(t)
	if isHAProxy() {
		t.Skip("lvs run is dhproxy's")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`
virtual_server 127.0.0.1 %d {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 %d {
        weight 1
    }
}
`, freePort(t), freePort(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  string
	}{
		{"flag", []string{"-datapath", "ipvs"}, "DHPROXY_LVS_DATAPATH="},
		{"environment", nil, "DHPROXY_LVS_DATAPATH=ipvs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"lvs", "run", "-S", filepath.Join(dir, tc.name+".sock")}, tc.args...)
			p := &proc{cmd: exec.Command(bin, append(args, conf)...), done: make(chan struct{})}
			p.cmd.Env = append(os.Environ(), tc.env)
			p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
			if err := p.cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { p.err = p.cmd.Wait(); close(p.done) }()
			defer p.stop()
			deadline := time.Now().Add(10 * time.Second)
			for !p.exited() {
				if strings.Contains(p.Stderr(), "virtual servers running") {
					if strings.Contains(p.Stderr(), "IPVS datapath") {
						t.Skip("this kernel has IPVS; the error path cannot be seen here")
					}
					t.Fatalf("started without IPVS, on another datapath:\n%s", p.Stderr())
				}
				if time.Now().After(deadline) {
					t.Fatalf("neither failed nor started within 10 s:\n%s", p.Stderr())
				}
				time.Sleep(20 * time.Millisecond)
			}
			if code := p.cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			want := "dhproxy lvs run: kernel has no IPVS (generic netlink family IPVS not found); load ip_vs or use nftables\n"
			if got := p.Stderr(); got != want {
				t.Fatalf("stderr:\n%s\nwant exactly:\n%s", got, want)
			}
		})
	}
}
