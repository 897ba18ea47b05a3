package backend

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dhproxy/internal/config"
	"dhproxy/internal/lb"
	"dhproxy/internal/model"
)

// testServer is the caller's server type of the tests: a Server and the
// counts the farm's events gave it.
type testServer struct {
	Server[*testServer]
	took, balanced, wentDown atomic.Int64
	qmax                     atomic.Int32
}

// testEvents records the farm's events on the test servers.
type testEvents struct{ farmQmax atomic.Int32 }

func (e *testEvents) Took(s *testServer, srvCur, farmCur int32) { s.took.Add(1) }
func (e *testEvents) Balanced(s *testServer)                    { s.balanced.Add(1) }
func (e *testEvents) Queued(s *testServer, onFarm bool, n int32) {
	if onFarm {
		e.farmQmax.Store(max(e.farmQmax.Load(), n))
	} else {
		s.qmax.Store(max(s.qmax.Load(), n))
	}
}
func (e *testEvents) WentDown(s *testServer)             { s.wentDown.Add(1) }
func (e *testEvents) Assigned()                          {}
func (e *testEvents) Retried(s *testServer, redisp bool) {}
func (e *testEvents) Failed(s *testServer)               {}

// testClock is the farm's clock in the tests, moved by hand.
var testClock atomic.Int64

// testFarm builds the farm of backend "be" from a config fragment.
func testFarm(t *testing.T, text string) (*Farm[*testServer], []*testServer) {
	t.Helper()
	path := t.TempDir() + "/test.cfg"
	if err := os.WriteFile(path, []byte("defaults\n mode http\n timeout connect 1s\n"+text), 0o644); err != nil {
		t.Fatal(err)
	}
	var d config.Diags
	cfg := model.Build(config.Load([]string{path}, nil, &d), &d)
	if cfg == nil {
		var b bytes.Buffer
		d.Write(&b, 0)
		t.Fatalf("config refused:\n%s", b.String())
	}
	p := cfg.Proxy("be")
	var servers []*testServer
	var cores []*Server[*testServer]
	for _, sc := range p.Servers {
		s := &testServer{}
		s.Init(s, sc)
		servers = append(servers, s)
		cores = append(cores, &s.Server)
	}
	o := Options[*testServer]{Config: cfg, Events: &testEvents{}, Now: testClock.Load}
	if sp, ok := lb.ParseHashSpec(p.Balance.Algo, p.Balance.Args, p.HashType); ok {
		o.Hash = sp
	}
	testClock.Store(time.Now().UnixNano())
	return NewFarm(p, cores, o), servers
}

