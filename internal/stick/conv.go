package stick

import (
	"encoding/binary"
	"net/netip"
	"time"

	"dhproxy/internal/sample"
)

// The converters that look the input up in a table without touching the
// entry: in_table (is the key there), table_expire and table_idle (its
// remaining and idle time in ms; absent: no sample, or the default
// given), table_server_id (the server a stick rule stored; absent: 0) and
// table_trackers (the stick counters on it; absent: 0).

// StoreServerIDs marks the table as one a stick rule stores server ids
// in (haproxy then adds the server_id data type table_server_id reads).
// Call it before the table serves.
func (t *Table) StoreServerIDs() { t.serverIDs = true }

func init() {
	conv := func(name string, out sample.Type, minArgs int, fn func(tab *Table, e *Entry, a *sample.Args, now time.Time, v *sample.Value) bool) {
		args := []sample.ArgType{sample.ArgStr}
		if minArgs == 0 { // table_expire, table_idle: an optional default
			args = append(args, sample.ArgInt)
		}
		sample.RegisterConverter(&sample.ConvDef{Name: name, Args: args, MinArgs: 1, In: sample.TypeAny, Out: out,
			Fn: func(t sample.Txn, a *sample.Args, v *sample.Value) bool {
				tr, ok := t.(Tracker)
				if !ok {
					return false
				}
				tab := tr.StickTable(a.Byt[0])
				if tab == nil {
					return false
				}
				e, ok := tab.findSample(t, v, tr.Now())
				if !ok {
					return false
				}
				return fn(tab, e, a, tr.Now(), v)
			}})
	}
	conv("in_table", sample.TypeBool, 1, func(_ *Table, e *Entry, _ *sample.Args, _ time.Time, v *sample.Value) bool {
		v.SetBool(e != nil)
		return true
	})
	conv("table_trackers", sample.TypeInt, 1, func(_ *Table, e *Entry, _ *sample.Args, _ time.Time, v *sample.Value) bool {
		n := int64(0)
		if e != nil {
			// haproxy counts the reference its own lookup holds
			n = int64(e.use.Load()) + 1
		}
		v.SetInt(n)
		return true
	})
	conv("table_server_id", sample.TypeInt, 1, func(tab *Table, e *Entry, _ *sample.Args, _ time.Time, v *sample.Value) bool {
		switch {
		case e == nil:
			v.SetInt(0)
		case !tab.serverIDs:
			return false // no server_id stored in this table
		default:
			v.SetInt(int64(e.srv))
		}
		return true
	})
	timeConv := func(name string, ms func(tab *Table, e *Entry, now time.Time) int64) {
		conv(name, sample.TypeInt, 0, func(tab *Table, e *Entry, a *sample.Args, now time.Time, v *sample.Value) bool {
			switch {
			case e != nil:
				v.SetInt(ms(tab, e, now))
			case a.N > 1:
				v.SetInt(a.Int[1])
			default:
				return false
			}
			return true
		})
	}
	timeConv("table_expire", func(tab *Table, e *Entry, now time.Time) int64 { return tab.remaining(e, now) })
	timeConv("table_idle", func(tab *Table, e *Entry, now time.Time) int64 {
		sh := tab.lockEntry(e)
		if sh == nil {
			return 0
		}
		seen := e.seen
		sh.mu.Unlock()
		return max(0, (now.UnixNano()-seen)/int64(time.Millisecond))
	})
}

// findSample looks the sample up as a key of the table: nil when absent,
// ok false when the sample is no key of the table's type (a name for an
// address table). An integer is an IPv4 address for an address table,
// as haproxy casts it.
func (t *Table) findSample(tx sample.Txn, v *sample.Value, now time.Time) (e *Entry, ok bool) {
	buf := tx.Scratch()
	start := len(*buf)
	var k []byte
	switch {
	case v.Type == sample.TypeIP:
		k, ok = t.AppendAddr(*buf, v.IP)
	case (v.Type == sample.TypeInt || v.Type == sample.TypeBool) && (t.cfg.Type == IP || t.cfg.Type == IPv6):
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v.Int))
		k, ok = t.AppendAddr(*buf, netip.AddrFrom4(b))
	default:
		s := *v
		if sample.Cast(&s, sample.TypeStr, buf) {
			start = len(*buf)
			k, ok = t.AppendString(*buf, s.Bytes)
		}
	}
	if !ok {
		return nil, false
	}
	e = t.Find(k[start:], now)
	*buf = k[:start]
	return e, true
}
