package conn

import "testing"

// A changed limit takes effect on the next acquire: lowering it holds new
// connections back, raising it lets them through.
func TestLimitChangesAtRunTime(t *testing.T) {
	var l Limit
	l.Init(1)
	if !l.TryAcquire() || l.TryAcquire() {
		t.Fatal("limit 1: want one slot")
	}
	l.Set(2)
	if !l.TryAcquire() {
		t.Fatal("raised to 2: want a second slot")
	}
	<-l.Wake() // Set signalled the waiters
	l.Release()
	if len(l.wake) != 1 {
		t.Fatal("a release wakes a waiting accept loop")
	}
	l.Set(0)
	for range 100 {
		if !l.TryAcquire() {
			t.Fatal("0: no limit")
		}
	}
}
