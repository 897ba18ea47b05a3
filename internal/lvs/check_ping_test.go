package lvs

import (
	"context"
	"dhproxy/internal/netnstest"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/config/keepalived"
)

func pingCheck(retry int) *keepalived.Check {
	return &keepalived.Check{Kind: "PING_CHECK", ConnectTimeout: 300 * time.Millisecond, Retry: retry, DelayBeforeRetry: time.Millisecond}
}

// TestPingCheckLoopback pings 127.0.0.1 and ::1 from the test's own
// namespace (with ping sockets refused by ping_group_range, through a raw
// socket) and expects keepalived's success line and L4OK.
func TestPingCheckLoopback(t *testing.T) {
	if os.Geteuid() != 0 && !pingSocketsAllowed() {
		t.Skip("needs root (raw ICMP) or ping sockets allowed by net.ipv4.ping_group_range")
	}
	for _, a := range []string{"127.0.0.1:80", "[::1]:80"} {
		rs := realAt(t, a)
		ck := newChecker(pingCheck(1), rs, "tcp", time.Second, true)
		ck.vs = "[127.0.0.100]:tcp:80"
		_, tr := ck.step(context.Background())
		want := fmt.Sprintf("ICMP connection to %s success.", rs.Name)
		if tr == nil || !tr.up || tr.log != want || tr.alert != "=> ICMP CHECK succeed on service <=" {
			t.Fatalf("%s: got %+v (last %+v), want up with %q", a, tr, ck.last, want)
		}
		if ck.last.status != "L4OK" {
			t.Fatalf("%s: status %s, want L4OK", a, ck.last.status)
		}
	}
}

func pingSocketsAllowed() bool {
	b, _ := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	var lo, hi int
	fmt.Sscan(string(b), &lo, &hi)
	return lo <= os.Getegid() && os.Getegid() <= hi
}

// TestPingCheckNamespace runs PING_CHECK inside a network namespace of its
// own, where ping sockets are allowed (the sysctl is per namespace): an
// address on lo answers through a datagram socket; once removed the
// checker goes down after its retry with keepalived's line; an address
// routed to a veth with nothing behind it times out with L4TOUT, a
// blackhole route fails at once with L4CON; IPv6 ::1 answers too.
func TestPingCheckNamespace(t *testing.T) {
	ns, ip := netnstest.Own(t, "ping")
	ip("-n", ns, "addr", "add", "10.213.79.1/32", "dev", "lo")
	// Nothing behind the veth answers ARP for 10.213.78.2.
	ip("-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	ip("-n", ns, "link", "set", "v0", "up")
	ip("-n", ns, "link", "set", "v1", "up")
	ip("-n", ns, "addr", "add", "10.213.78.1/24", "dev", "v0")
	ip("-n", ns, "route", "add", "blackhole", "10.213.77.0/24")
	if out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-w", "net.ipv4.ping_group_range=0 2147483647").CombinedOutput(); err != nil {
		t.Fatalf("sysctl: %v\n%s", err, out)
	}

	inNetns(t, ns, func() {
		pc, raw, err := icmpSocket(pingCheck(0), netip.MustParseAddr("10.213.79.1"))
		if err != nil {
			t.Fatal(err)
		}
		pc.Close()
		if raw {
			t.Fatal("ping_group_range allows ping sockets here, yet a raw socket was used")
		}

		rs := realAt(t, "10.213.79.1:80")
		ck := newChecker(pingCheck(1), rs, "tcp", time.Second, false)
		ck.vs = "[10.213.79.100]:tcp:80"
		ck.conf.LogAllFailures = true
		var notes []string
		ck.note = func(s string) { notes = append(notes, s) }
		if _, tr := ck.step(context.Background()); tr == nil || !tr.up {
			t.Fatalf("first check: %+v (last %+v), want up", tr, ck.last)
		}
		ip("-n", ns, "addr", "del", "10.213.79.1/32", "dev", "lo")
		if _, tr := ck.step(context.Background()); tr != nil {
			t.Fatalf("first failure should be retried, got %+v", tr)
		}
		_, tr := ck.step(context.Background())
		want := "ICMP CHECK on service [10.213.79.1]:tcp:80 of [10.213.79.100]:tcp:80 failed after 1 retries."
		if tr == nil || tr.up || tr.log != want || tr.alert != "=> ICMP CHECK failed on service <=" {
			t.Fatalf("got %+v, want down with %q", tr, want)
		}
		if len(notes) != 2 || notes[0] != "ICMP connection to [10.213.79.1]:tcp:80 of [10.213.79.100]:tcp:80 failed." {
			t.Fatalf("log_all_failures lines %q", notes)
		}

		for _, c := range []struct{ addr, status, line string }{
			{"10.213.78.2:80", "L4TOUT", "ICMP CHECK on service [10.213.78.2]:tcp:80 failed."},
			{"10.213.77.2:80", "L4CON", "ICMP CHECK on service [10.213.77.2]:tcp:80 failed."},
		} {
			ck := newChecker(pingCheck(0), realAt(t, c.addr), "tcp", time.Second, false)
			start := time.Now()
			_, tr := ck.step(context.Background())
			if tr == nil || tr.up || tr.log != c.line || ck.last.status != c.status {
				t.Fatalf("%s: got %+v status %s, want down %s %q", c.addr, tr, ck.last.status, c.status, c.line)
			}
			if c.status == "L4TOUT" && time.Since(start) < 250*time.Millisecond {
				t.Fatalf("%s timed out after %v, before connect_timeout", c.addr, time.Since(start))
			}
		}

		ck6 := newChecker(pingCheck(0), realAt(t, "[::1]:80"), "tcp", time.Second, false)
		if _, tr := ck6.step(context.Background()); tr == nil || !tr.up || ck6.last.status != "L4OK" {
			t.Fatalf("::1: %+v (last %+v), want up", tr, ck6.last)
		}
	})
}

// inNetns runs f on a thread inside the named network namespace; sockets
// f opens belong to it. The thread comes back, or dies locked.
func inNetns(t *testing.T, ns string, f func()) {
	t.Helper()
	done := make(chan struct{})
	var setupErr error
	go func() {
		defer close(done)
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			setupErr = err
			return
		}
		defer home.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			setupErr = err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			setupErr = err
			return
		}
		defer func() {
			if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
				runtime.UnlockOSThread()
			}
		}()
		f()
	}()
	<-done
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	if t.Failed() { // f's t.Fatal ended only its own goroutine
		t.FailNow()
	}
}
