package stick

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The data types an entry can store ("stick-table ... store ..."), and the
// stick counters that update them: a request or connection "tracks" an
// entry (track-sc0..2) and every counter the table stores moves with it, as
// in HAProxy. Rates are HAProxy's freq_ctr: events of the current period
// plus the previous period's, weighted by how much of the current period
// is still to come, so that a limit refuses the same request number.

// DataType is a data type a table can store.
type DataType uint8

// In HAProxy's order (stktable_data_types), which "show table" follows.
const (
	GPT0 DataType = iota
	GPC0
	GPC0Rate
	ConnCnt
	ConnRate
	ConnCur
	SessCnt
	SessRate
	HTTPReqCnt
	HTTPReqRate
	HTTPErrCnt
	HTTPErrRate
	BytesInCnt
	BytesInRate
	BytesOutCnt
	BytesOutRate
	GPC1
	GPC1Rate
	// (haproxy's server_id comes here: entries of stick rules keep their
	// server apart, see Entry)
	HTTPFailCnt
	HTTPFailRate
	// (haproxy's server_key comes here) The arrays of haproxy 2.6:
	// gpt(N), gpc(N) and gpc_rate(N,period), N elements each (see
	// Config.Elems). They replace gpt0, gpc0/gpc1 and their rates, which
	// then read their element 0 (1 for gpc1).
	GPT
	GPC
	GPCRate
	NumData
)

// MaxElems is the largest array haproxy allows ("gpc(100)").
const MaxElems = 100

var dataNames = [NumData]string{
	"gpt0", "gpc0", "gpc0_rate", "conn_cnt", "conn_rate", "conn_cur", "sess_cnt", "sess_rate",
	"http_req_cnt", "http_req_rate", "http_err_cnt", "http_err_rate", "bytes_in_cnt", "bytes_in_rate",
	"bytes_out_cnt", "bytes_out_rate", "gpc1", "gpc1_rate", "http_fail_cnt", "http_fail_rate",
	"gpt", "gpc", "gpc_rate",
}

// String is the data type's name in the configuration.
func (d DataType) String() string { return dataNames[d] }

// IsRate tells whether d is a rate over a period (written "name(period)").
func (d DataType) IsRate() bool {
	switch d {
	case GPC0Rate, ConnRate, SessRate, HTTPReqRate, HTTPErrRate, BytesInRate, BytesOutRate, GPC1Rate, HTTPFailRate, GPCRate:
		return true
	}
	return false
}

// IsArray tells whether d holds Config.Elems[d] elements.
func (d DataType) IsArray() bool { return d == GPT || d == GPC || d == GPCRate }

// LookupData returns the data type named name.
func LookupData(name string) (DataType, bool) {
	for i, n := range dataNames {
		if n == name {
			return DataType(i), true
		}
	}
	return 0, false
}

// counters are an entry's stored data; mu guards them, as HAProxy's entry
// lock does.
type counters struct {
	mu   sync.Mutex
	n    [NumData]uint64
	rate [NumData]freqCtr
	// the arrays, as long as the table's Elems (nil when not stored)
	gpt, gpc []uint64
	gpcRate  []freqCtr
}

// newCounters sizes an entry's data for the table's arrays.
func (t *Table) newCounters() *counters {
	c := &counters{}
	if n := t.cfg.Elems[GPT]; n > 0 {
		c.gpt = make([]uint64, n)
	}
	if n := t.cfg.Elems[GPC]; n > 0 {
		c.gpc = make([]uint64, n)
	}
	if n := t.cfg.Elems[GPCRate]; n > 0 {
		c.gpcRate = make([]freqCtr, n)
	}
	return c
}

// val is the integer cell of a slot (slot's answer).
func (c *counters) val(d DataType, i int) *uint64 {
	switch d {
	case GPT:
		return &c.gpt[i]
	case GPC:
		return &c.gpc[i]
	}
	return &c.n[d]
}

// freq is the rate cell of a slot.
func (c *counters) freq(d DataType, i int) *freqCtr {
	if d == GPCRate {
		return &c.gpcRate[i]
	}
	return &c.rate[d]
}

