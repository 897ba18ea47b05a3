package stick

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// The values below follow HAProxy's update_freq_ctr_period and
// read_freq_ctr_period step by step.
func TestFreqCtrSlidingWindow(t *testing.T) {
	var f freqCtr
	const period = 10000
	f.add(100001, period, 1) // first event: the period starts here (even tick)
	if f.tick != 100000 || f.curr != 1 || f.prev != 0 {
		t.Fatalf("after first event: %+v", f)
	}
	if r := f.read(100001, period); r != 1 {
		t.Fatalf("rate = %d, want 1", r)
	}
	for range 10 {
		f.add(105000, period, 1)
	}
	if r := f.read(105000, period); r != 11 {
		t.Fatalf("rate = %d, want 11", r)
	}
	// 2 s into the next period: 80% of the previous one still counts.
	if r := f.read(112000, period); r != 8 {
		t.Fatalf("rate after rotation, no new event = %d, want 8 (11*0.8)", r)
	}
	f.add(112000, period, 1)
	if f.tick != 110000 || f.prev != 11 || f.curr != 1 {
		t.Fatalf("after rotation: %+v", f)
	}
	if r := f.read(112000, period); r != 9 {
		t.Fatalf("rate = %d, want 9 (1 + 11*0.8)", r)
	}
	// Two periods later nothing is left.
	if r := f.read(130001, period); r != 0 {
		t.Fatalf("rate two periods later = %d, want 0", r)
	}
	f.add(135000, period, 1)
	if f.prev != 0 || f.curr != 1 || f.tick != 135000 {
		t.Fatalf("after a long pause: %+v", f)
	}
	// A lone past event reads as 1 for the whole next period (no flapping).
	var g freqCtr
	g.add(200000, period, 1)
	if r := g.read(219000, period); r != 1 {
		t.Fatalf("lone event one period later = %d, want 1", r)
	}
}

func rateTable() *Table {
	c := Config{Type: IP, Size: 10, Expire: 30 * time.Second}
	c.Store[HTTPReqRate], c.Period[HTTPReqRate] = true, 10*time.Second
	c.Store[HTTPReqCnt] = true
	c.Store[ConnCur] = true
	c.Store[GPC0] = true
	return New(c)
}

func TestTrackCounters(t *testing.T) {
	tab := rateTable()
	k := ipKey(t, tab, "127.0.0.1")
	for i := range 3 {
		e := tab.Track(k, t0)
		tab.Start(e, t0)
		tab.Count(e, HTTPReqCnt, HTTPReqRate, 1, t0)
		if r, ok := tab.Get(e, HTTPReqRate, t0); !ok || r != uint64(i+1) {
			t.Fatalf("request %d: rate %d %v", i+1, r, ok)
		}
		if c, _ := tab.Get(e, ConnCur, t0); c != 1 {
			t.Fatalf("conn_cur while tracked = %d", c)
		}
		tab.Stop(e, t0)
	}
	e := tab.Find(k, t0)
	if e == nil {
		t.Fatal("tracked key not found")
	}
	if _, ok := tab.Get(e, ConnRate, t0); ok {
		t.Fatal("conn_rate is not stored but Get answered")
	}
	line := string(tab.AppendEntry(nil, e, t0.Add(time.Second)))
	want := regexp.MustCompile(`^0x[0-9a-f]+: key=127\.0\.0\.1 use=0 exp=29000 gpc0=0 conn_cur=0 http_req_cnt=3 http_req_rate\(10000\)=3\n$`)
	if !want.MatchString(line) {
		t.Fatalf("show table line %q", line)
	}
	tab.Track(k, t0)
	tab.Start(e, t0)
	tab.Clear(nil)
	if tab.Len() != 1 {
		t.Fatal("clear removed an entry in use")
	}
	tab.Stop(e, t0)
	tab.Clear(nil)
	if tab.Len() != 0 {
		t.Fatal("clear kept an unused entry")
	}
}

// An entry a tracker holds outlives its expiry, as in HAProxy; once let
// go it expires as usual.
func TestTrackedEntryDoesNotExpire(t *testing.T) {
	tab := rateTable() // expire 30s
	k := ipKey(t, tab, "127.0.0.1")
	e := tab.Track(k, t0)
	tab.Start(e, t0)
	tab.Count(e, HTTPReqCnt, HTTPReqRate, 1, t0)
	tab.Expire(t0.Add(time.Minute))
	if tab.Find(k, t0.Add(time.Minute)) != e {
		t.Fatal("a tracked entry expired")
	}
	tab.Stop(e, t0.Add(time.Minute))
	tab.Expire(t0.Add(2 * time.Minute))
	if tab.Len() != 0 {
		t.Fatal("an entry no longer tracked did not expire")
	}
}

