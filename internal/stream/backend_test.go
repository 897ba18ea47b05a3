package stream

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"dhproxy/internal/acl"
	"dhproxy/internal/config"
	"dhproxy/internal/conn"
	"dhproxy/internal/http1"
	"dhproxy/internal/lb"
	"dhproxy/internal/model"
	"dhproxy/internal/sample"
)

// testBackend builds the runtime state of backend "be" from a config
// fragment, without listening or checking.
func testBackend(t *testing.T, text string) *Backend {
	t.Helper()
	path := t.TempDir() + "/test.cfg"
	if err := writeFile(path, "defaults\n mode http\n timeout connect 1s\n"+text); err != nil {
		t.Fatal(err)
	}
	var d config.Diags
	cfg := model.Build(config.Load([]string{path}, nil, &d), &d)
	if cfg == nil {
		var b bytes.Buffer
		d.Write(&b, 0)
		t.Fatalf("config refused:\n%s", b.String())
	}
	conn.StartClock()
	return newBackend(cfg.Proxy("be"), cfg, newStickTables(cfg))
}

func TestDrainAndFindServer(t *testing.T) {
	path := t.TempDir() + "/test.cfg"
	writeFile(path, "defaults\n mode http\n timeout connect 1s\nbackend be\n server s1 127.0.0.1:1 weight 3\n server s2 127.0.0.1:2\n")
	var d config.Diags
	cfg := model.Build(config.Load([]string{path}, nil, &d), &d)
	rt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	s := rt.FindServer("be", "s1")
	if s == nil || rt.FindServer("be", "nope") != nil || rt.FindServer("nope", "s1") != nil {
		t.Fatal("FindServer")
	}
	s.SetDrain(true)
	b := rt.backends["be"]
	for range 10 {
		if srv, _ := b.Pick(nil, 0, false); srv == s {
			t.Fatal("a draining server got balanced traffic")
		}
	}
	if got, _ := b.Take(&s.Server, true, nil, 0, false, nil); got != s {
		t.Fatal("a persistent request could not reach a draining server")
	}
	s.SetDrain(false)
	if cur, initial := s.Weight(); cur != 3 || initial != 3 || s.EffectiveWeight() != 3*lb.WeightScale {
		t.Fatalf("after drain: weight %d/%d, effective %d", cur, initial, s.EffectiveWeight())
	}
	if s.Throttle() != 100 {
		t.Fatal("throttle outside slow start")
	}
}

func TestStickRulesFirstKeyPerTableWins(t *testing.T) {
	b := testBackend(t, "backend be\n stick-table type string len 32 size 100\n stick on hdr(X-User)\n stick on src\n server s1 127.0.0.1:1\n server s2 127.0.0.1:2\n")
	var st stickState
	src := &testTxn{src: netip.MustParseAddr("10.0.0.9")}
	// Without the header the source is the key.
	b.stickRequest(&st, src, &src.v, nil, t0, false)
	if st.n != 1 || string(st.keys) != "10.0.0.9" {
		t.Fatalf("stores %d, keys %q; want the source", st.n, st.keys)
	}
	st.commit(b.Servers[1], t0)
	// With the header, only the header is stored and matched: the rule on
	// src, same table, is skipped.
	withHdr := &testTxn{src: src.src}
	withHdr.req.Headers = []http1.Header{{Name: []byte("X-User"), Value: []byte("bob")}}
	b.stickRequest(&st, withHdr, &withHdr.v, nil, t0, false)
	if st.n != 1 || string(st.keys) != "bob" || st.srv != nil {
		t.Fatalf("stores %d, keys %q, server %v; want only bob, no match yet", st.n, st.keys, st.srv)
	}
	st.commit(b.Servers[0], t0)
	b.stickRequest(&st, withHdr, &withHdr.v, nil, t0, false)
	if st.srv != b.Servers[0] {
		t.Fatalf("bob matched %v, want s1", st.srv)
	}
	b.stickRequest(&st, src, &src.v, nil, t0, false)
	if st.srv != b.Servers[1] {
		t.Fatalf("the source matched %v, want s2", st.srv)
	}
	// A down server is not chosen; the next store moves the entry.
	b.Servers[1].SetUp(false)
	b.stickRequest(&st, src, &src.v, nil, t0, false)
	if st.srv != nil {
		t.Fatalf("matched the down server %v", st.srv)
	}
}

// testTxn is a transaction with a client address and a request.
type testTxn struct {
	src     netip.Addr
	req     http1.Request
	v       sample.Value
	scratch []byte
}

func (t *testTxn) Src() netip.AddrPort                                      { return netip.AddrPortFrom(t.src, 1234) }
func (t *testTxn) Dst() netip.AddrPort                                      { return netip.AddrPort{} }
func (t *testTxn) FrontendName() []byte                                     { return []byte("fe") }
func (t *testTxn) BackendName() []byte                                      { return []byte("be") }
func (t *testTxn) Request() *http1.Request                                  { return &t.req }
func (t *testTxn) Response() *http1.Response                                { return nil }
func (t *testTxn) Status() int                                              { return 0 }
func (t *testTxn) Vars(sample.Scope) *sample.Vars                           { return nil }
func (t *testTxn) Scratch() *[]byte                                         { return &t.scratch }
func (t *testTxn) UsableServers(b []byte) int                               { return 0 }
func (t *testTxn) ProxyState(sample.StateKey, []byte, []byte) (int64, bool) { return 0, false }
func (t *testTxn) ServerName() string                                       { return "" }
func (t *testTxn) SocketName() string                                       { return "" }

var t0 = time.Unix(1_700_000_000, 0)

func TestStickRuleCondition(t *testing.T) {
	b := testBackend(t, "backend be\n mode http\n stick-table type ip size 100\n stick on src if { hdr(x-sticky) 1 }\n server s1 127.0.0.1:1\n")
	var st stickState
	var as acl.State
	plain := &testTxn{src: netip.MustParseAddr("10.0.0.9")}
	b.stickRequest(&st, plain, &plain.v, &as, t0, false)
	if st.n != 0 {
		t.Fatalf("the rule applied without its condition: %d stores", st.n)
	}
	sticky := &testTxn{src: plain.src}
	sticky.req.Headers = []http1.Header{{Name: []byte("X-Sticky"), Value: []byte("1")}}
	b.stickRequest(&st, sticky, &sticky.v, &as, t0, false)
	if st.n != 1 {
		t.Fatalf("with its condition: %d stores, keys %q", st.n, st.keys)
	}
}
