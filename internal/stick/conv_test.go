package stick

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/sample"
)

// convTxn offers the table converters their tables; the other methods
// of sample.Txn are not called.
type convTxn struct {
	sample.Txn
	tables  map[string]*Table
	now     time.Time
	scratch []byte
}

func (c *convTxn) Scratch() *[]byte                  { return &c.scratch }
func (c *convTxn) StickTable(name []byte) *Table     { return c.tables[string(name)] }
func (c *convTxn) Now() time.Time                    { return c.now }
func (c *convTxn) StickCounter(int) (*Table, *Entry) { return nil, nil }

// The answers haproxy 2.6.12 gave with the same tables: t1 (string,
// expire 30s, store gpc0) holding k1 tracked by two stick counters, tip
// (ip, expire 10s) holding 1.2.3.4, t2 (no expiry) empty; "st" is a table
// of stick rules where k3 sticks to server 2.
func TestTableConvertersAsHAProxy(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	t1 := New(Config{Type: String, Len: 32, Size: 10, Expire: 30 * time.Second})
	tip := New(Config{Type: IP, Size: 10, Expire: 10 * time.Second})
	t2 := New(Config{Type: String, Len: 32, Size: 10})
	st := New(Config{Type: String, Len: 32, Size: 10, Expire: time.Minute})
	st.StoreServerIDs()
	k1, _ := t1.AppendString(nil, []byte("k1"))
	e := t1.Track(k1, now)
	t1.Start(e, now)
	t1.Start(e, now)
	kip, _ := tip.AppendAddr(nil, netip.MustParseAddr("1.2.3.4"))
	tip.Track(kip, now)
	k3, _ := st.AppendString(nil, []byte("k3"))
	st.Store(k3, 2, now.Add(-1500*time.Millisecond))
	k4, _ := st.AppendString(nil, []byte("k4"))
	st.Track(k4, now)

	tx := &convTxn{tables: map[string]*Table{"t1": t1, "tip": tip, "t2": t2, "st": st}, now: now}
	var c sample.Compiler
	for _, tc := range []struct{ expr, want string }{
		{"str(k1),in_table(t1)", "1"},
		{"str(k2),in_table(t1)", "0"},
		{"str(k1),in_table(t2)", "0"},
		{"str(k1),in_table(nope)", "<none>"},
		{"str(k1),table_trackers(t1)", "3"}, // haproxy counts its own lookup
		{"str(k2),table_trackers(t1)", "0"},
		{"str(k1),table_expire(t1)", "30000"},
		{"str(k2),table_expire(t1)", "<none>"},
		{"str(k2),table_expire(t1,-5)", "-5"},
		{"str(k1),table_idle(t1)", "0"},
		{"str(k2),table_idle(t1,7)", "7"},
		{"str(k1),table_server_id(t1)", "<none>"}, // no stick rule stores server ids there
		{"str(k2),table_server_id(t1)", "0"},
		{"str(k3),table_server_id(st)", "2"},
		{"str(k4),table_server_id(st)", "0"},
		{"str(k3),table_idle(st)", "1500"},
		{"str(k3),table_expire(st)", "58500"},
		{"str(1.2.3.4),in_table(tip)", "1"},
		{"ipv4(1.2.3.4),in_table(tip)", "1"},
		{"str(1.2.3.5),in_table(tip)", "0"},
		{"str(junk),in_table(tip)", "<none>"},
		{"int(16909060),in_table(tip)", "1"},
		{"str(1.2.3.4),table_expire(tip)", "10000"},
	} {
		e, err := c.Compile(tc.expr, sample.PhaseReq)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		got := "<none>"
		var v sample.Value
		if e.Eval(tx, &v) && sample.Cast(&v, sample.TypeStr, &tx.scratch) {
			got = string(v.Bytes)
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.expr, got, tc.want)
		}
	}
	for expr, want := range map[string]string{
		"str(a),in_table":            "converter 'in_table' expects at least 1",
		"str(a),table_expire(t,x)":   "converter 'table_expire': argument 2 ('x') must be an integer",
		"str(a),table_trackers(t,1)": "converter 'table_trackers' takes at most 1",
	} {
		if _, err := c.Compile(expr, sample.PhaseReq); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", expr, err, want)
		}
	}
}
