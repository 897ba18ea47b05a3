package stream

import (
	"bytes"
	"net/netip"
	"sync"
	"testing"
	"time"

	"dhproxy/internal/acl"
	"dhproxy/internal/config"
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
	startClock()
	return newBackend(cfg.Proxy("be"), cfg, newStickTables(cfg))
}

func TestDynamicMaxconnFollowsFullconn(t *testing.T) {
	b := testBackend(t, "backend be\n fullconn 100\n server s1 127.0.0.1:1 minconn 10 maxconn 50\n server s2 127.0.0.1:2 maxconn 20\n server s3 127.0.0.1:3 minconn 30\n")
	s1, s2, s3 := b.Servers[0], b.Servers[1], b.Servers[2]
	for _, c := range []struct{ beconn, s1 int }{{0, 10}, {20, 10}, {40, 20}, {80, 40}, {100, 50}, {500, 50}} {
		b.beconn.Store(int32(c.beconn / 2))
		b.queued.Store(int32(c.beconn - c.beconn/2)) // queued requests count too
		if got := s1.maxconnNow(); got != c.s1 {
			t.Errorf("beconn %d: s1 limit %d, want %d (max(minconn, beconn*maxconn/fullconn))", c.beconn, got, c.s1)
		}
		if got := s2.maxconnNow(); got != 20 {
			t.Errorf("maxconn alone is static: %d", got)
		}
		if got := s3.maxconnNow(); got != 30 {
			t.Errorf("minconn alone becomes the maxconn: %d", got)
		}
	}
}

func TestDefaultFullconnIsTenPercentOfFrontends(t *testing.T) {
	b := testBackend(t, "frontend f1\n maxconn 1000\n default_backend be\nfrontend f2\n maxconn 555\n use_backend be\nbackend be\n server s1 127.0.0.1:1\n")
	if b.fullconn != 156 {
		t.Fatalf("fullconn %d, want (1000+555+9)/10 = 156", b.fullconn)
	}
}

func TestSlowStartRampsWeightAndMaxconn(t *testing.T) {
	b := testBackend(t, "backend be\n server s1 127.0.0.1:1 weight 10 maxconn 100 slowstart 10s\n server s2 127.0.0.1:2 weight 10\n")
	s := b.Servers[0]
	s.SetUp(false)
	s.SetUp(true)
	for _, c := range []struct {
		elapsed      time.Duration
		eweight, max int
	}{
		{0, 10 * 1, 1},                   // (16*0+10)/10 = 1/16 of full; maxconn at least 1
		{1 * time.Second, 10 * 2, 10},    // (16+10)/10 = 2
		{5 * time.Second, 10 * 9, 50},    // (80+10)/10 = 9
		{9 * time.Second, 10 * 15, 90},   // (144+10)/10 = 15
		{10 * time.Second, 10 * 16, 100}, // full throttle, slow start over
	} {
		s.upSince.Store(coarseNow.Load() - int64(c.elapsed))
		b.wmu.Lock()
		b.reweighLocked(s)
		b.wmu.Unlock()
		if got := s.EffectiveWeight(); got != c.eweight {
			t.Errorf("after %v: effective weight %d, want %d", c.elapsed, got, c.eweight)
		}
		if got := s.maxconnNow(); got != c.max {
			t.Errorf("after %v: maxconn %d, want %d", c.elapsed, got, c.max)
		}
	}
	if s.starting.Load() {
		t.Error("slow start did not end")
	}
}

