package stats

import (
	"runtime"
	"testing"
	"time"
)

// Idle_pct follows the CPU the process used over the wall time (per
// thread): low while it burns CPU, back near 100 when it sleeps. The
// expected figure is computed from the test's own measures, so a machine
// loaded by other work (less CPU per wall second) does not fail it.
func TestIdlePct(t *testing.T) {
	var s idleSampler
	s.pct = 100
	wall0, cpu0 := time.Now(), processCPU()
	s.read()
	for processCPU()-cpu0 < 200*time.Millisecond && time.Since(wall0) < 10*time.Second {
	}
	busy := s.read()
	used := float64(processCPU()-cpu0) / (float64(time.Since(wall0)) * float64(runtime.GOMAXPROCS(0)))
	want := int64(100 - used*100 + 0.5)
	if busy < want-5 || busy > want+5 || busy >= 100 {
		t.Errorf("Idle_pct while busy: %d, the process's own CPU over wall time gives %d", busy, want)
	}
	time.Sleep(300 * time.Millisecond)
	if rested := s.read(); rested < 50 || rested <= busy {
		t.Errorf("Idle_pct: %d while busy, %d at rest", busy, rested)
	}
}
