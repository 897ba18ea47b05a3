package lvs

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dhproxy/internal/config/keepalived"
)

// reloadConfs are a configuration and its reload: VS 1 stays (lb_algo
// changes in place), real a stays with a new weight, b stays down with a
// changed checker, c goes, e comes (alpha: down until checked); VS 2 goes
// and VS 3 comes.
func reloadConfs(vip1, vip2, vip3, a, b, c, e string) (before, after string) {
	check := func(timeout string) string {
		return "TCP_CHECK {\n connect_timeout " + timeout + "\n retry 0\n }\n"
	}
	real := func(addr string, weight int, extra string) string {
		return fmt.Sprintf("real_server 127.0.0.1 %s {\n weight %d\n %s}\n", port(addr), weight, extra)
	}
	vs := func(vip, algo, reals string) string {
		return fmt.Sprintf("virtual_server 127.0.0.1 %s {\n delay_loop 0.05\n lb_algo %s\n protocol TCP\n%s}\n", port(vip), algo, reals)
	}
	before = vs(vip1, "rr", real(a, 1, check("0.5"))+real(b, 1, check("0.5"))+real(c, 1, check("0.5"))) +
		vs(vip2, "rr", real(a, 1, ""))
	after = vs(vip1, "wrr", real(a, 3, check("0.5"))+real(b, 1, check("0.4"))+real(e, 2, "alpha\n"+check("0.5"))) +
		vs(vip3, "rr", real(c, 1, ""))
	return before, after
}

// TestRuntimeReloadKeepsState: a reload keeps what it finds again with its
// health state (no DOWN/UP, no alert for a; b stays down although its
// checkers restarted), removes what went and starts what came as at
// start-up, through the userspace datapath whose kept listener stays.
func TestRuntimeReloadKeepsState(t *testing.T) {
	a, b, c, e := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c"), newBackend(t, "e")
	vip1, vip2, vip3 := freeAddr(t), freeAddr(t), freeAddr(t)
	before, after := reloadConfs(vip1, vip2, vip3, a.addr, b.addr, c.addr, e.addr)
	b.stop()
	svcs, err := Build(loadConf(t, before))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logs, alerts []string
	logf := func(s string) { mu.Lock(); logs = append(logs, s); mu.Unlock() }
	logged := func(s string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, l := range logs {
			if strings.Contains(l, s) {
				n++
			}
		}
		return n
	}
	dp, err := NewUserspace(svcs, logf)
	if err != nil {
		t.Fatal(err)
	}
	rt := New(svcs, dp, Options{Logf: logf, OnRealServer: func(vs, rs string, up bool, _ string) {
		mu.Lock()
		alerts = append(alerts, fmt.Sprintf("%s %s %v", vs, rs, up))
		mu.Unlock()
	}})
	if err := rt.Start(); err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	pa, pc, pe := port(a.addr), port(c.addr), port(e.addr)
	waitFor(t, "b removed", func() bool { return destsOf(rt) == pa+"/1 "+pc+"/1" })
	if got := dialName(t, vip1); got != "a" && got != "c" {
		t.Fatalf("before the reload: %q", got)
	}

	next, err := Build(loadConf(t, after))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	alerts = nil
	mu.Unlock()
	plan, err := rt.Reload(next)
	if err != nil {
		t.Fatal(err)
	}
	name := func(addr string) string { return "[127.0.0.1]:tcp:" + port(addr) }
	want := ReloadPlan{
		KeptServices: []string{name(vip1)}, AddedServices: []string{name(vip3)}, RemovedServices: []string{name(vip2)},
		KeptReals:    map[string][]string{name(vip1): {name(a.addr), name(b.addr)}},
		AddedReals:   map[string][]string{name(vip1): {name(e.addr)}},
		RemovedReals: map[string][]string{name(vip1): {name(c.addr)}},
	}
	if !reflect.DeepEqual(plan, want) {
		t.Fatalf("plan:\n got %+v\nwant %+v", plan, want)
	}
	// a at its new weight at once; e (alpha) once its checker passed.
	waitFor(t, "e added", func() bool { return destsOf(rt) == pa+"/3 "+pe+"/2" })
	for _, l := range []string{
		"service " + name(c.addr) + " no longer exist",
		"Removing service " + name(c.addr) + " from VS " + name(vip1),
		"Removing Virtual Server " + name(vip2),
		"Activating healthchecker for service " + name(e.addr) + " for VS " + name(vip1),
	} {
		if logged(l) != 1 {
			t.Errorf("log should have %q once:\n%s", l, strings.Join(logs, "\n"))
		}
	}
	// a kept its state: it was added once at start-up, never again.
	if n := logged("Adding service " + name(a.addr)); n != 0 {
		t.Errorf("a went through the pool again (%d) on reload:\n%s", n, strings.Join(logs, "\n"))
	}
	if n := logged("Removing service " + name(b.addr)); n != 1 {
		t.Errorf("b, down and kept, must not leave the pool again (%d):\n%s", n, strings.Join(logs, "\n"))
	}
	mu.Lock()
	for _, al := range alerts {
		if strings.HasPrefix(al, name(vip1)+" "+name(a.addr)) || strings.HasPrefix(al, name(vip1)+" "+name(b.addr)) {
			t.Errorf("reload alerted for a kept server: %s", al)
		}
	}
	// c and VS 2's a left their pools: keepalived alerts "=> Removing <=".
	for _, want := range []string{name(vip1) + " " + name(c.addr) + " false", name(vip2) + " " + name(a.addr) + " false"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %q for a removed server: %v", want, alerts)
		}
	}
	mu.Unlock()
	// b's new checker took over its state: it comes back when it answers.
	b.start(t)
	waitFor(t, "b back", func() bool { return destsOf(rt) == pa+"/3 "+port(b.addr)+"/1 "+pe+"/2" })
	seen := map[string]int{}
	for range 6 {
		seen[dialName(t, vip1)]++
	}
	if seen["c"] != 0 || seen["a"] != 3 || seen["b"] != 1 || seen["e"] != 2 {
		t.Fatalf("wrr 3:1:2 over a, b, e after the reload: %v", seen)
	}
	if got := dialName(t, vip2); got != "refused" {
		t.Errorf("removed VS 2 still answers: %q", got)
	}
	if got := dialName(t, vip3); got != "c" {
		t.Errorf("added VS 3: %q", got)
	}
	names := []string{}
	for _, d := range rt.Desired() {
		names = append(names, d.Svc.Name)
	}
	if !slices.Equal(names, []string{name(vip1), name(vip3)}) {
		t.Errorf("services after the reload: %v", names)
	}
}

