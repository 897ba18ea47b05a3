package stream

import "testing"

// A changed limit takes effect on the next acquire: lowering it holds new
// connections back, raising it lets them through.
func TestConnLimitChangesAtRunTime(t *testing.T) {
	var l connLimit
	l.init(1)
	if !l.tryAcquire() || l.tryAcquire() {
		t.Fatal("limit 1: want one slot")
	}
	l.set(2)
	if !l.tryAcquire() {
		t.Fatal("raised to 2: want a second slot")
	}
	<-l.wake // set signalled the waiters
	l.release()
	if len(l.wake) != 1 {
		t.Fatal("a release wakes a waiting accept loop")
	}
	l.set(0)
	for range 100 {
		if !l.tryAcquire() {
			t.Fatal("0: no limit")
		}
	}
}
