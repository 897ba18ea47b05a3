package lvs

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestIPVSKernel programs a real kernel's IPVS inside a network namespace
// of its own (IPVS state is per namespace) and reads it back with dumps.
// It needs root and a kernel with IPVS (CONFIG_IP_VS, schedulers wlc, rr
// and sh); the project's CI kernel has none, where it skips.
func TestIPVSKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace and IPVS")
	}
	nat := testService("NAT", "wlc", 50*time.Second, "255.255.255.0", "10.0.0.3:8080", "10.0.0.4:8080")
	nat.Name, nat.Match = "nat", single("10.0.0.100", 80)
	dr := testService("DR", "rr", 0, "", "10.0.0.5:80")
	dr.Name, dr.Match = "dr", []Match{{FWMark: 7}}
	six := testService("NAT", "sh", 60*time.Second, "ffff:ffff:ffff:ffff::", "[2001:db8::3]:53")
	six.Name, six.Protocol, six.Match = "six", "udp", single("2001:db8::1", 53)
	svcs := []*Service{nat, dr, six}

	var logs []string
	var v *IPVS
	var other *genlConn // someone else's socket in the namespace; it also keeps the namespace alive
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The netlink socket stays in the namespace of the thread that
		// opens it; the thread is never unlocked, so it ends with this
		// goroutine instead of carrying the namespace elsewhere.
		runtime.LockOSThread()
		if err = unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return
		}
		if other, err = dialGenl(); err != nil {
			return
		}
		v, err = NewIPVS(svcs, func(l string) { logs = append(logs, l) })
	}()
	<-done
	if other != nil {
		defer other.close()
	}
	if errors.Is(err, errNoIPVS) {
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			v.Close()
		}
	}()
	peek := &IPVS{conn: other, family: v.family}

	// A service dhproxy did not create and does not configure.
	foreign := ipvsService{Family: unix.AF_INET, FWMark: 99, Sched: "rr", Netmask: 0xffffffff}
	if _, err := other.request(v.family, false, ipvsCmdNewService, ipvsGenlVersion, ipvsOp{cmd: ipvsCmdNewService, svc: foreign}.attrs()); err != nil {
		t.Fatal(err)
	}

	dump := func() string {
		t.Helper()
		kernel, err := peek.services()
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, s := range kernel {
			line := fmt.Sprintf("%s %s flags=%d timeout=%d netmask=%#x", s, s.Sched, s.Flags&^ipvsSvcFHashed, s.Timeout, s.Netmask)
			dests, err := peek.dests(s)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range dests {
				line += fmt.Sprintf(" -> %s fwd=%d w=%d", netip.AddrPortFrom(d.Addr, d.Port), d.Fwd, d.Weight)
			}
			lines = append(lines, line)
		}
		slices.Sort(lines)
		return strings.Join(lines, "\n")
	}
	dest := func(s *Service, i, weight int) Dest { return Dest{Addr: s.Reals[i].Addr, Weight: weight} }

	if err := v.Apply([]Desired{
		{Svc: nat, Dests: []Dest{dest(nat, 0, 1), dest(nat, 1, 2)}},
		{Svc: dr, Dests: []Dest{dest(dr, 0, 1)}},
		{Svc: six, Dests: []Dest{dest(six, 0, 1)}},
	}); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"FWM 7 rr flags=0 timeout=0 netmask=0xffffffff -> 10.0.0.5:0 fwd=3 w=1",
		"FWM 99 rr flags=0 timeout=0 netmask=0xffffffff",
		"TCP 10.0.0.100:80 wlc flags=1 timeout=50 netmask=0xffffff00 -> 10.0.0.3:8080 fwd=0 w=1 -> 10.0.0.4:8080 fwd=0 w=2",
		"UDP [2001:db8::1]:53 sh flags=1 timeout=60 netmask=0x40 -> [2001:db8::3]:53 fwd=0 w=1",
	}, "\n")
	if got := dump(); got != want {
		t.Fatalf("after the first Apply:\n%s\nwant\n%s", got, want)
	}

	// inhibit_on_failure on one server, the other gone, and someone
	// deleting the DR service behind dhproxy's back.
	if _, err := other.request(v.family, false, ipvsCmdDelService, ipvsGenlVersion, ipvsOp{cmd: ipvsCmdDelService, svc: ipvsService{Family: unix.AF_INET, FWMark: 7}}.attrs()); err != nil {
		t.Fatal(err)
	}
	second := []Desired{
		{Svc: nat, Dests: []Dest{dest(nat, 0, 0)}},
		{Svc: dr, Dests: []Dest{dest(dr, 0, 1)}},
		{Svc: six, Dests: []Dest{dest(six, 0, 1)}},
	}
	if err := v.Apply(second); err != nil {
		t.Fatal(err)
	}
	want = strings.Join([]string{
		"FWM 7 rr flags=0 timeout=0 netmask=0xffffffff -> 10.0.0.5:0 fwd=3 w=1",
		"FWM 99 rr flags=0 timeout=0 netmask=0xffffffff",
		"TCP 10.0.0.100:80 wlc flags=1 timeout=50 netmask=0xffffff00 -> 10.0.0.3:8080 fwd=0 w=0",
		"UDP [2001:db8::1]:53 sh flags=1 timeout=60 netmask=0x40 -> [2001:db8::3]:53 fwd=0 w=1",
	}, "\n")
	if got := dump(); got != want {
		t.Fatalf("after the second Apply:\n%s\nwant\n%s", got, want)
	}
	if !slices.Contains(logs, "IPVS service FWM 7 was removed by someone else; adding it again") {
		t.Errorf("logs: %q", logs)
	}
	if st := v.Stats(second); len(st) != 3 {
		t.Errorf("stats for %d destinations, want 3: %v", len(st), st)
	}

	closed = true
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := dump(), "FWM 99 rr flags=0 timeout=0 netmask=0xffffffff"; got != want {
		t.Fatalf("after Close:\n%s\nwant only the foreign service:\n%s", got, want)
	}
}