// slot resolves element i of d to where the table keeps it: a scalar
// type is its own cell (i must be 0); gpt0, gpc0, gpc1 and their rates
// fall back on the arrays' elements when the table stores the arrays
// instead, as haproxy 2.6 reads them. ok is false when the table keeps
// no such element.
func (t *Table) slot(d DataType, i int) (DataType, int, bool) {
	if !d.IsArray() {
		if i != 0 {
			return 0, 0, false
		}
		if t.cfg.Store[d] {
			return d, 0, true
		}
		switch d {
		case GPT0:
			d = GPT
		case GPC0:
			d = GPC
		case GPC1:
			d, i = GPC, 1
		case GPC0Rate:
			d = GPCRate
		case GPC1Rate:
			d, i = GPCRate, 1
		default:
			return 0, 0, false
		}
	}
	if i < 0 || i >= t.cfg.Elems[d] {
		return 0, 0, false
	}
	return d, i, true
}

// freqCtr is HAProxy's freq_ctr over a period: tick is when the current
// period began, in milliseconds (HAProxy's now_ms, wrapping at 32 bits).
type freqCtr struct {
	tick, curr, prev uint32
}

// Ticks is a time as HAProxy's millisecond ticks.
func Ticks(now time.Time) uint32 { return uint32(now.UnixMilli()) }

// add counts inc events at now, rotating periods the way
// update_freq_ctr_period does.
func (f *freqCtr) add(now, period, inc uint32) {
	if now-f.tick < period {
		f.curr += inc
		return
	}
	f.prev, f.curr = f.curr, inc
	f.tick += period
	if now-f.tick >= period {
		// at least two periods went by
		f.prev, f.tick = 0, now
	}
	f.tick &^= 1 // HAProxy keeps the low bit as a rotation lock
}

// read is the rate at now over period (read_freq_ctr_period): the
// current period's events and the share of the previous period's still
// inside the sliding window; a rate of at most one event with nothing in
// the current period reads as is, so that it does not flap.
func (f *freqCtr) read(now, period uint32) uint64 {
	curr, past := uint64(f.curr), uint64(f.prev)
	remain := int64(int32(f.tick + period - now))
	if remain < 0 {
		remain += int64(period)
		if remain >= 0 {
			past = curr
		} else {
			past = 0
		}
		curr = 0
	}
	if curr == 0 && past <= 1 {
		return past
	}
	return (past*uint64(remain) + curr*uint64(period)) / uint64(period)
}

// Track returns the entry of key, creating it when absent, and refreshes
// its expiry; nil when the table is full and "nopurge" keeps it so. The
// caller then counts with Start and Stop.
func (t *Table) Track(key []byte, now time.Time) *Entry {
	sh := t.shardOf(key)
	n := now.UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.find(t.cfg.Type, key)
	if e == nil {
		t.expireTail(sh, n)
		for t.count.Add(1) > int64(t.cfg.Size) {
			t.count.Add(-1)
			if t.cfg.NoPurge || !t.purgeOldest(sh) {
				return nil
			}
		}
		e = t.newEntry(key)
	}
	t.touch(sh, e, n)
	return e
}

// Find returns the live entry of key without creating or touching it (the
// src_* fetches and table_* converters only read).
func (t *Table) Find(key []byte, now time.Time) *Entry {
	sh := t.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.find(t.cfg.Type, key)
	if e == nil || e.exp != 0 && now.UnixNano() >= e.exp {
		return nil
	}
	return e
}

// Refresh pushes e's expiry back, as HAProxy touches an entry when a
// tracker updates it or lets it go (unless it left the table meanwhile).
func (t *Table) Refresh(e *Entry, now time.Time) {
	sh := t.lockEntry(e)
	if sh != nil {
		t.touch(sh, e, now.UnixNano())
		sh.mu.Unlock()
	}
}