// fixedDP is a datapath that cannot reload.
type fixedDP struct{ applied int }

func (f *fixedDP) Name() string                          { return "fixed" }
func (f *fixedDP) Apply([]Desired) error                 { f.applied++; return nil }
func (f *fixedDP) Stats([]Desired) map[DestKey]DestStats { return nil }
func (f *fixedDP) Close() error                          { return nil }

// TestRuntimeReloadRefused: a datapath that cannot take the new set keeps
// the running services untouched and says why.
func TestRuntimeReloadRefused(t *testing.T) {
	vip1, vip2, vip3 := freeAddr(t), freeAddr(t), freeAddr(t)
	a, b, c, e := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	before, after := reloadConfs(vip1, vip2, vip3, a, b, c, e)
	svcs, err := Build(loadConf(t, before))
	if err != nil {
		t.Fatal(err)
	}
	rt := New(svcs, &fixedDP{}, Options{})
	if err := rt.Start(); err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	next, err := Build(loadConf(t, after))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Reload(next); err == nil || !strings.Contains(err.Error(), "fixed datapath cannot change its virtual servers in place") {
		t.Fatalf("err = %v", err)
	}
	if ds := rt.Desired(); len(ds) != 2 || ds[0].Svc != svcs[0] || ds[1].Svc != svcs[1] {
		t.Fatalf("the running services changed: %+v", ds)
	}
}

// reloadableDP is a datapath that takes any reload.
type reloadableDP struct{ fixedDP }

func (r *reloadableDP) Reload(_ []*Service, ds []Desired) (Dataplane, error) {
	return r, r.Apply(ds)
}

