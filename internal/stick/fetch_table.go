package stick

import (
	"strconv"

	"dhproxy/internal/sample"
)

// Fetches on a table as a whole and on its entries' trackers, with
// haproxy 2.6's answers:
//   - table_cnt([<table>]) the entries in use, table_avl([<table>]) the
//     free ones (size minus entries), of the current section's table or
//     the one named;
//   - sc_trackers(<ctr>[,<table>]), sc0_trackers([<table>])..sc2_: how
//     many connections track the entry the counter tracks (the "use" of
//     "show table"); with a table, the same key's entry there (0 when
//     absent); no sample when the counter tracks nothing;
//   - src_updt_conn_cnt([<table>]): the client address's entry, created
//     if needed, gets conn_cnt+1 (its new value answers) and its expiry
//     refreshed; no sample when the table does not store conn_cnt.

func init() {
	tableFetch := func(name string, answer func(*Table) int) {
		sample.RegisterFetch(&sample.FetchDef{
			Name: name, Args: []sample.ArgType{sample.ArgStr}, Out: sample.TypeInt, Phases: allPhases,
			Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
				tr, ok := t.(Tracker)
				if !ok {
					return false
				}
				tab := tr.StickTable(a.Byt[0])
				if tab == nil {
					return false
				}
				v.SetInt(int64(answer(tab)))
				return true
			}})
	}
	tableFetch("table_cnt", (*Table).Len)
	tableFetch("table_avl", func(t *Table) int { return max(0, t.cfg.Size-t.Len()) })
	sample.RegisterFetch(&sample.FetchDef{
		Name: "sc_trackers", Args: []sample.ArgType{sample.ArgInt, sample.ArgStr}, MinArgs: 1,
		Out: sample.TypeInt, Phases: allPhases, Prepare: checkCounterAt(0),
		Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
			return trackers(t, int(a.Int[0]), a.Byt[1], v)
		},
	})
	for n := range 3 {
		sample.RegisterFetch(&sample.FetchDef{
			Name: "sc" + strconv.Itoa(n) + "_trackers", Args: []sample.ArgType{sample.ArgStr},
			Out: sample.TypeInt, Phases: allPhases,
			Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
				return trackers(t, n, a.Byt[0], v)
			},
		})
	}
	sample.RegisterFetch(&sample.FetchDef{
		Name: "src_updt_conn_cnt", Args: []sample.ArgType{sample.ArgStr}, Out: sample.TypeInt, Phases: allPhases,
		Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
			return updateConnCnt(t, a.Byt[0], v)
		},
	})
}

// trackers answers sc_trackers for stick counter n.
func trackers(t sample.Txn, n int, table []byte, v *sample.Value) bool {
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
			v.SetInt(0)
			return true
		}
	}
	v.SetInt(int64(e.use.Load()))
	return true
}

// updateConnCnt is src_updt_conn_cnt (Track refreshes the expiry).
func updateConnCnt(t sample.Txn, table []byte, v *sample.Value) bool {
	tr, ok := t.(Tracker)
	if !ok {
		return false
	}
	tab := tr.StickTable(table)
	if tab == nil || !tab.StoresAt(ConnCnt, 0) {
		return false
	}
	buf := t.Scratch()
	start := len(*buf)
	k, ok := tab.AppendAddr(*buf, t.Src().Addr())
	if !ok {
		return false
	}
	now := tr.Now()
	e := tab.Track(k[start:], now)
	*buf = k[:start]
	if e == nil || e.data == nil {
		return false // a full table that may not purge
	}
	c := e.data
	c.mu.Lock()
	c.n[ConnCnt]++
	n := c.n[ConnCnt]
	c.mu.Unlock()
	v.SetInt(int64(n))
	return true
}
