package stick

import (
	"strconv"

	"dhproxy/internal/sample"
)

// Fetches that change what they read, as HAProxy has them:
// sc_inc_gpc0|1(<ctr>[,<table>]), sc0_inc_gpc0([<table>]) ..., the
// _clr_ forms, and src_inc_gpc0|1([<table>]) / src_clr_gpc0|1 for the
// client address's entry (created when absent, as haproxy creates it).
// An increment answers the new value (and moves the matching rate), a
// clear the value it cleared; a table that stores neither answers 0.

func init() {
	for _, w := range []struct {
		name     string
		cnt, rat DataType
		clear    bool
	}{
		{"inc_gpc0", GPC0, GPC0Rate, false}, {"inc_gpc1", GPC1, GPC1Rate, false},
		{"clr_gpc0", GPC0, GPC0Rate, true}, {"clr_gpc1", GPC1, GPC1Rate, true},
	} {
		cnt, rat, clear := w.cnt, w.rat, w.clear
		sample.RegisterFetch(&sample.FetchDef{
			Name: "sc_" + w.name, Args: []sample.ArgType{sample.ArgInt, sample.ArgStr}, MinArgs: 1,
			Out: sample.TypeInt, Phases: allPhases, Prepare: checkCounter,
			Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
				return writeCounter(t, int(a.Int[0]), a.Byt[1], cnt, rat, clear, v)
			},
		})
		for n := range 3 {
			sample.RegisterFetch(&sample.FetchDef{
				Name: "sc" + strconv.Itoa(n) + "_" + w.name, Args: []sample.ArgType{sample.ArgStr},
				Out: sample.TypeInt, Phases: allPhases,
				Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
					return writeCounter(t, n, a.Byt[0], cnt, rat, clear, v)
				},
			})
		}
		sample.RegisterFetch(&sample.FetchDef{
			Name: "src_" + w.name, Args: []sample.ArgType{sample.ArgStr},
			Out: sample.TypeInt, Phases: allPhases,
			Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
				return writeSrc(t, a.Byt[0], cnt, rat, clear, v)
			},
		})
	}
}

// writeCounter changes cnt of the entry counter n tracks (or, with a
// table name, of the same key's entry in that table, if present).
func writeCounter(t sample.Txn, n int, table []byte, cnt, rate DataType, clear bool, v *sample.Value) bool {
	tr, ok := t.(Tracker)
	if !ok {
		return false
	}
	tab, e := tr.StickCounter(n)
	if e == nil {
		return false
	}
	if len(table) > 0 {
		other := tr.StickTable(table)
		if other == nil {
			return false
		}
		buf := t.Scratch()
		start := len(*buf)
		*buf = tab.appendRawKey(*buf, e)
		e = other.Find((*buf)[start:], tr.Now())
		*buf = (*buf)[:start]
		if e == nil {
			return false
		}
		tab = other
	}
	v.SetInt(int64(tab.changeGPC(e, cnt, rate, clear, tr)))
	return true
}

// writeSrc changes cnt of the client address's entry, creating it.
func writeSrc(t sample.Txn, table []byte, cnt, rate DataType, clear bool, v *sample.Value) bool {
	tr, ok := t.(Tracker)
	if !ok {
		return false
	}
	tab := tr.StickTable(table)
	if tab == nil {
		return false
	}
	buf := t.Scratch()
	start := len(*buf)
	k, ok := tab.AppendAddr(*buf, t.Src().Addr())
	if !ok {
		return false
	}
	e := tab.Track(k[start:], tr.Now())
	*buf = k[:start]
	if e == nil {
		return false // a full table that may not purge
	}
	v.SetInt(int64(tab.changeGPC(e, cnt, rate, clear, tr)))
	return true
}

// changeGPC increments cnt (and its rate) or clears it, answering the new
// value, or the cleared one.
func (t *Table) changeGPC(e *Entry, cnt, rate DataType, clear bool, tr Tracker) uint64 {
	c := e.data
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.n[cnt]
	if clear {
		if t.cfg.Store[cnt] {
			c.n[cnt] = 0
		}
		return old
	}
	t.addRate(c, rate, Ticks(tr.Now()), 1)
	if !t.cfg.Store[cnt] {
		return 0
	}
	c.n[cnt]++
	return c.n[cnt]
}