func TestDynamicMaxconnFollowsFullconn(t *testing.T) {
	f, srv := testFarm(t, "backend be\n fullconn 100\n server s1 127.0.0.1:1 minconn 10 maxconn 50\n server s2 127.0.0.1:2 maxconn 20\n server s3 127.0.0.1:3 minconn 30\n")
	s1, s2, s3 := srv[0], srv[1], srv[2]
	for _, c := range []struct{ beconn, s1 int }{{0, 10}, {20, 10}, {40, 20}, {80, 40}, {100, 50}, {500, 50}} {
		f.beconn.Store(int32(c.beconn / 2))
		f.queued.Store(int32(c.beconn - c.beconn/2)) // queued requests count too
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
	f, _ := testFarm(t, "frontend f1\n maxconn 1000\n default_backend be\nfrontend f2\n maxconn 555\n use_backend be\nbackend be\n server s1 127.0.0.1:1\n")
	if f.Fullconn() != 156 {
		t.Fatalf("fullconn %d, want (1000+555+9)/10 = 156", f.Fullconn())
	}
}

func TestSlowStartRampsWeightAndMaxconn(t *testing.T) {
	f, srv := testFarm(t, "backend be\n server s1 127.0.0.1:1 weight 10 maxconn 100 slowstart 10s\n server s2 127.0.0.1:2 weight 10\n")
	s := srv[0]
	s.SetUp(false)
	s.SetUp(true)
	if s.wentDown.Load() != 1 {
		t.Errorf("chkdown events %d, want 1", s.wentDown.Load())
	}
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
		s.upSince.Store(testClock.Load() - int64(c.elapsed))
		f.wmu.Lock()
		f.reweighLocked(&s.Server)
		f.wmu.Unlock()
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
	dyn, srv := testFarm(t, "backend be\n balance roundrobin\n server s1 127.0.0.1:1 weight 4\n server s2 127.0.0.1:2 weight 4\n")
	s := srv[0]
	if err := s.SetWeight(12); err != nil {
		t.Fatal(err)
	}
	count := map[*testServer]int{}
	for range 400 {
		got, _ := dyn.Pick(nil, 0, false)
		count[got]++
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
		if got, _ := dyn.Pick(nil, 0, false); got == s {
			t.Fatal("a weight 0 server was picked")
		}
	}
	_, static := testFarm(t, "backend be\n balance static-rr\n server s1 127.0.0.1:1 weight 4\n")
	err := static[0].SetWeight(5)
	if err == nil || err.Error() != "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'." {
		t.Errorf("static-rr weight change: %v", err)
	}
	if err := static[0].SetWeightPercent(0); err != nil {
		t.Errorf("static-rr accepts 0%%: %v", err)
	}
	if err := static[0].SetWeightPercent(100); err != nil {
		t.Errorf("static-rr accepts 100%%: %v", err)
	}
}

// take is Take of srv (nil: the balancer's choice), unhashed unless
// hash is set.
func take(f *Farm[*testServer], srv *testServer, direct bool, hash uint32, w *Waited) (*testServer, int) {
	var core *Server[*testServer]
	if srv != nil {
		core = &srv.Server
	}
	return f.Take(core, direct, nil, hash, hash != 0, w)
}

// takeAsync runs take in a goroutine and reports its outcome.
func takeAsync(f *Farm[*testServer], srv *testServer, direct bool, hash uint32) chan *testServer {
	ch := make(chan *testServer, 1)
	go func() {
		s, _ := take(f, srv, direct, hash, nil)
		ch <- s
	}()
	return ch
}

func waitQueued(t *testing.T, q *waitQueue[*testServer], n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for int(q.n.Load()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d, want %d", q.n.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAllFullQueuesOnFarmInOrder(t *testing.T) {
	f, _ := testFarm(t, "backend be\n timeout queue 5s\n server s1 127.0.0.1:1 maxconn 1\n server s2 127.0.0.1:2 maxconn 1\n")
	a, _ := take(f, nil, false, 0, nil)
	c, _ := take(f, nil, false, 0, nil)
	if a == nil || c == nil || a == c {
		t.Fatalf("first two requests got %v and %v", a, c)
	}
	if a.balanced.Load() != 1 || c.balanced.Load() != 1 || a.took.Load() != 1 {
		t.Fatalf("balanced events %d and %d, took %d; want 1 each", a.balanced.Load(), c.balanced.Load(), a.took.Load())
	}
	w1 := takeAsync(f, nil, false, 0)
	waitQueued(t, &f.queue, 1)
	w2 := takeAsync(f, nil, false, 0)
	waitQueued(t, &f.queue, 2)
	c.Release()
	if got := <-w1; got != c {
		t.Fatalf("first waiter got %v, want the server that freed a slot", got)
	}
	a.Release()
	if got := <-w2; got != a {
		t.Fatalf("second waiter got %v", got)
	}
	if n := a.Cur() + c.Cur(); n != 2 || f.Cur() != 2 {
		t.Fatalf("slots held %d, beconn %d, want 2 and 2", n, f.Cur())
	}
	if q := f.events.(*testEvents).farmQmax.Load(); q != 2 {
		t.Errorf("farm queue max %d, want 2", q)
	}
}

func TestMaxqueue(t *testing.T) {
	// Hashing always picks the same server: once its queue holds
	// maxqueue requests, the next one gets a 503 at once.
	f, _ := testFarm(t, "backend be\n balance uri\n timeout queue 5s\n server s1 127.0.0.1:1 maxconn 1 maxqueue 1\n server s2 127.0.0.1:2 maxconn 1 maxqueue 1\n")
	first, _ := take(f, nil, false, 7, nil)
	queued := takeAsync(f, nil, false, 7)
	waitQueued(t, &first.queue, 1)
	start := time.Now()
	if s, status := take(f, nil, false, 7, nil); s != nil || status != 503 {
		t.Fatalf("third request: %v, status %d; want a 503", s, status)
	}
	if time.Since(start) > time.Second {
		t.Fatal("the 503 waited instead of coming at once")
	}
	first.Release()
	if got := <-queued; got != first {
		t.Fatalf("queued request got %v", got)
	}
	if first.qmax.Load() != 1 {
		t.Errorf("server queue max %d, want 1", first.qmax.Load())
	}
}

func TestMaxqueueRedispatchesPersistentRequests(t *testing.T) {
	f, srv := testFarm(t, "backend be\n option redispatch\n timeout queue 5s\n server s1 127.0.0.1:1 maxconn 1 maxqueue 1\n server s2 127.0.0.1:2\n")
	s1 := srv[0]
	if s, _ := take(f, s1, true, 0, nil); s != s1 {
		t.Fatal("direct request did not get its server")
	}
	takeAsync(f, s1, true, 0)
	waitQueued(t, &s1.queue, 1)
	var w Waited
	s, status := take(f, s1, true, 0, &w)
	if s != srv[1] || !w.Redispatched || status != 0 {
		t.Fatalf("persistent request over maxqueue: %v, redispatched %v, status %d; want s2", s, w.Redispatched, status)
	}
	noRedisp, srv := testFarm(t, "backend be\n timeout queue 5s\n server s1 127.0.0.1:1 maxconn 1 maxqueue 1\n server s2 127.0.0.1:2\n")
	s1 = srv[0]
	take(noRedisp, s1, true, 0, nil)
	takeAsync(noRedisp, s1, true, 0)
	waitQueued(t, &s1.queue, 1)
	w = Waited{}
	if s, status := take(noRedisp, s1, true, 0, &w); s != nil || status != 503 {
		t.Fatalf("without redispatch: %v, %d; want 503", s, status)
	}
	if w.Term != 'S' {
		t.Errorf("queue failure %q, want 'S' (queue full)", w.Term)
	}
}

func TestQueueTimeoutAndServerDown(t *testing.T) {
	f, _ := testFarm(t, "backend be\n balance uri\n timeout queue 100ms\n server s1 127.0.0.1:1 maxconn 1\n server s2 127.0.0.1:2 maxconn 1\n")
	s, _ := take(f, nil, false, 3, nil)
	start := time.Now()
	var w Waited
	if got, status := take(f, nil, false, 3, &w); got != nil || status != 503 {
		t.Fatalf("queue timeout: %v, %d", got, status)
	}
	if w.Term != 's' || w.Queued < 90*time.Millisecond {
		t.Errorf("queue failure %q after %v queued, want 's' after 100ms", w.Term, w.Queued)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
		t.Fatalf("gave up after %v, timeout queue is 100ms", d)
	}
	// A server going down hands its queue to the farm: the other
	// server serves the waiter.
	f.p.Timeouts.Queue = 5 * time.Second
	wait := takeAsync(f, nil, false, 3)
	waitQueued(t, &s.queue, 1)
	s.SetUp(false)
	if got := <-wait; got == nil || got == s {
		t.Fatalf("waiter of a down server got %v", got)
	}
}

func TestQueueNeverLosesAWaiter(t *testing.T) {
	// Many requests through two slots: every one is served, none waits
	// for the timeout (a lost wake-up would).
	f, _ := testFarm(t, "backend be\n timeout queue 10s\n server s1 127.0.0.1:1 maxconn 1\n server s2 127.0.0.1:2 maxconn 1\n")
	var wg sync.WaitGroup
	start := time.Now()
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, status := take(f, nil, false, 0, nil)
			if s == nil {
				t.Errorf("status %d", status)
				return
			}
			time.Sleep(100 * time.Microsecond)
			s.Release()
		}()
	}
	wg.Wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("200 requests took %v", d)
	}
	if f.Cur() != 0 || f.QueueLen() != 0 || f.Queued() != 0 {
		t.Fatalf("beconn %d, queue %d, queued %d after all released", f.Cur(), f.QueueLen(), f.Queued())
	}
}

