package lvs

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
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
		if !strings.Contains(al, name(e.addr)) {
			t.Errorf("reload alerted for a kept server: %s", al)
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
