package stream

import (
	"testing"
	"time"
)

// after reads the clock as the time passed since a base: the date it
// gives is the one time.Now would, whether the base has a monotonic
// reading or not (a parked connection's accept date has none).
func TestAfterIsNow(t *testing.T) {
	for _, base := range []time.Time{{}, time.Now(), time.Now().Round(0), time.Now().Add(-time.Hour)} {
		time.Sleep(time.Millisecond)
		before := time.Now()
		got := after(base)
		past := time.Now()
		if got.Before(before) || got.After(past) {
			t.Errorf("after(%v) = %v, not between %v and %v", base, got, before, past)
		}
		// The wall clock reading agrees too (log dates are printed from it).
		if w := got.Round(0); w.Before(before.Round(0).Add(-time.Millisecond)) || w.After(past.Round(0).Add(time.Millisecond)) {
			t.Errorf("after(%v) wall clock %v, not between %v and %v", base, w, before, past)
		}
	}
}