func TestBackupServersWaitForActiveOnes(t *testing.T) {
	// A full active server keeps its requests: the backup only serves
	// the farm's queue once no active server is usable.
	f, srv := testFarm(t, "backend be\n timeout queue 5s\n server s1 127.0.0.1:1 maxconn 1\n server b1 127.0.0.1:2 backup\n")
	s1, b1 := srv[0], srv[1]
	if got, _ := take(f, nil, false, 0, nil); got != s1 {
		t.Fatalf("first request went to %v", got)
	}
	w := takeAsync(f, nil, false, 0)
	waitQueued(t, &f.queue, 1)
	time.Sleep(20 * time.Millisecond)
	if b1.Cur() != 0 {
		t.Fatal("the backup served a request while the active server is up")
	}
	s1.SetUp(false)
	if got := <-w; got != b1 {
		t.Fatalf("after the active server went down the waiter got %v, want the backup", got)
	}
}

func TestDrainingServerServesItsOwnQueue(t *testing.T) {
	// Persistent requests queued on a server that is put in drain still
	// get its slots; only balanced traffic stays away.
	f, srv := testFarm(t, "backend be\n timeout queue 5s\n server s1 127.0.0.1:1 maxconn 1\n server s2 127.0.0.1:2\n")
	s1 := srv[0]
	if got, _ := take(f, s1, true, 0, nil); got != s1 {
		t.Fatal("direct request")
	}
	w := takeAsync(f, s1, true, 0)
	waitQueued(t, &s1.queue, 1)
	s1.SetDrain(true)
	s1.Release()
	if got := <-w; got != s1 {
		t.Fatalf("queued persistent request got %v, want the draining s1", got)
	}
	for range 10 {
		if got, _ := f.Pick(nil, 0, false); got == s1 {
			t.Fatal("a draining server got balanced traffic")
		}
	}
}

