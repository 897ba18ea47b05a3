// Package process applies the global section's process settings to the
// serving process: "nbthread" and "cpu-map" at start, then, once every
// socket and file that needs root is open, "chroot" and "user"/"group"
// (the privileges dropped), keeping only CAP_NET_ADMIN and CAP_NET_RAW
// when VRRP or virtual servers run in the process.
package process

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Settings are the global section's process keywords.
type Settings struct {
	UID, GID int    // -1: unchanged
	Chroot   string // "": none
	Nbthread int    // 0: Go's default (one per CPU)
	CPUs     []int  // the union of the "cpu-map" sets
}

// ApplyThreads sets GOMAXPROCS from "nbthread" and pins every thread of the
// process to the "cpu-map" CPUs. Go schedules goroutines over its threads
// itself, so cpu-map cannot pin one thread per CPU as HAProxy does: the
// union of the listed CPUs is used (best effort: an error is returned for
// a warning, nothing stops).
func ApplyThreads(g Settings) error {
	if g.Nbthread > 0 {
		runtime.GOMAXPROCS(g.Nbthread)
	}
	if len(g.CPUs) == 0 {
		return nil
	}
	var set unix.CPUSet
	for _, c := range g.CPUs {
		set.Set(c)
	}
	// sched_setaffinity applies to one thread: every thread of the process
	// is set (threads started later inherit it). A thread that an unpinned
	// one started during a pass is found by the next pass.
	var errs []error
	done := map[int]bool{}
	for pass := 0; pass < 10; pass++ {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("cpu-map: %w", err)
		}
		found := false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil || done[tid] {
				continue
			}
			found, done[tid] = true, true
			if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
				errs = append(errs, err)
			}
		}
		if !found {
			break
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cpu-map: %w", errs[0])
	}
	return nil
}

// Capabilities kept by a process that runs VRRP or virtual servers after
// it dropped its privileges.
var netCaps = []uintptr{unix.CAP_NET_ADMIN, unix.CAP_NET_RAW}

// ErrCapsPerThread says why privileges cannot be dropped while keeping
// network capabilities: capabilities belong to each thread, and this
// binary (built with cgo) cannot change them on all of its threads.
var ErrCapsPerThread = errors.New("capabilities cannot be kept on every thread of a binary built with cgo (build with CGO_ENABLED=0)")

// Drop applies "chroot", then "gid"/"group" and "uid"/"user". With
// keepNet, CAP_NET_ADMIN and CAP_NET_RAW stay effective, permitted and
// ambient (VRRP raw sockets, VIP and virtual server changes over netlink);
// every other capability goes. Nothing to do when neither is configured or
// when the process does not run as root.
func Drop(g Settings, keepNet bool) error {
	if g.Chroot == "" && g.UID < 0 && g.GID < 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		if g.Chroot != "" || (g.UID >= 0 && g.UID != os.Geteuid()) {
			return fmt.Errorf("[%s.main()] Cannot chroot or change user: not started as root", "dhproxy")
		}
		return nil
	}
	changeID := (g.UID >= 0 && g.UID != 0) || (g.GID >= 0 && g.GID != 0)
	if keepNet && changeID {
		if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 1, 0); e != 0 {
			if e == syscall.ENOTSUP {
				return ErrCapsPerThread
			}
			return fmt.Errorf("prctl(PR_SET_KEEPCAPS): %w", e)
		}
	}
	if g.Chroot != "" {
		if err := unix.Chroot(g.Chroot); err != nil {
			return fmt.Errorf("[dhproxy.main()] Cannot chroot(%s): %w", g.Chroot, err)
		}
		if err := os.Chdir("/"); err != nil {
			return fmt.Errorf("[dhproxy.main()] Cannot chdir(/) in chroot %s: %w", g.Chroot, err)
		}
	}
	// syscall's set*id change every thread of the process.
	if g.GID >= 0 {
		if err := syscall.Setgroups([]int{g.GID}); err != nil {
			return fmt.Errorf("[dhproxy.main()] Failed to drop supplementary groups: %w", err)
		}
		if err := syscall.Setgid(g.GID); err != nil {
			return fmt.Errorf("[dhproxy.main()] Cannot set gid %d: %w", g.GID, err)
		}
	}
	if g.UID >= 0 {
		if err := syscall.Setuid(g.UID); err != nil {
			return fmt.Errorf("[dhproxy.main()] Cannot set uid %d: %w", g.UID, err)
		}
	}
	if keepNet && changeID {
		return keepNetCaps()
	}
	return nil
}

// keepNetCaps leaves CAP_NET_ADMIN and CAP_NET_RAW, and nothing else, in
// every thread's effective, permitted, inheritable and ambient sets.
func keepNetCaps() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for _, c := range netCaps {
		data[c/32].Effective |= 1 << (c % 32)
		data[c/32].Permitted |= 1 << (c % 32)
		data[c/32].Inheritable |= 1 << (c % 32)
	}
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	for _, c := range netCaps {
		if _, _, e := syscall.AllThreadsSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, c, 0, 0, 0); e != 0 {
			return fmt.Errorf("prctl(PR_CAP_AMBIENT_RAISE): %w", e)
		}
	}
	runtime.KeepAlive(&hdr)
	runtime.KeepAlive(&data)
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 0, 0); e != 0 {
		return fmt.Errorf("prctl(PR_SET_KEEPCAPS): %w", e)
	}
	return nil
}

// SetDumpable is "set-dumpable": the process may leave a core dump even
// after changing its user (the kernel clears that flag on setuid), and
// the core and file size limits go up to their hard limits, as HAProxy
// does.
func SetDumpable() error {
	for _, res := range []int{unix.RLIMIT_CORE, unix.RLIMIT_FSIZE} {
		var l unix.Rlimit
		if unix.Getrlimit(res, &l) == nil && l.Cur < l.Max {
			l.Cur = l.Max
			unix.Setrlimit(res, &l) // best effort, as HAProxy
		}
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set-dumpable: prctl(PR_SET_DUMPABLE): %w", err)
	}
	return nil
}