func TestSetWeight(t *testing.T) {
	dyn := testBackend(t, "backend be\n balance roundrobin\n server s1 127.0.0.1:1 weight 4\n server s2 127.0.0.1:2 weight 4\n")
	s := dyn.Servers[0]
	if err := s.SetWeight(12); err != nil {
		t.Fatal(err)
	}
	count := map[*Server]int{}
	for range 400 {
		srv, _ := dyn.pick(nil, hashKey{})
		count[srv]++
	}
	if count[s] != 300 {
		t.Errorf("after set weight 12 vs 4: %d of 400 picks, want 300", count[s])
	}
	if err := s.SetWeightPercent(50); err != nil || s.EffectiveWeight() != 2*lb.WeightScale {
		t.Errorf("50%% of 4: weight %d, %v", s.EffectiveWeight(), err)
	}
	if err := s.SetWeight(257); err == nil {
		t.Error("weight 257 accepted")
	}
	if err := s.SetWeight(0); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if srv, _ := dyn.pick(nil, hashKey{}); srv == s {
			t.Fatal("a weight 0 server was picked")
		}
	}
	static := testBackend(t, "backend be\n balance static-rr\n server s1 127.0.0.1:1 weight 4\n")
	err := static.Servers[0].SetWeight(5)
	if err == nil || err.Error() != "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'." {
		t.Errorf("static-rr weight change: %v", err)
	}
	if err := static.Servers[0].SetWeightPercent(0); err != nil {
		t.Errorf("static-rr accepts 0%%: %v", err)
	}
	if err := static.Servers[0].SetWeightPercent(100); err != nil {
		t.Errorf("static-rr accepts 100%%: %v", err)
	}
}

// takeAsync runs b.take in a goroutine and reports its outcome.
func takeAsync(b *Backend, srv *Server, direct bool, hk hashKey) chan *Server {
	ch := make(chan *Server, 1)
	go func() {
		s, _ := b.take(srv, direct, nil, hk, nil)
		ch <- s
	}()
	return ch
}

