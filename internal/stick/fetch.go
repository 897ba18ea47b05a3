package stick

import (
	"fmt"
	"strconv"
	"time"

	"dhproxy/internal/sample"
)

// The sample fetches and converters on stick counters and tables, with
// HAProxy's answers:
//   - reads: sc_<data>(<ctr>[,<table>]), sc0_<data>([<table>]) to sc2_,
//     src_<data>([<table>]), the table_<data>(<table>) converters, and
//     haproxy 2.6's array forms sc_get_gpc(<idx>,<ctr>[,<table>]),
//     src_get_gpc(<idx>,<table>), table_gpc(<idx>,<table>) and the like.
//     An untracked counter gives no sample, a key absent from the table 0,
//     data the table does not store no sample.
//   - writes: sc_inc_gpc0|1, sc_clr_gpc0|1, sc_inc_gpc, sc_clr_gpc (and the
//     sc0_..sc2_ and src_ forms; src_ creates the client address's entry as
//     haproxy does). An increment answers the new value (and moves the
//     matching rate), a clear the value it cleared; a table that stores
//     neither answers 0.

// Tracker is what a transaction offers these fetches; the stream
// implements it beside sample.Txn.
type Tracker interface {
	// StickCounter returns the table and entry stick counter n tracks
	// (nil entry: none).
	StickCounter(n int) (*Table, *Entry)
	// StickTable returns the table of the named section, or the current
	// section's for an empty name; nil when there is none.
	StickTable(name []byte) *Table
	// Now is the time counters are read at.
	Now() time.Time
}

// op is what a fetch does with its data.
type op uint8

const (
	opRead  op = iota
	opInc      // increment d and its rate
	opClear    // zero d
)

// counterFetch is one fetch or converter suffix: "get_gpc0" reads gpc0;
// shift divides a read count by a power of two (kbytes_*: the byte counts
// in KiB, as haproxy answers them); array ones take an element index
// before their other arguments.
type counterFetch struct {
	suffix string
	d      DataType
	rate   DataType // opInc: the rate that moves with d
	op     op
	shift  uint
	array  bool
}

var counterFetches = []counterFetch{
	{suffix: "http_req_rate", d: HTTPReqRate}, {suffix: "http_req_cnt", d: HTTPReqCnt},
	{suffix: "http_err_rate", d: HTTPErrRate}, {suffix: "http_err_cnt", d: HTTPErrCnt},
	{suffix: "http_fail_rate", d: HTTPFailRate}, {suffix: "http_fail_cnt", d: HTTPFailCnt},
	{suffix: "conn_cur", d: ConnCur}, {suffix: "conn_cnt", d: ConnCnt}, {suffix: "conn_rate", d: ConnRate},
	{suffix: "sess_cnt", d: SessCnt}, {suffix: "sess_rate", d: SessRate},
	{suffix: "bytes_in_rate", d: BytesInRate}, {suffix: "bytes_out_rate", d: BytesOutRate},
	{suffix: "get_gpc0", d: GPC0}, {suffix: "gpc0_rate", d: GPC0Rate}, {suffix: "get_gpc1", d: GPC1}, {suffix: "gpc1_rate", d: GPC1Rate},
	{suffix: "get_gpt0", d: GPT0},
	{suffix: "kbytes_in", d: BytesInCnt, shift: 10}, {suffix: "kbytes_out", d: BytesOutCnt, shift: 10},
	{suffix: "get_gpc", d: GPC, array: true}, {suffix: "gpc_rate", d: GPCRate, array: true},
	{suffix: "get_gpt", d: GPT, array: true},
	{suffix: "inc_gpc0", d: GPC0, rate: GPC0Rate, op: opInc}, {suffix: "inc_gpc1", d: GPC1, rate: GPC1Rate, op: opInc},
	{suffix: "clr_gpc0", d: GPC0, op: opClear}, {suffix: "clr_gpc1", d: GPC1, op: opClear},
	{suffix: "inc_gpc", d: GPC, rate: GPCRate, op: opInc, array: true},
	{suffix: "clr_gpc", d: GPC, op: opClear, array: true},
}

const allPhases = sample.PhaseConn | sample.PhaseReq | sample.PhaseRes

