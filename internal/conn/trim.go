package conn

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Go gives memory back to the system only after a collection finds it
// unused, and collections only run while the program allocates. A proxy that
// has served a burst and gone quiet would keep the burst's buffers and grown
// goroutine stacks for good. The trimmer notices that memory grew and that
// allocation has nearly stopped, then collects and returns what is free.
// Tick it every TrimEvery.
type Trimmer struct {
	samples    [5]metrics.Sample
	lastAllocs uint64
	base       uint64 // heap memory held after the last trim
	freed      uint64 // memory reported freed since the last trim
	// The last trim came while goroutines were still ending (their stacks
	// cleared but not all free yet): the first quiet tick that sees more
	// end trims once more.
	followUp bool
}

const (
	TrimEvery   = 250 * time.Millisecond
	trimGrowth  = 4 << 20   // heap memory grown since the last trim before trimming again
	trimStacks  = 256 << 10 // or goroutine stacks freed since (32 workers)
	quietAllocs = 1 << 20   // at most this much allocated per trimEvery counts as quiet
	quietJobs   = 64        // and at most this many connections started or woken and requests
)

// NewTrimmer gives back what startup left (the configuration's garbage)
// and starts from the memory held then. Its collections also pay the
// runtime's one-time costs of collecting before any client comes (the
// collector's code paged in, the span sets of both sweep generations for
// the size classes in use: about 1.5 MB that bench/idle.py counted as 0.3
// KiB per idle connection of the first burst).
func NewTrimmer() *Trimmer {
	runtime.GC()
	debug.FreeOSMemory()
	t := &Trimmer{}
	t.samples[0].Name = "/gc/heap/allocs:bytes"
	t.samples[1].Name = "/memory/classes/heap/objects:bytes"
	t.samples[2].Name = "/memory/classes/heap/stacks:bytes"
	t.samples[3].Name = "/memory/classes/heap/free:bytes"
	t.samples[4].Name = "/memory/classes/heap/unused:bytes"
	t.lastAllocs, t.base = t.read()
	return t
}

// read returns the bytes allocated so far and the heap memory the runtime
// holds: objects (live or not yet swept), stacks, the free space in its
// spans and the free pages it has not given back.
func (t *Trimmer) read() (allocs, inuse uint64) {
	metrics.Read(t.samples[:])
	for i := 1; i < len(t.samples); i++ {
		inuse += t.samples[i].Value.Uint64()
	}
	return t.samples[0].Value.Uint64(), inuse
}

// Tick runs every TrimEvery with an estimate of the memory released since
// the last tick that the runtime cannot see yet (the stacks of goroutines
// that ended) and the number of connections started or woken and requests
// served since (a proxy under load can allocate nothing: its workers,
// which come and go as parked connections wake, must not make it collect
// again and again); it reports whether it trimmed.
func (t *Trimmer) Tick(freed uint64, jobs int) bool {
	allocs, inuse := t.read()
	quiet := allocs-t.lastAllocs < quietAllocs && jobs <= quietJobs
	t.lastAllocs = allocs
	t.freed += freed
	if inuse < t.base {
		t.base = inuse
	}
	followUp := t.followUp && freed > 0
	if quiet && freed == 0 {
		t.followUp = false
	}
	if !quiet || inuse < t.base+trimGrowth && t.freed < trimStacks && !followUp {
		return false
	}
	t.followUp = !followUp
	t.freed = 0
	// Each collection halves the stacks of goroutines that use little of
	// theirs, and frees the spans of the stacks it released last time.
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	t.lastAllocs, t.base = t.read()
	return true
}