// lockEntry locks e's shard and returns it, or nil (and no lock) when e
// left the table.
func (t *Table) lockEntry(e *Entry) *shard {
	var sh *shard
	var cur *Entry
	if t.cfg.Type == String {
		sh = &t.shards[maphash.String(t.seed, e.str)&t.mask]
		sh.mu.Lock()
		cur = sh.str[e.str]
	} else {
		sh = t.shardOf(t.appendRawKey(make([]byte, 0, 16), e))
		sh.mu.Lock()
		cur = sh.fixed[e.fixed]
	}
	if cur != e {
		sh.mu.Unlock()
		return nil
	}
	return sh
}

// remaining is the time e has left before it expires, in milliseconds.
func (t *Table) remaining(e *Entry, now time.Time) int64 {
	sh := t.lockEntry(e)
	if sh == nil {
		return 0
	}
	exp := e.exp
	sh.mu.Unlock()
	if exp == 0 {
		return 0
	}
	return max(0, (exp-now.UnixNano())/int64(time.Millisecond))
}

// Start counts a new tracker of e (stream_start_counters): conn_cur,
// conn_cnt and conn_rate move, and the entry is in use until Stop.
func (t *Table) Start(e *Entry, now time.Time) {
	e.use.Add(1)
	if c := e.data; c != nil {
		ms := Ticks(now)
		c.mu.Lock()
		c.n[ConnCur]++
		c.n[ConnCnt]++
		t.addRate(c, ConnRate, 0, ms, 1)
		c.mu.Unlock()
	}
	t.Refresh(e, now)
}

// Stop ends a tracker of e: conn_cur goes down again.
func (t *Table) Stop(e *Entry, now time.Time) {
	e.use.Add(-1)
	if c := e.data; c != nil {
		c.mu.Lock()
		if c.n[ConnCur] > 0 {
			c.n[ConnCur]--
		}
		c.mu.Unlock()
	}
	t.Refresh(e, now)
}

// Count adds n events to a counter and to its rate (http_req_cnt and
// http_req_rate, ...): cnt and rate are the pair's two types.
func (t *Table) Count(e *Entry, cnt, rate DataType, n uint64, now time.Time) {
	t.CountAt(e, cnt, rate, 0, n, now)
}

// CountAt is Count on element i of arrays (sc-inc-gpc(i,...)).
func (t *Table) CountAt(e *Entry, cnt, rate DataType, i int, n uint64, now time.Time) {
	c := e.data
	if c == nil {
		return
	}
	c.mu.Lock()
	if d, j, ok := t.slot(cnt, i); ok {
		*c.val(d, j) += n
	}
	t.addRate(c, rate, i, Ticks(now), uint32(n))
	c.mu.Unlock()
}

// SetGPT stores v in element i of d, gpt0 or gpt (sc-set-gpt0,
// sc-set-gpt).
func (t *Table) SetGPT(e *Entry, d DataType, i int, v uint64) {
	c := e.data
	if c == nil {
		return
	}
	if d, j, ok := t.slot(d, i); ok {
		c.mu.Lock()
		*c.val(d, j) = v
		c.mu.Unlock()
	}
}

func (t *Table) addRate(c *counters, d DataType, i int, ms, n uint32) {
	if d, j, ok := t.slot(d, i); ok {
		c.freq(d, j).add(ms, t.period(d), n)
	}
}

func (t *Table) period(d DataType) uint32 { return uint32(t.cfg.Period[d].Milliseconds()) }

// Get reads a data type of e at now; false when the table does not store it.
func (t *Table) Get(e *Entry, d DataType, now time.Time) (uint64, bool) {
	return t.GetAt(e, d, 0, now)
}