// An agent's "maxconn:N" limits a server that had no limit, and 0 lifts it.
func TestSetMaxconnFromAgent(t *testing.T) {
	_, srv := testFarm(t, "backend be\n server s1 127.0.0.1:1\n")
	s := srv[0]
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

func TestAddAndRemove(t *testing.T) {
	f, srv := testFarm(t, "backend be\n balance roundrobin\n server s1 127.0.0.1:1 check\n server s2 127.0.0.1:2 track s1\n")
	n := &testServer{}
	n.Init(n, &model.Server{Name: "s1", Addr: "127.0.0.1:3", Weight: 1})
	if err := f.Add(&n.Server); err != ErrServerExists {
		t.Fatalf("duplicate name: %v", err)
	}
	n.Init(n, &model.Server{Name: "n", Addr: "127.0.0.1:3", Weight: 1, ID: 2})
	if err := f.Add(&n.Server); err != ErrIDUsed {
		t.Fatalf("used id: %v", err)
	}
	n.Init(n, &model.Server{Name: "n", Addr: "127.0.0.1:3", Weight: 1})
	if err := f.Add(&n.Server); err != nil || n.Conf.ID != 3 || len(f.ServerList()) != 3 {
		t.Fatalf("add: %v, id %d, %d servers", err, n.Conf.ID, len(f.ServerList()))
	}
	if err := f.Remove(&n.Server); err != ErrDelNotMaint {
		t.Fatalf("removing a server in service: %v", err)
	}
	s1 := srv[0]
	s1.SetAdmin(AdminMaint)
	if err := f.Remove(&s1.Server); err != ErrDelReferenced {
		t.Fatalf("removing a tracked server: %v", err)
	}
	n.SetAdmin(AdminMaint)
	if err := f.Remove(&n.Server); err != nil || !n.Deleted() || len(f.ServerList()) != 2 {
		t.Fatalf("remove: %v, deleted %v, %d servers", err, n.Deleted(), len(f.ServerList()))
	}
}

// Queued requests are served by priority class, then by arrival time
// shifted by their offset, as haproxy orders its queues; on the farm's
// queue and a server's alike, and between the two.
func TestQueuePriority(t *testing.T) {
	f, srvs := testFarm(t, "backend be\n timeout queue 5s\n server s1 127.0.0.1:1 maxconn 1\n")
	s1 := srvs[0]
	if got, _ := take(f, nil, false, 0, nil); got != s1 {
		t.Fatalf("first request got %v", got)
	}
	served := make(chan string, 8)
	queue := func(name string, on *testServer, p Priority, n int) {
		go func() {
			var core *Server[*testServer]
			if on != nil {
				core = &on.Server
			}
			if s, _ := f.take(core, on != nil, nil, 0, false, p, nil); s != nil {
				served <- name
			}
		}()
		if on != nil {
			waitQueued(t, &s1.queue, n)
		} else {
			waitQueued(t, &f.queue, n)
		}
	}
	queue("plain", nil, Priority{}, 1)
	queue("late-offset", nil, Priority{Offset: 60000}, 2)
	queue("low-class", nil, Priority{Class: 5}, 3)
	queue("high-class", nil, Priority{Class: -5}, 4)
	queue("early-offset", nil, Priority{Offset: -60000}, 5)
	queue("persistent-high", s1, Priority{Class: -10}, 1) // on the server's own queue
	queue("persistent-plain", s1, Priority{}, 2)
	var order []string
	for range 7 {
		s1.Release()
		order = append(order, <-served)
	}
	want := "persistent-high high-class early-offset plain persistent-plain late-offset low-class"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("served %s, want %s", got, want)
	}
	s1.Release()
}

func TestRemoveRefusesAUseServerTarget(t *testing.T) {
	f, srv := testFarm(t, "backend be\n use-server s1 if TRUE\n server s1 127.0.0.1:1\n server s2 127.0.0.1:2\n")
	for _, s := range srv {
		s.SetAdmin(AdminMaint)
	}
	if err := f.Remove(&srv[0].Server); err != ErrDelReferenced {
		t.Fatalf("removing a use-server target: %v", err)
	}
	if err := f.Remove(&srv[1].Server); err != nil {
		t.Fatalf("removing another server: %v", err)
	}
}