// TestReloadPlanReplaces: a virtual server whose protocol changes is not
// the same one (keepalived's VS_ISEQ): removed and added; one whose
// scheduler and persistence change is kept with its real servers' state.
func TestReloadPlanReplaces(t *testing.T) {
	conf := func(proto, algo, persist string) string {
		return fmt.Sprintf(`virtual_server 127.0.0.1 81 {
 lb_algo %s
 %s
 protocol %s
 real_server 127.0.0.1 82 {
  weight 2
 }
}
virtual_server 127.0.0.1 83 {
 lb_algo rr
 protocol TCP
 real_server 127.0.0.1 84 {
 }
}
`, algo, persist, proto)
	}
	svcs, err := Build(loadConf(t, conf("TCP", "rr", "")))
	if err != nil {
		t.Fatal(err)
	}
	rt := New(svcs, &reloadableDP{}, Options{})
	if err := rt.Start(); err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	kept := rt.svcs[1].reals[0]
	next, _ := Build(loadConf(t, conf("UDP", "wrr", "persistence_timeout 30")))
	plan, err := rt.Reload(next)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.RemovedServices, []string{"[127.0.0.1]:tcp:81"}) || !slices.Equal(plan.AddedServices, []string{"[127.0.0.1]:udp:81"}) ||
		!slices.Equal(plan.KeptServices, []string{"[127.0.0.1]:tcp:83"}) {
		t.Fatalf("plan: %+v", plan)
	}
	if rt.svcs[1].reals[0] != kept || rt.svcs[1].svc != next[1] {
		t.Fatalf("the kept service lost its real server's state")
	}
	// Same services again: everything kept, scheduler changes in place.
	again, _ := Build(loadConf(t, conf("UDP", "lc", "persistence_timeout 60")))
	plan, _ = rt.Reload(again)
	if len(plan.KeptServices) != 2 || len(plan.AddedServices)+len(plan.RemovedServices) != 0 || rt.Desired()[0].Svc.Sched != "lc" {
		t.Fatalf("plan: %+v", plan)
	}
}

// TestMigrateCheckers: a new checker probing what an old one did takes
// its state (retries within its new retry); the others start down when
// alpha on a server that failed, and fail at their first failure.
func TestMigrateCheckers(t *testing.T) {
	real := &Real{Name: "r", Addr: netip.MustParseAddrPort("127.0.0.1:80")}
	tcp := func(timeout time.Duration, retry int, alpha bool) *checker {
		return newChecker(&keepalived.Check{Kind: "TCP_CHECK", ConnectTimeout: timeout, Retry: retry, Alpha: alpha}, real, "tcp", time.Second, alpha)
	}
	httpGet := newChecker(&keepalived.Check{Kind: "HTTP_GET", Retry: 3, Alpha: true, URLs: []keepalived.URL{{Path: "/"}}}, real, "tcp", time.Second, false)

	old := tcp(time.Second, 3, false)
	old.up, old.hasRun, old.retryIt = false, true, 2
	rs := &realState{real: real, checkers: []*checker{old}, alive: false}
	fresh := migrateCheckers(rs, []*checker{tcp(2*time.Second, 1, false), httpGet})
	if c := fresh[0]; c.up || !c.hasRun || c.retryIt != 0 {
		t.Errorf("same probe: up=%v hasRun=%v retryIt=%d, want the old down state, retries within 1", c.up, c.hasRun, c.retryIt)
	}
	if c := fresh[1]; c.up || c.hasRun || c.retryIt != 3 {
		t.Errorf("new alpha checker on a failed server: up=%v hasRun=%v retryIt=%d, want down, one failure enough", c.up, c.hasRun, c.retryIt)
	}

	up := tcp(time.Second, 1, false)
	up.up, up.hasRun = true, true
	rs = &realState{real: real, checkers: []*checker{up}, alive: true}
	fresh = migrateCheckers(rs, []*checker{tcp(time.Second, 1, true)})
	if c := fresh[0]; !c.up || !c.hasRun {
		t.Errorf("alpha added to an up checker: up=%v hasRun=%v, want it to stay up", c.up, c.hasRun)
	}
	other := *up.conf
	other.ConnectPort = 8080
	moved := newChecker(&other, real, "tcp", time.Second, false)
	if sameProbe(up, moved) {
		t.Error("a checker on another port probes something else")
	}
}

// TestReloadSorryServerChanged: a sorry server in use that the new file
// replaces is logged as removed; the new one serves.
func TestReloadSorryServerChanged(t *testing.T) {
	conf := func(sorry string) string {
		return "virtual_server 127.0.0.1 81 {\n quorum 10\n sorry_server 127.0.0.1 " + sorry + "\n real_server 127.0.0.1 82 {\n }\n}\n"
	}
	svcs, err := Build(loadConf(t, conf("90")))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logs []string
	rt := New(svcs, &reloadableDP{}, Options{Logf: func(s string) { mu.Lock(); logs = append(logs, s); mu.Unlock() }})
	if err := rt.Start(); err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	next, _ := Build(loadConf(t, conf("91")))
	if _, err := rt.Reload(next); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(logs, "Removing sorry server [127.0.0.1]:tcp:90 from VS [127.0.0.1]:tcp:81") {
		t.Errorf("no removal line:\n%s", strings.Join(logs, "\n"))
	}
	if got := destsOf(rt); got != "91/1sorry" {
		t.Errorf("destinations after the reload: %s", got)
	}
}