// GetAt reads element i of d (an array, or i 0 of a scalar type).
func (t *Table) GetAt(e *Entry, d DataType, i int, now time.Time) (uint64, bool) {
	c := e.data
	d, i, ok := t.slot(d, i)
	if c == nil || !ok {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d.IsRate() {
		return c.freq(d, i).read(Ticks(now), t.period(d)), true
	}
	return *c.val(d, i), true
}

// Stores tells whether the table keeps data type d.
func (t *Table) Stores(d DataType) bool { return t.StoresAt(d, 0) }

// StoresAt tells whether the table keeps element i of d.
func (t *Table) StoresAt(d DataType, i int) bool {
	_, _, ok := t.slot(d, i)
	return ok
}

// TypeName is the key type as "show table" names it.
func (t *Table) TypeName() string {
	switch t.cfg.Type {
	case IP:
		return "ip"
	case IPv6:
		return "ipv6"
	case Integer:
		return "integer"
	}
	return "string"
}

// Dump calls fn with each live entry, in the order of their keys' bytes
// (HAProxy's tree order).
func (t *Table) Dump(now time.Time, fn func(e *Entry)) {
	n := now.UnixNano()
	var all []*Entry
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		t.expireTail(sh, n)
		for e := sh.tail; e != nil; e = e.prev {
			all = append(all, e)
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(all, func(a, b *Entry) int {
		if c := bytes.Compare(a.fixed[:], b.fixed[:]); c != 0 {
			return c
		}
		return strings.Compare(a.str, b.str)
	})
	for _, e := range all {
		fn(e)
	}
}

// Clear removes the entries that no tracker uses, as "clear table" does;
// match selects which (nil: all).
func (t *Table) Clear(match func(e *Entry) bool) {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for e := sh.tail; e != nil; {
			prev := e.prev
			if e.use.Load() == 0 && (match == nil || match(e)) {
				t.unlink(sh, e)
			}
			e = prev
		}
		sh.mu.Unlock()
	}
}

// AppendKey appends the entry's key as HAProxy prints it.
func (t *Table) AppendKey(dst []byte, e *Entry) []byte {
	switch t.cfg.Type {
	case IP:
		return netip.AddrFrom4([4]byte(e.fixed[:4])).AppendTo(dst)
	case IPv6:
		return netip.AddrFrom16(e.fixed).AppendTo(dst)
	case Integer:
		u := uint32(e.fixed[0])<<24 | uint32(e.fixed[1])<<16 | uint32(e.fixed[2])<<8 | uint32(e.fixed[3])
		return strconv.AppendUint(dst, uint64(u), 10)
	}
	return append(dst, e.str...)
}

// AppendEntry appends the line "show table" prints for e: its address,
// key, trackers, remaining time and stored data.
func (t *Table) AppendEntry(dst []byte, e *Entry, now time.Time) []byte {
	dst = fmt.Appendf(dst, "%p: key=", e)
	dst = t.AppendKey(dst, e)
	dst = fmt.Appendf(dst, " use=%d exp=%d", e.use.Load(), t.remaining(e, now))
	if e.srv != 0 {
		dst = fmt.Appendf(dst, " server_id=%d", e.srv)
	}
	for d := range NumData {
		if !t.cfg.Store[d] {
			continue
		}
		if d.IsArray() {
			dst = t.appendArray(dst, e, d, now)
			continue
		}
		dst = append(dst, ' ')
		dst = append(dst, dataNames[d]...)
		if d.IsRate() {
			dst = fmt.Appendf(dst, "(%d)", t.period(d))
		}
		v, _ := t.Get(e, d, now)
		dst = fmt.Appendf(dst, "=%d", v)
	}
	return append(dst, '\n')
}

// appendArray prints each element of array d as haproxy 2.6 does, the
// index after the name's first word: "gpc0=1 gpc1=0",
// "gpc0_rate(10000)=1".
func (t *Table) appendArray(dst []byte, e *Entry, d DataType, now time.Time) []byte {
	word, rest, _ := strings.Cut(dataNames[d], "_")
	for i := range t.cfg.Elems[d] {
		dst = fmt.Appendf(dst, " %s%d", word, i)
		if rest != "" {
			dst = append(dst, '_')
			dst = append(dst, rest...)
		}
		if d.IsRate() {
			dst = fmt.Appendf(dst, "(%d)", t.period(d))
		}
		v, _ := t.GetAt(e, d, i, now)
		dst = fmt.Appendf(dst, "=%d", v)
	}
	return dst
}
