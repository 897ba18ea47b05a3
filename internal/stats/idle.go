package stats

import (
	"runtime"
	"sync"
	"syscall"
	"time"
)

// idleSampler computes "show info" Idle_pct: the share of the process's
// CPU capacity (GOMAXPROCS threads) it did not use since the previous
// reading, as haproxy reports its threads' idle time. Readings closer than
// minIdleWindow apart repeat the last value.
type idleSampler struct {
	mu   sync.Mutex
	wall time.Time
	cpu  time.Duration
	pct  int64
}

const minIdleWindow = 100 * time.Millisecond

var idle = idleSampler{pct: 100}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (s *idleSampler) read() int64 {
	now, cpu := time.Now(), processCPU()
	s.mu.Lock()
	defer s.mu.Unlock()
	if dw := now.Sub(s.wall); !s.wall.IsZero() && dw >= minIdleWindow {
		busy := float64(cpu-s.cpu) / (float64(dw) * float64(runtime.GOMAXPROCS(0)))
		s.pct = min(max(int64(100-busy*100+0.5), 0), 100)
	}
	if s.wall.IsZero() || now.Sub(s.wall) >= minIdleWindow {
		s.wall, s.cpu = now, cpu
	}
	return s.pct
}