func init() {
	for i := range counterFetches {
		f := &counterFetches[i]
		// The array forms put the index first: sc_get_gpc(<idx>,<ctr>[,<table>]).
		var idxArg []sample.ArgType
		if f.array {
			idxArg = []sample.ArgType{sample.ArgInt}
		}
		at := len(idxArg)
		index := func(a *sample.Args) int {
			if f.array {
				return int(a.Int[0])
			}
			return 0
		}
		sample.RegisterFetch(&sample.FetchDef{
			Name: "sc_" + f.suffix, Args: append(idxArg, sample.ArgInt, sample.ArgStr), MinArgs: at + 1,
			Out: sample.TypeInt, Phases: allPhases, Prepare: checkCounterAt(at),
			Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
				return onCounter(t, int(a.Int[at]), a.Byt[at+1], f, index(a), v)
			},
		})
		if !f.array { // haproxy has no sc0_get_gpc
			for n := range 3 {
				sample.RegisterFetch(&sample.FetchDef{
					Name: "sc" + strconv.Itoa(n) + "_" + f.suffix, Args: []sample.ArgType{sample.ArgStr},
					Out: sample.TypeInt, Phases: allPhases,
					Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
						return onCounter(t, n, a.Byt[0], f, 0, v)
					},
				})
			}
		}
		// src_get_gpc(<idx>,<table>): the array forms need their table.
		sample.RegisterFetch(&sample.FetchDef{
			Name: "src_" + f.suffix, Args: append(idxArg, sample.ArgStr), MinArgs: 2 * at,
			Out: sample.TypeInt, Phases: allPhases,
			Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
				return onSrc(t, a.Byt[at], f, index(a), v)
			},
		})
		if f.op != opRead {
			continue
		}
		conv := f.suffix
		if len(conv) > 4 && conv[:4] == "get_" {
			conv = conv[4:]
		}
		sample.RegisterConverter(&sample.ConvDef{
			Name: "table_" + conv, Args: append(idxArg, sample.ArgStr), MinArgs: at + 1,
			In: sample.TypeAny, Out: sample.TypeInt,
			Fn: func(t sample.Txn, a *sample.Args, v *sample.Value) bool {
				return readKey(t, a.Byt[at], f, index(a), v)
			},
		})
	}
	sample.RegisterFetch(&sample.FetchDef{
		Name: "sc_tracked", Args: []sample.ArgType{sample.ArgInt, sample.ArgStr}, MinArgs: 1,
		Out: sample.TypeBool, Phases: allPhases, Prepare: checkCounterAt(0),
		Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
			return tracked(t, int(a.Int[0]), v)
		},
	})
	for n := range 3 {
		sample.RegisterFetch(&sample.FetchDef{
			Name: "sc" + strconv.Itoa(n) + "_tracked", Args: []sample.ArgType{sample.ArgStr},
			Out: sample.TypeBool, Phases: allPhases,
			Fn: func(t sample.Txn, _ *sample.Args, _ *sample.Iter, v *sample.Value) bool {
				return tracked(t, n, v)
			},
		})
	}
}

// checkCounterAt refuses a counter number (argument i) past the three
// HAProxy has.
func checkCounterAt(i int) func(*sample.Compiler, *sample.Args) error {
	return func(_ *sample.Compiler, a *sample.Args) error {
		if a.Int[i] < 0 || a.Int[i] > 2 {
			return fmt.Errorf("stick counter %d does not exist (0 to 2)", a.Int[i])
		}
		return nil
	}
}

func tracked(t sample.Txn, n int, v *sample.Value) bool {
	tr, ok := t.(Tracker)
	if !ok {
		return false
	}
	_, e := tr.StickCounter(n)
	v.SetBool(e != nil)
	return true
}

// onCounter runs f on the entry counter n tracks, or, with a table name,
// on the same key's entry in that table.
func onCounter(t sample.Txn, n int, table []byte, f *counterFetch, idx int, v *sample.Value) bool {
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
		if other == nil || f.op == opRead && !other.StoresAt(f.d, idx) {
			return false
		}
		buf := t.Scratch()
		start := len(*buf)
		*buf = tab.appendRawKey(*buf, e)
		e = other.Find((*buf)[start:], tr.Now())
		*buf = (*buf)[:start]
		tab = other
		if e == nil && f.op != opRead {
			return false
		}
	}
	return apply(tab, e, f, idx, tr.Now(), v)
}

// onSrc runs f on the client address's entry: a write creates it.
func onSrc(t sample.Txn, table []byte, f *counterFetch, idx int, v *sample.Value) bool {
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
	var e *Entry
	if f.op == opRead {
		e = tab.Find(k[start:], tr.Now())
	} else if e = tab.Track(k[start:], tr.Now()); e == nil {
		*buf = k[:start]
		return false // a full table that may not purge
	}
	*buf = k[:start]
	return apply(tab, e, f, idx, tr.Now(), v)
}

// readKey is a table_* converter: data of the entry keyed by v.
func readKey(t sample.Txn, table []byte, f *counterFetch, idx int, v *sample.Value) bool {
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
	var k []byte
	if v.Type == sample.TypeIP {
		k, ok = tab.AppendAddr(*buf, v.IP)
	} else if sample.Cast(v, sample.TypeStr, buf) {
		start = len(*buf)
		k, ok = tab.AppendString(*buf, v.Bytes)
	}
	if !ok {
		return false
	}
	e := tab.Find(k[start:], tr.Now())
	*buf = k[:start]
	return apply(tab, e, f, idx, tr.Now(), v)
}

// apply reads or changes element idx of f's data in e (nil for a read:
// the key is absent) and sets the answer.
func apply(tab *Table, e *Entry, f *counterFetch, idx int, now time.Time, v *sample.Value) bool {
	if f.op != opRead {
		v.SetInt(int64(tab.changeGPC(e, f.d, f.rate, idx, f.op == opClear, now)))
		return true
	}
	if e == nil {
		if !tab.StoresAt(f.d, idx) {
			return false
		}
		v.SetInt(0)
		return true
	}
	n, ok := tab.GetAt(e, f.d, idx, now)
	if !ok {
		return false
	}
	v.SetInt(int64(n >> f.shift))
	return true
}

// changeGPC increments element i of cnt (and its rate) or clears it,
// answering the new value, or the cleared one.
func (t *Table) changeGPC(e *Entry, cnt, rate DataType, i int, clear bool, now time.Time) uint64 {
	c := e.data
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d, j, stored := t.slot(cnt, i)
	if clear {
		if !stored {
			return 0
		}
		p := c.val(d, j)
		old := *p
		*p = 0
		return old
	}
	t.addRate(c, rate, i, Ticks(now), 1)
	if !stored {
		return 0
	}
	p := c.val(d, j)
	*p++
	return *p
}

// appendRawKey appends e's key in the table's format.
func (t *Table) appendRawKey(dst []byte, e *Entry) []byte {
	switch t.cfg.Type {
	case IP, Integer:
		return append(dst, e.fixed[:4]...)
	case IPv6:
		return append(dst, e.fixed[:]...)
	}
	return append(dst, e.str...)
}