func waitQueued(t *testing.T, q *waitQueue, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for int(q.n.Load()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d, want %d", q.n.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAllFullQueuesOnBackendInOrder(t *testing.T) {
	b := testBackend(t, "backend be\n timeout queue 5s\n server s1 127.0.0.1:1 maxconn 1\n server s2 127.0.0.1:2 maxconn 1\n")
	a, _ := b.take(nil, false, nil, hashKey{}, nil)
	c, _ := b.take(nil, false, nil, hashKey{}, nil)
	if a == nil || c == nil || a == c {
		t.Fatalf("first two requests got %v and %v", a, c)
	}
	w1 := takeAsync(b, nil, false, hashKey{})
	waitQueued(t, &b.queue, 1)
	w2 := takeAsync(b, nil, false, hashKey{})
	waitQueued(t, &b.queue, 2)
	c.release()
	if got := <-w1; got != c {
		t.Fatalf("first waiter got %v, want the server that freed a slot", got)
	}
	a.release()
	if got := <-w2; got != a {
		t.Fatalf("second waiter got %v", got)
	}
	if n := a.cur.Load() + c.cur.Load(); n != 2 || b.beconn.Load() != 2 {
		t.Fatalf("slots held %d, beconn %d, want 2 and 2", n, b.beconn.Load())
	}
}

func TestMaxqueue(t *testing.T) {
	// Hashing always picks the same server: once its queue holds
	// maxqueue requests, the next one gets a 503 at once.
	b := testBackend(t, "backend be\n balance uri\n timeout queue 5s\n server s1 127.0.0.1:1 maxconn 1 maxqueue 1\n server s2 127.0.0.1:2 maxconn 1 maxqueue 1\n")
	hk := hashKey{h: 7, ok: true}
	first, _ := b.take(nil, false, nil, hk, nil)
	queued := takeAsync(b, nil, false, hk)
	waitQueued(t, &first.queue, 1)
	start := time.Now()
	if s, status := b.take(nil, false, nil, hk, nil); s != nil || status != 503 {
		t.Fatalf("third request: %v, status %d; want a 503", s, status)
	}
	if time.Since(start) > time.Second {
		t.Fatal("the 503 waited instead of coming at once")
	}
	first.release()
	if got := <-queued; got != first {
		t.Fatalf("queued request got %v", got)
	}
}

func TestMaxqueueRedispatchesPersistentRequests(t *testing.T) {
	b := testBackend(t, "backend be\n option redispatch\n timeout queue 5s\n server s1 127.0.0.1:1 maxconn 1 maxqueue 1\n server s2 127.0.0.1:2\n")
	s1 := b.Servers[0]
	if s, _ := b.take(s1, true, nil, hashKey{}, nil); s != s1 {
		t.Fatal("direct request did not get its server")
	}
	takeAsync(b, s1, true, hashKey{})
	waitQueued(t, &s1.queue, 1)
	var st connStats
	s, status := b.take(s1, true, nil, hashKey{}, &st)
	if redisp := st.redispatched; s != b.Servers[1] || !redisp || status != 0 {
		t.Fatalf("persistent request over maxqueue: %v, redispatched %v, status %d; want s2", s, redisp, status)
	}
	noRedisp := testBackend(t, "backend be\n timeout queue 5s\n server s1 127.0.0.1:1 maxconn 1 maxqueue 1\n server s2 127.0.0.1:2\n")
	s1 = noRedisp.Servers[0]
	noRedisp.take(s1, true, nil, hashKey{}, nil)
	takeAsync(noRedisp, s1, true, hashKey{})
	waitQueued(t, &s1.queue, 1)
	st = connStats{}
	if s, status := noRedisp.take(s1, true, nil, hashKey{}, &st); s != nil || status != 503 {
		t.Fatalf("without redispatch: %v, %d; want 503", s, status)
	}
	if c, f := st.failState(); c != 'S' || f != 'Q' {
		t.Errorf("termination state %c%c, want SQ (queue full)", c, f)
	}
}

func TestQueueTimeoutAndServerDown(t *testing.T) {
	b := testBackend(t, "backend be\n balance uri\n timeout queue 100ms\n server s1 127.0.0.1:1 maxconn 1\n server s2 127.0.0.1:2 maxconn 1\n")
	hk := hashKey{h: 3, ok: true}
	s, _ := b.take(nil, false, nil, hk, nil)
	start := time.Now()
	var st connStats
	if got, status := b.take(nil, false, nil, hk, &st); got != nil || status != 503 {
		t.Fatalf("queue timeout: %v, %d", got, status)
	}
	if c, f := st.failState(); c != 's' || f != 'Q' || st.queued < 90*time.Millisecond {
		t.Errorf("termination state %c%c after %v queued, want sQ after 100ms", c, f, st.queued)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
		t.Fatalf("gave up after %v, timeout queue is 100ms", d)
	}
	// A server going down hands its queue to the backend: the other
	// server serves the waiter.
	b.P.Timeouts.Queue = 5 * time.Second
	w := takeAsync(b, nil, false, hk)
	waitQueued(t, &s.queue, 1)
	s.SetUp(false)
	if got := <-w; got == nil || got == s {
		t.Fatalf("waiter of a down server got %v", got)
	}
}

func TestQueueNeverLosesAWaiter(t *testing.T) {
	// Many requests through two slots: every one is served, none waits
	// for the timeout (a lost wake-up would).
	b := testBackend(t, "backend be\n timeout queue 10s\n server s1 127.0.0.1:1 maxconn 1\n server s2 127.0.0.1:2 maxconn 1\n")
	var wg sync.WaitGroup
	start := time.Now()
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, status := b.take(nil, false, nil, hashKey{}, nil)
			if s == nil {
				t.Errorf("status %d", status)
				return
			}
			time.Sleep(100 * time.Microsecond)
			s.release()
		}()
	}
	wg.Wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("200 requests took %v", d)
	}
	if b.beconn.Load() != 0 || b.queue.n.Load() != 0 {
		t.Fatalf("beconn %d, queue %d after all released", b.beconn.Load(), b.queue.n.Load())
	}
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
		if srv, _ := b.pick(nil, hashKey{}); srv == s {
			t.Fatal("a draining server got balanced traffic")
		}
	}
	if got, _ := b.take(s, true, nil, hashKey{}, nil); got != s {
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

func TestBackupServersWaitForActiveOnes(t *testing.T) {
	// A full active server keeps its requests: the backup only serves
	// the backend's queue once no active server is usable.
	b := testBackend(t, "backend be\n timeout queue 5s\n server s1 127.0.0.1:1 maxconn 1\n server b1 127.0.0.1:2 backup\n")
	s1, b1 := b.Servers[0], b.Servers[1]
	if got, _ := b.take(nil, false, nil, hashKey{}, nil); got != s1 {
		t.Fatalf("first request went to %v", got)
	}
	w := takeAsync(b, nil, false, hashKey{})
	waitQueued(t, &b.queue, 1)
	time.Sleep(20 * time.Millisecond)
	if b1.cur.Load() != 0 {
		t.Fatal("the backup served a request while the active server is up")
	}
	s1.SetUp(false)
	if got := <-w; got != b1 {
		t.Fatalf("after the active server went down the waiter got %v, want the backup", got)
	}
}

func TestStickRulesFirstKeyPerTableWins(t *testing.T) {
	b := testBackend(t, "backend be\n stick-table type string len 32 size 100\n stick on hdr(X-User)\n stick on src\n server s1 127.0.0.1:1\n server s2 127.0.0.1:2\n")
	var st stickState
	src := &testTxn{src: netip.MustParseAddr("10.0.0.9")}
	// Without the header the source is the key.
	b.stickRequest(&st, src, &src.v, nil, t0)
	if st.n != 1 || string(st.keys) != "10.0.0.9" {
		t.Fatalf("stores %d, keys %q; want the source", st.n, st.keys)
	}
	st.commit(b.Servers[1], t0)
	// With the header, only the header is stored and matched: the rule on
	// src, same table, is skipped.
	withHdr := &testTxn{src: src.src}
	withHdr.req.Headers = []http1.Header{{Name: []byte("X-User"), Value: []byte("bob")}}
	b.stickRequest(&st, withHdr, &withHdr.v, nil, t0)
	if st.n != 1 || string(st.keys) != "bob" || st.srv != nil {
		t.Fatalf("stores %d, keys %q, server %v; want only bob, no match yet", st.n, st.keys, st.srv)
	}
	st.commit(b.Servers[0], t0)
	b.stickRequest(&st, withHdr, &withHdr.v, nil, t0)
	if st.srv != b.Servers[0] {
		t.Fatalf("bob matched %v, want s1", st.srv)
	}
	b.stickRequest(&st, src, &src.v, nil, t0)
	if st.srv != b.Servers[1] {
		t.Fatalf("the source matched %v, want s2", st.srv)
	}
	// A down server is not chosen; the next store moves the entry.
	b.Servers[1].SetUp(false)
	b.stickRequest(&st, src, &src.v, nil, t0)
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

var t0 = time.Unix(1_700_000_000, 0)

func TestDrainingServerServesItsOwnQueue(t *testing.T) {
	// Persistent requests queued on a server that is put in drain still
	// get its slots; only balanced traffic stays away.
	b := testBackend(t, "backend be\n timeout queue 5s\n server s1 127.0.0.1:1 maxconn 1\n server s2 127.0.0.1:2\n")
	s1 := b.Servers[0]
	if got, _ := b.take(s1, true, nil, hashKey{}, nil); got != s1 {
		t.Fatal("direct request")
	}
	w := takeAsync(b, s1, true, hashKey{})
	waitQueued(t, &s1.queue, 1)
	s1.SetDrain(true)
	s1.release()
	if got := <-w; got != s1 {
		t.Fatalf("queued persistent request got %v, want the draining s1", got)
	}
}

// An agent's "maxconn:N" limits a server that had no limit, and 0 lifts it.
func TestSetMaxconnFromAgent(t *testing.T) {
	b := testBackend(t, "backend be\n server s1 127.0.0.1:1\n")
	s := b.Servers[0]
	if !s.tryTake(false) || s.full() {
		t.Fatal("a server without maxconn is limited")
	}
	s.SetMaxconn(1)
	if !s.full() || s.tryTake(false) {
		t.Fatal("maxconn:1 with one connection in use: still takes more")
	}
	s.SetMaxconn(2)
	if s.full() || !s.tryTake(false) {
		t.Fatal("maxconn:2 with one in use: refused")
	}
	s.SetMaxconn(0)
	if s.full() {
		t.Fatal("maxconn 0 still limits")
	}
}

func TestStickRuleCondition(t *testing.T) {
	b := testBackend(t, "backend be\n mode http\n stick-table type ip size 100\n stick on src if { hdr(x-sticky) 1 }\n server s1 127.0.0.1:1\n")
	var st stickState
	var as acl.State
	plain := &testTxn{src: netip.MustParseAddr("10.0.0.9")}
	b.stickRequest(&st, plain, &plain.v, &as, t0)
	if st.n != 0 {
		t.Fatalf("the rule applied without its condition: %d stores", st.n)
	}
	sticky := &testTxn{src: plain.src}
	sticky.req.Headers = []http1.Header{{Name: []byte("X-Sticky"), Value: []byte("1")}}
	b.stickRequest(&st, sticky, &sticky.v, &as, t0)
	if st.n != 1 {
		t.Fatalf("with its condition: %d stores, keys %q", st.n, st.keys)
	}
}
