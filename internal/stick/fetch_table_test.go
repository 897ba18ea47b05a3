package stick

import (
	"net/netip"
	"testing"
	"time"

	"dhproxy/internal/sample"
)

// counterTxn tracks one entry with stick counter 0, for a client at src.
type counterTxn struct {
	convTxn
	tab *Table
	e   *Entry
	src netip.AddrPort
}

func (c *counterTxn) StickCounter(n int) (*Table, *Entry) {
	if n == 0 {
		return c.tab, c.e
	}
	return nil, nil
}
func (c *counterTxn) StickTable(name []byte) *Table {
	if len(name) == 0 {
		return c.tab
	}
	return c.tables[string(name)]
}
func (c *counterTxn) Src() netip.AddrPort { return c.src }

func TestTableAndTrackerFetches(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cfg := Config{Type: IP, Size: 5, Expire: time.Minute}
	cfg.Store[ConnCnt] = true
	tab := New(cfg)
	other := New(Config{Type: IP, Size: 3})
	plain := New(Config{Type: IP, Size: 3}) // stores no conn_cnt
	k, _ := tab.AppendAddr(nil, netip.MustParseAddr("10.0.0.1"))
	e := tab.Track(k, now)
	tab.Start(e, now)
	tab.Start(e, now)
	other.Track(k, now)
	tx := &counterTxn{convTxn: convTxn{tables: map[string]*Table{"other": other, "plain": plain}, now: now}, tab: tab, e: e,
		src: netip.MustParseAddrPort("10.0.0.2:1234")}
	var c sample.Compiler
	eval := func(expr string) string {
		e, err := c.Compile(expr, sample.PhaseReq)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		var v sample.Value
		if !e.Eval(tx, &v) {
			return "<none>"
		}
		sample.Cast(&v, sample.TypeStr, &tx.scratch)
		return string(v.Bytes)
	}
	for _, tc := range []struct{ expr, want string }{
		{"table_cnt", "1"}, {"table_avl", "4"}, {"table_cnt(other)", "1"}, {"table_avl(other)", "2"},
		{"table_cnt(nope)", "<none>"},
		{"sc0_trackers", "2"}, {"sc_trackers(0)", "2"}, {"sc1_trackers", "<none>"},
		{"sc0_trackers(other)", "0"}, {"sc0_trackers(plain)", "0"}, {"sc0_trackers(nope)", "<none>"},
		{"src_updt_conn_cnt", "1"}, {"src_updt_conn_cnt", "2"}, {"table_cnt", "2"},
		{"src_updt_conn_cnt(plain)", "<none>"}, {"table_cnt(plain)", "0"},
	} {
		if got := eval(tc.expr); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.expr, got, tc.want)
		}
	}
	if _, err := c.Compile("sc_trackers(3)", sample.PhaseReq); err == nil {
		t.Error("sc_trackers(3) compiled")
	}
}
