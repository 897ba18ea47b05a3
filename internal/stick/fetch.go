package stick

import (
	"fmt"
	"strconv"
	"time"

	"dhproxy/internal/sample"
)

// The sample fetches and converters reading stick counters and tables:
// sc_<data>(<ctr>[,<table>]), sc0_<data>([<table>]) to sc2_, src_<data>([<table>])
// and the table_<data>(<table>) converters, with HAProxy's answers: an
// untracked counter gives no sample, a key absent from the table gives 0,
// a data type the table does not store gives no sample.

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

// fetchData names the data of a fetch or converter suffix ("get_gpc0" for
// the fetches reads gpc0); shift divides the count by a power of two
// (kbytes_*: the byte counts in KiB, as haproxy answers them).
var fetchData = []struct {
	suffix string
	d      DataType
	shift  uint
}{
	{suffix: "http_req_rate", d: HTTPReqRate}, {suffix: "http_req_cnt", d: HTTPReqCnt},
	{suffix: "http_err_rate", d: HTTPErrRate}, {suffix: "http_err_cnt", d: HTTPErrCnt},
	{suffix: "http_fail_rate", d: HTTPFailRate}, {suffix: "http_fail_cnt", d: HTTPFailCnt},
	{suffix: "conn_cur", d: ConnCur}, {suffix: "conn_cnt", d: ConnCnt}, {suffix: "conn_rate", d: ConnRate},
	{suffix: "sess_cnt", d: SessCnt}, {suffix: "sess_rate", d: SessRate},
	{suffix: "bytes_in_rate", d: BytesInRate}, {suffix: "bytes_out_rate", d: BytesOutRate},
	{suffix: "get_gpc0", d: GPC0}, {suffix: "gpc0_rate", d: GPC0Rate}, {suffix: "get_gpc1", d: GPC1}, {suffix: "gpc1_rate", d: GPC1Rate},
	{suffix: "get_gpt0", d: GPT0},
	{suffix: "kbytes_in", d: BytesInCnt, shift: 10}, {suffix: "kbytes_out", d: BytesOutCnt, shift: 10},
}

// scaled applies a fetch's shift to the integer read when ok.
func scaled(ok bool, v *sample.Value, shift uint) bool {
	if ok {
		v.Int >>= shift
	}
	return ok
}

const allPhases = sample.PhaseConn | sample.PhaseReq | sample.PhaseRes

func init() {
	for _, f := range fetchData {
		d, shift := f.d, f.shift
		sample.RegisterFetch(&sample.FetchDef{
			Name: "sc_" + f.suffix, Args: []sample.ArgType{sample.ArgInt, sample.ArgStr}, MinArgs: 1,
			Out: sample.TypeInt, Phases: allPhases, Prepare: checkCounter,
			Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
				return scaled(readCounter(t, int(a.Int[0]), a.Byt[1], d, v), v, shift)
			},
		})
		for n := range 3 {
			sample.RegisterFetch(&sample.FetchDef{
				Name: "sc" + strconv.Itoa(n) + "_" + f.suffix, Args: []sample.ArgType{sample.ArgStr},
				Out: sample.TypeInt, Phases: allPhases,
				Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
					return scaled(readCounter(t, n, a.Byt[0], d, v), v, shift)
				},
			})
		}
		sample.RegisterFetch(&sample.FetchDef{
			Name: "src_" + f.suffix, Args: []sample.ArgType{sample.ArgStr},
			Out: sample.TypeInt, Phases: allPhases,
			Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
				return scaled(readSrc(t, a.Byt[0], d, v), v, shift)
			},
		})
		conv := f.suffix
		if len(conv) > 4 && conv[:4] == "get_" {
			conv = conv[4:]
		}
		sample.RegisterConverter(&sample.ConvDef{
			Name: "table_" + conv, Args: []sample.ArgType{sample.ArgStr}, MinArgs: 1,
			In: sample.TypeAny, Out: sample.TypeInt,
			Fn: func(t sample.Txn, a *sample.Args, v *sample.Value) bool {
				return scaled(readKey(t, a.Byt[0], d, v), v, shift)
			},
		})
	}
	sample.RegisterFetch(&sample.FetchDef{
		Name: "sc_tracked", Args: []sample.ArgType{sample.ArgInt, sample.ArgStr}, MinArgs: 1,
		Out: sample.TypeBool, Phases: allPhases, Prepare: checkCounter,
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

// checkCounter refuses a counter number past the three HAProxy has.
func checkCounter(_ *sample.Compiler, a *sample.Args) error {
	if a.Int[0] < 0 || a.Int[0] > 2 {
		return fmt.Errorf("stick counter %d does not exist (0 to 2)", a.Int[0])
	}
	return nil
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

// readCounter reads data d of the entry counter n tracks, or, with a
// table name, of the same key in that table.
func readCounter(t sample.Txn, n int, table []byte, d DataType, v *sample.Value) bool {
	tr, ok := t.(Tracker)
	if !ok {
		return false
	}
	tab, e := tr.StickCounter(n)
	if e == nil {
		return false
	}
	now := tr.Now()
	if len(table) > 0 {
		other := tr.StickTable(table)
		if other == nil {
			return false
		}
		if !other.Stores(d) {
			return false
		}
		buf := t.Scratch()
		start := len(*buf)
		*buf = tab.appendRawKey(*buf, e)
		e = other.Find((*buf)[start:], now)
		*buf = (*buf)[:start]
		tab = other
		if e == nil {
			v.SetInt(0)
			return true
		}
	}
	return readEntry(tab, e, d, now, v)
}

func readEntry(tab *Table, e *Entry, d DataType, now time.Time, v *sample.Value) bool {
	if e == nil {
		if !tab.Stores(d) {
			return false
		}
		v.SetInt(0)
		return true
	}
	n, ok := tab.Get(e, d, now)
	if !ok {
		return false
	}
	v.SetInt(int64(n))
	return true
}

// readSrc reads data d of the client address's entry.
func readSrc(t sample.Txn, table []byte, d DataType, v *sample.Value) bool {
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
	e := tab.Find(k[start:], tr.Now())
	*buf = k[:start]
	return readEntry(tab, e, d, tr.Now(), v)
}

// readKey is a table_* converter: data d of the entry keyed by v.
func readKey(t sample.Txn, table []byte, d DataType, v *sample.Value) bool {
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
	return readEntry(tab, e, d, tr.Now(), v)
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
