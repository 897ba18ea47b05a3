package conn

import (
	"runtime"
	"runtime/debug"
	"testing"
)

var trimBallast [][]byte

func TestTrimmerReturnsBurstMemory(t *testing.T) {
	// Automatic collections would free the burst before the trimmer sees it.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	tr := NewTrimmer()
	for range 48 {
		trimBallast = append(trimBallast, make([]byte, 1<<20))
	}
	if tr.Tick(0, 0) {
		t.Fatal("trimmed while allocating")
	}
	_, before := tr.read()
	trimBallast = nil
	if !tr.Tick(0, 0) {
		t.Fatal("a quiet process that grew by 48 MiB was not trimmed")
	}
	_, after := tr.read()
	if before-after < 32<<20 {
		t.Fatalf("trim freed %d bytes, want at least 32 MiB", before-after)
	}
	if tr.Tick(0, 0) {
		t.Fatal("trimmed again without growth")
	}
	// The workers of a burst that end after its first trim (idle for
	// a purge tick or two) leave their stacks and session objects: 32 of them (8 KiB
	// of stack each) are worth another trim.
	if tr.Tick(16*8<<10, 0) {
		t.Fatal("trimmed after 16 workers ended")
	}
	if !tr.Tick(16*8<<10, 0) {
		t.Fatal("not trimmed after 32 workers ended")
	}
	// Under load, workers end as parked connections wake while little is
	// allocated: no trim then.
	if tr.Tick(trimStacks, quietJobs+1) {
		t.Fatal("trimmed while connections came and went")
	}
}

// A collection frees a burst's objects but the runtime keeps their pages
// until its slow scavenger gets to them: the trimmer counts them as held.
func TestTrimmerReturnsPagesACollectionFreed(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	tr := NewTrimmer()
	growHeap()
	trimBallast = nil
	runtime.GC()
	if tr.Tick(0, 0) {
		t.Fatal("trimmed while allocating")
	}
	if !tr.Tick(0, 0) {
		t.Fatalf("%d MiB freed by a collection and kept from the system were not trimmed", 2*trimGrowth>>20)
	}
}

// Workers that end just after a trim leave dead goroutines whose stacks
// the runtime frees at its next collection only, and stack spans pinned by
// them (idle.py read 1.3-1.9 MB of such stacks one second after a burst in
// one run of eight): the first quiet tick that sees any end trims once
// more, without chaining further trims.
func TestTrimmerFollowsUpOnWorkersEndingAfterATrim(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	grow := func(tr *Trimmer) {
		t.Helper()
		growHeap()
		tr.Tick(0, 0)
		trimBallast = nil
		if !tr.Tick(0, 0) {
			t.Fatal("the burst was not trimmed")
		}
	}
	tr := NewTrimmer()
	grow(tr)
	if !tr.Tick(8<<10, 0) {
		t.Fatal("no follow-up trim after a worker ended")
	}
	if tr.Tick(8<<10, 0) {
		t.Fatal("a follow-up trim was followed up")
	}
	grow(tr)
	tr.Tick(0, 0) // quiet, nothing ended: the follow-up is off
	if tr.Tick(8<<10, 0) {
		t.Fatal("trimmed after one worker ended a quiet tick later")
	}
}

// Startup's garbage goes back to the system when the trimmer starts.
func TestNewTrimmerReturnsStartupGarbage(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	probe := NewTrimmer()
	growHeap()
	trimBallast = nil
	_, before := probe.read()
	_, after := NewTrimmer().read()
	if before-after < trimGrowth {
		t.Fatalf("a new trimmer returned %d bytes of startup garbage, want at least %d", before-after, trimGrowth)
	}
}

// growHeap allocates twice the trimmer's growth threshold into trimBallast.
func growHeap() {
	for range 2 * trimGrowth >> 20 {
		trimBallast = append(trimBallast, make([]byte, 1<<20))
	}
}
