package runtimeapi

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// "show activity" and "show pools" describe haproxy's scheduler loops and
// memory pools, which dhproxy does not have: the Go runtime's own figures
// stand in for them, each under a name saying what it is.
func init() {
	commands = append(commands,
		command{[]string{"show", "activity"}, "show activity", "show per-thread activity stats (for support/developers)", levelUser, cmdShowActivity},
		command{[]string{"show", "pools"}, "show pools", "report information about the memory pools usage", levelUser, cmdShowPools},
	)
}

// cmdShowActivity keeps haproxy's "name: total" lines for the figures that
// exist here (date_now, accepted: sessions of the frontends and runtime API
// connections) and adds the Go scheduler's.
func cmdShowActivity(s *session, _ []string) string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	accepted := s.srv.accepted.Load() // the runtime API's, which haproxy counts too
	for _, v := range s.srv.src.RT.Proxies() {
		if v.FE != nil {
			accepted += v.FE.Stats.Stot.Load()
		}
	}
	now := time.Now()
	var b strings.Builder
	procs := runtime.GOMAXPROCS(0)
	fmt.Fprintf(&b, "thread_id: 1 (1..%d)\n", procs)
	fmt.Fprintf(&b, "date_now: %d.%06d\n", now.Unix(), now.Nanosecond()/1000)
	fmt.Fprintf(&b, "accepted: %d\n", accepted)
	fmt.Fprintf(&b, "go_maxprocs: %d\n", procs)
	fmt.Fprintf(&b, "go_goroutines: %d\n", runtime.NumGoroutine())
	fmt.Fprintf(&b, "go_cgo_calls: %d\n", runtime.NumCgoCall())
	fmt.Fprintf(&b, "go_gc_cycles: %d\n", ms.NumGC)
	fmt.Fprintf(&b, "go_gc_pause_total_us: %d\n", ms.PauseTotalNs/1000)
	fmt.Fprintf(&b, "go_gc_cpu_fraction: %.6f\n", ms.GCCPUFraction)
	return b.String()
}

// cmdShowPools lists the Go allocator's size classes in haproxy's pool
// line format: a size class is the closest thing to a pool of same-sized
// objects. "allocated" and "used" are both the live objects (Go keeps no
// per-class free cache figure), "failures" are 0 (allocation failure
// ends a Go program).
func cmdShowPools(_ *session, _ []string) string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var b strings.Builder
	b.WriteString("Dumping pools usage. Use SIGQUIT to flush them.\n")
	pools, total := 0, uint64(0)
	for _, c := range ms.BySize {
		if c.Mallocs == 0 {
			continue
		}
		live := c.Mallocs - c.Frees
		bytes := live * uint64(c.Size)
		fmt.Fprintf(&b, "  - Pool go-size-%d (%d bytes) : %d allocated (%d bytes), %d used, needed_avg %d, 0 failures, 1 users [SHARED]\n",
			c.Size, c.Size, live, bytes, live, live)
		pools++
		total += bytes
	}
	fmt.Fprintf(&b, "Total: %d pools, %d bytes allocated, %d used.\n", pools, total, total)
	fmt.Fprintf(&b, "Go heap: %d bytes in use, %d bytes obtained from the system, %d objects.\n", ms.HeapInuse, ms.HeapSys, ms.HeapObjects)
	return b.String()
}
