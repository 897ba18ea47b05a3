package logging

import (
	"fmt"
	"testing"
)

// TestRingDropsOldest: a full ring makes room by dropping its oldest
// lines, counting 1 + varint(len) + len bytes per line after a marker
// byte, as haproxy's ring does; a line larger than the ring is dropped.
func TestRingDropsOldest(t *testing.T) {
	if varintLen(239) != 1 || varintLen(240) != 2 || varintLen(240+16*128-1) != 2 || varintLen(240+16*128) != 3 {
		t.Fatal("varint sizes differ from haproxy's")
	}
	r := &Ring{size: 100, maxLen: 1000, used: 1, wake: make(chan struct{})}
	for i := range 10 {
		r.Write(fmt.Appendf(nil, "line %02d xxxxxxxxxx", i)) // 18 bytes: 20 with overhead
	}
	lines := r.Lines()
	// 99 usable bytes hold 4 lines of 20
	if len(lines) != 4 || string(lines[0]) != "line 06 xxxxxxxxxx" {
		t.Fatalf("ring holds %q", lines)
	}
	r.Write(make([]byte, 99))
	if r.Dropped() != 1 || len(r.Lines()) != 4 {
		t.Errorf("a line larger than the ring: dropped %d, %d lines left", r.Dropped(), len(r.Lines()))
	}
	got, next, _ := r.since(8)
	if len(got) != 2 || next != 10 {
		t.Errorf("since(8) = %d lines, next %d", len(got), next)
	}
}
