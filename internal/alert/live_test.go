package alert

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/alert/smtpsink"
	"dhproxy/internal/config/keepalived"
)

// TestLiveKeepalived runs the installed keepalived in a network namespace of
// its own, makes its VRRP instance go BACKUP, MASTER, FAULT (link down) and
// back, and checks that every mail it sends is byte for byte the one the
// Keepalived alerter sends for the same event, host name and clock.
func TestLiveKeepalived(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace for keepalived")
	}
	kaBin, err := exec.LookPath("keepalived")
	if err != nil {
		t.Fatal("keepalived not installed (run scripts/install-test-deps.sh)")
	}
	ns := fmt.Sprintf("alert%d", os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { stopNetns(ns) })
	ip("-n", ns, "link", "set", "lo", "up")
	ip("-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	ip("-n", ns, "link", "set", "v1", "up")
	ip("-n", ns, "link", "set", "v0", "up")
	ip("-n", ns, "addr", "add", "10.213.0.1/24", "dev", "v0")

	ln := listenInNetns(t, ns)
	theirs := smtpsink.Serve(ln, nil)
	t.Cleanup(theirs.Close)
	port := theirs.Port()

	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`global_defs {
    router_id LIVE_TEST
    notification_email {
        ops@example.org
        dev@example.org
    }
    notification_email_from kad@example.org
    smtp_server 127.0.0.1 %d
    smtp_connect_timeout 5
}
vrrp_instance VI_1 {
    state MASTER
    interface v0
    virtual_router_id 51
    priority 150
    advert_int 1
    smtp_alert
    virtual_ipaddress {
        10.213.0.50/24
    }
}
vrrp_sync_group G1 {
    group {
        VI_1
    }
    smtp_alert
}
`, port)), 0o644)
	ka := exec.Command("ip", "netns", "exec", ns, kaBin, "-n", "-l", "-D", "--vrrp", "-f", conf,
		"-p", filepath.Join(dir, "ka.pid"), "-r", filepath.Join(dir, "vrrp.pid"))
	var kaLog strings.Builder
	ka.Stdout, ka.Stderr = &kaLog, &kaLog
	if err := ka.Start(); err != nil {
		t.Fatal(err)
	}
	kaDone := make(chan struct{})
	go func() { ka.Wait(); close(kaDone) }()
	t.Cleanup(func() {
		ka.Process.Signal(unix.SIGTERM)
		select {
		case <-kaDone:
		case <-time.After(5 * time.Second):
			ka.Process.Kill()
			<-kaDone
		}
	})
	// keepalived enters BACKUP at start, then MASTER after 3 adverts: two
	// mails each (instance and group).
	if _, err := theirs.WaitMails(4, 20*time.Second); err != nil {
		t.Fatalf("%v; keepalived said:\n%s", err, kaLog.String())
	}
	ip("-n", ns, "link", "set", "v0", "down")
	if _, err := theirs.WaitMails(6, 20*time.Second); err != nil {
		t.Fatalf("%v; keepalived said:\n%s", err, kaLog.String())
	}

	host, _ := os.Hostname()
	for _, m := range theirs.Mails() {
		subject := headerOf(m.Data, "Subject")
		clock := recordedDate(t, m.Transcript)
		ours := startSink(t, nil)
		s := NewSender(func(level, msg string) { t.Error(level, msg) })
		g := &keepalived.GlobalDefs{RouterID: "LIVE_TEST", NotificationEmail: []string{"ops@example.org", "dev@example.org"},
			NotificationEmailFrom: "kad@example.org", SMTPServer: "127.0.0.1", SMTPPort: ours.Port(), SMTPConnectTimeout: 5 * time.Second}
		k := newKeepalived(g, s, host, func() time.Time { return clock.Local() })
		var st VRRPState
		switch {
		case strings.HasSuffix(subject, "Entering MASTER state"):
			st = Master
		case strings.HasSuffix(subject, "Entering BACKUP state"):
			st = Backup
		case strings.HasSuffix(subject, "Entering FAULT state"):
			st = Fault
		default:
			t.Fatalf("unexpected mail from keepalived: %q", subject)
		}
		if strings.Contains(subject, "VRRP Group G1") {
			k.VRRPGroup(&keepalived.SyncGroup{Name: "G1", SMTPAlert: true}, st)
		} else {
			k.VRRPInstance(&keepalived.VRRPInstance{Name: "VI_1", SMTPAlert: true}, st)
		}
		mails, err := ours.WaitMails(1, 10*time.Second)
		s.Close(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if mails[0].Transcript != m.Transcript {
			t.Errorf("%s:\n--- ours\n%s--- keepalived's\n%s", subject, mails[0].Transcript, m.Transcript)
		}
	}
}

func headerOf(data, name string) string {
	for line := range strings.Lines(data) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), name+": "); ok {
			return v
		}
	}
	return ""
}

// listenInNetns opens a TCP listener on 127.0.0.1 inside the named network
// namespace, from a thread that enters it and comes back. If coming back
// fails, the thread stays locked and dies with its goroutine.
func listenInNetns(t *testing.T, ns string) net.Listener {
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer home.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{ln, fmt.Errorf("returning to the test's namespace: %w", err)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{ln, err}
	}()
	r := <-ch
	if r.err != nil {
		if r.ln != nil {
			r.ln.Close()
		}
		t.Fatal(r.err)
	}
	return r.ln
}

// stopNetns stops the processes left in the namespace (keepalived and its
// VRRP child, all started by this test) by PID, then removes it.
func stopNetns(ns string) {
	for i := 0; i < 50; i++ {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			break
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil {
				sig := unix.SIGTERM
				if i > 20 {
					sig = unix.SIGKILL
				}
				unix.Kill(pid, sig)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	exec.Command("ip", "netns", "del", ns).Run()
}
