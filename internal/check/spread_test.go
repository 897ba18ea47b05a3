package check

import (
	"testing"
	"time"
)

// "spread-checks 50" varies each interval by up to half of it, either way,
// and really varies it; 0 keeps it exact.
func TestSpreadChecks(t *testing.T) {
	const inter = 2 * time.Second
	if d := spread(inter, 0); d != inter {
		t.Fatalf("spread-checks 0: %v, want %v", d, inter)
	}
	lo, hi := inter, inter
	for range 2000 {
		d := spread(inter, 50)
		if d < time.Second || d > 3*time.Second {
			t.Fatalf("spread-checks 50: %v outside [1s, 3s]", d)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo > 1100*time.Millisecond || hi < 2900*time.Millisecond {
		t.Errorf("spread-checks 50 drew only [%v, %v] in 2000 tries", lo, hi)
	}
}
