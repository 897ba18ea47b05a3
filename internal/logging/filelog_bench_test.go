package logging

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkFileLogLine is what "option httplog" to a "log file@" target
// costs per request: the line built and queued, and the file writer's
// share (its batched writes). The loop waits whenever half the queue is
// full, as no proxy produces lines at the rate of this loop, and reports
// the process's CPU time per line (cpu-ns/line: user + system, every
// goroutine) rather than the wall time, which includes the writer's
// linger.
func BenchmarkFileLogLine(b *testing.B) {
	l, err := newLogger([]spec{{address: "file@" + filepath.Join(b.TempDir(), "access.log"), format: "raw", facility: "local0", length: 4096}}, "haproxy", "")
	if err != nil {
		b.Fatal(err)
	}
	t := l.targets[0]
	e := httpEntry()
	buf := make([]byte, 0, 1024)
	cpu0 := cpuTime()
	b.ReportAllocs()
	for b.Loop() {
		buf = FormatHTTP(buf[:0], e)
		l.Send(LevelInfo, buf)
		for len(t.queue) > cap(t.queue)/2 {
			time.Sleep(time.Millisecond)
		}
	}
	l.Close() // the lines still queued are written within the measure
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/line")
	if d := l.Dropped(); d > 0 {
		b.Fatalf("%d of %d lines dropped: the figure would be too good", d, b.N)
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
