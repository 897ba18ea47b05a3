package stats

import (
	"testing"
	"time"
)

// Idle_pct falls while the process burns CPU and is back near 100 when
// it sleeps.
func TestIdlePct(t *testing.T) {
	var s idleSampler
	s.pct = 100
	s.read()
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
	}
	busy := s.read()
	time.Sleep(300 * time.Millisecond)
	rested := s.read()
	if busy >= 90 || rested < 50 || rested <= busy {
		t.Errorf("Idle_pct: %d while busy, %d at rest", busy, rested)
	}
}