// The fetches that write: an increment answers the new value and moves
// the rate, a clear answers the value it cleared; a table storing neither
// answers 0. http_fail_* are data like the others.
func TestChangeGPC(t *testing.T) {
	cfg := Config{Type: IP, Size: 10, Expire: 30 * time.Second}
	cfg.Store[GPC0], cfg.Store[GPC0Rate], cfg.Period[GPC0Rate] = true, true, 10*time.Second
	cfg.Store[HTTPFailCnt] = true
	tab := New(cfg)
	e := tab.Track(ipKey(t, tab, "10.0.0.1"), t0)
	for want := uint64(1); want <= 3; want++ {
		if got := tab.changeGPC(e, GPC0, GPC0Rate, 0, false, t0); got != want {
			t.Fatalf("increment %d answered %d", want, got)
		}
	}
	if r, _ := tab.Get(e, GPC0Rate, t0); r != 3 {
		t.Errorf("gpc0_rate = %d, want 3", r)
	}
	if got := tab.changeGPC(e, GPC0, GPC0Rate, 0, true, t0); got != 3 {
		t.Errorf("clear answered %d, want 3", got)
	}
	if v, _ := tab.Get(e, GPC0, t0); v != 0 {
		t.Errorf("gpc0 after clear = %d", v)
	}
	if got := tab.changeGPC(e, GPC1, GPC1Rate, 0, false, t0); got != 0 {
		t.Errorf("gpc1, not stored, answered %d", got)
	}
	tab.Count(e, HTTPFailCnt, HTTPFailRate, 2, t0)
	line := string(tab.AppendEntry(nil, e, t0))
	if !regexp.MustCompile(` gpc0=0 gpc0_rate\(10000\)=3 http_fail_cnt=2\n$`).MatchString(line) {
		t.Errorf("show table line %q", line)
	}
}

// haproxy 2.6's arrays: gpc(3),gpc_rate(2,10s),gpt(2). gpc0/gpc1, their
// rates and gpt0 read and write the arrays' elements 0 and 1; an index
// past an array is not stored. "show table" prints the elements as
// haproxy 2.6.12 printed this very table.
func TestArrays(t *testing.T) {
	cfg := Config{Type: IP, Size: 10}
	cfg.Store[GPC], cfg.Elems[GPC] = true, 3
	cfg.Store[GPCRate], cfg.Elems[GPCRate], cfg.Period[GPCRate] = true, 2, 10*time.Second
	cfg.Store[GPT], cfg.Elems[GPT] = true, 2
	tab := New(cfg)
	e := tab.Track(ipKey(t, tab, "127.0.0.1"), t0)
	tab.CountAt(e, GPC, GPCRate, 1, 1, t0)
	tab.CountAt(e, GPC, GPCRate, 1, 1, t0)
	tab.CountAt(e, GPC, GPCRate, 0, 1, t0)
	tab.Count(e, GPC0, GPC0Rate, 1, t0) // falls back on element 0
	tab.SetGPT(e, GPT, 1, 42)
	tab.CountAt(e, GPC, GPCRate, 7, 1, t0) // past the array: nothing
	for _, c := range []struct {
		d    DataType
		i    int
		want uint64
	}{{GPC, 0, 2}, {GPC, 1, 2}, {GPC, 2, 0}, {GPC0, 0, 2}, {GPC1, 0, 2}, {GPCRate, 1, 2}, {GPC0Rate, 0, 2}, {GPT, 1, 42}, {GPT0, 0, 0}} {
		if v, ok := tab.GetAt(e, c.d, c.i, t0); !ok || v != c.want {
			t.Errorf("%v[%d] = %d, %v; want %d", c.d, c.i, v, ok, c.want)
		}
	}
	for _, c := range []struct {
		d DataType
		i int
	}{{GPC, 3}, {GPCRate, 2}, {GPT, -1}, {GPC0, 1}, {HTTPReqCnt, 0}} {
		if tab.StoresAt(c.d, c.i) {
			t.Errorf("%v[%d] is stored", c.d, c.i)
		}
	}
	if got := tab.changeGPC(e, GPC, GPCRate, 1, true, t0); got != 2 {
		t.Errorf("sc_clr_gpc(1) answered %d, want 2", got)
	}
	line := string(tab.AppendEntry(nil, e, t0))
	want := ` gpt0=0 gpt1=42 gpc0=2 gpc1=0 gpc2=0 gpc0_rate(10000)=2 gpc1_rate(10000)=2` + "\n"
	if !strings.HasSuffix(line, want) {
		t.Errorf("show table line %q, want the suffix %q", line, want)
	}
}
