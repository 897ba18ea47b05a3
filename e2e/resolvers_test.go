package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"dhproxy/internal/resolvers/dnstest"
)

// startHTTPBackendAt serves backendHandler(name) on addr (ip:port), so
// that DNS answers can move a server between loopback addresses.
func startHTTPBackendAt(t *testing.T, addr, name string) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: backendHandler(name), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}

func startDNS(t *testing.T) *dnstest.Server {
	t.Helper()
	s, err := dnstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// waitBody polls url until its body is want, and returns how long it took.
func waitBody(t *testing.T, url, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < within {
		out, err := curl(t, "--max-time", "1", url)
		if err == nil && out == want {
			return time.Since(start)
		}
		last = out
		if err != nil {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered %q within %v (last: %q)", url, want, within, last)
	return 0
}

// A server following a name moves to the address DNS gives once "hold
// valid" has passed: traffic goes to the new address.
func TestResolversAddressChange(t *testing.T) {
	dns := startDNS(t)
	port := freePort(t)
	startHTTPBackendAt(t, fmt.Sprintf("127.0.0.2:%d", port), "old")
	startHTTPBackendAt(t, fmt.Sprintf("127.0.0.3:%d", port), "new")
	dns.Set("app.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.2")}})
	fe := freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	cfg := fmt.Sprintf(`global
    stats socket %s level admin
resolvers dns
    nameserver ns1 %s
    hold valid 1s
    timeout resolve 200ms
    timeout retry 200ms`, sock, dns.Addr) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 app.example:%d resolvers dns resolve-prefer ipv4 init-addr none
`, fe, port)
	p := startProxy(t, cfg, fe)
	defer p.stop()
	url := fmt.Sprintf("http://127.0.0.1:%d/", fe)
	waitBody(t, url, "old", 5*time.Second)
	dns.Set("app.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.3")}})
	took := waitBody(t, url, "new", 5*time.Second)
	// Names are asked again every timeout resolve (200ms), as haproxy does;
	// the bound is hold valid (1s) with slack for a loaded machine.
	if took > 2500*time.Millisecond {
		t.Errorf("traffic moved after %v, want within hold valid", took)
	}
	t.Logf("traffic moved %v after the DNS change", took)
	rows, names := statRows(t, cliCmd(t, sock, "show stat"))
	if a := field(t, rows, names, "be/s1", "addr"); a != fmt.Sprintf("127.0.0.3:%d", port) {
		t.Errorf("stats addr %q", a)
	}
	// The name disappears: after "hold nx" (30s by default) only; the
	// server keeps its address meanwhile.
	dns.Set("app.example", dnstest.Zone{RCode: 3})
	time.Sleep(1500 * time.Millisecond)
	if out, err := curl(t, url); err != nil || out != "new" {
		t.Errorf("within hold nx: %q %v", out, err)
	}
	out := cliCmd(t, sock, "show resolvers dns")
	for _, want := range []string{"Resolvers section dns\n nameserver ns1:\n  sent:        ", "\n  snd_error:   0\n  valid:       ", "\n  nx:          ", "\n  outdated:    0\n\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("show resolvers lacks %q:\n%s", want, out)
		}
	}
	if !isHAProxy() && !strings.Contains(p.Stderr(), "be/s1 changed its IP from 127.0.0.2 to 127.0.0.3 by dns/ns1.") {
		t.Errorf("no address change logged:\n%s", p.Stderr())
	}
}

// SRV answers fill the servers of a template: listed records take a
// server each (address, port, weight), the others stay in maintenance
// ("MAINT (resolution)"); records added later take free servers, removed
// ones give theirs back.
func TestResolversSRVTemplate(t *testing.T) {
	dns := startDNS(t)
	ports := []int{freePort(t), freePort(t), freePort(t)}
	for i, n := range []string{"a", "b", "c"} {
		startHTTPBackendAt(t, fmt.Sprintf("127.0.0.%d:%d", i+2, ports[i]), n)
	}
	rec := func(i int, weight uint16) dnstest.SRV {
		return dnstest.SRV{Target: fmt.Sprintf("%c.svc.example", 'a'+i), Port: uint16(ports[i]), Weight: weight,
			Addr: netip.MustParseAddr(fmt.Sprintf("127.0.0.%d", i+2))}
	}
	dns.Set("_http._tcp.svc.example", dnstest.Zone{SRV: []dnstest.SRV{rec(0, 10), rec(1, 512)}})
	fe := freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	cfg := fmt.Sprintf(`global
    stats socket %s level admin
resolvers dns
    nameserver ns1 %s
    hold valid 500ms
    hold obsolete 0s
    timeout resolve 200ms
    timeout retry 200ms`, sock, dns.Addr) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    balance roundrobin
    server-template srv 4 _http._tcp.svc.example resolvers dns resolve-prefer ipv4 init-addr none
`, fe)
	p := startProxy(t, cfg, fe)
	defer p.stop()
	type srvState struct{ status, addr, weight string }
	states := func() map[string]srvState {
		rows, names := statRows(t, cliCmd(t, sock, "show stat"))
		m := map[string]srvState{}
		for i := 1; i <= 4; i++ {
			r := fmt.Sprintf("be/srv%d", i)
			m[r[3:]] = srvState{field(t, rows, names, r, "status"), field(t, rows, names, r, "addr"), field(t, rows, names, r, "weight")}
		}
		return m
	}
	waitStates := func(want map[string]srvState) {
		t.Helper()
		var got map[string]srvState
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got = states(); fmt.Sprint(got) == fmt.Sprint(want) {
				return
			}
		}
		t.Fatalf("servers\n got %v\nwant %v\n%s", got, want, cliCmd(t, sock, "show servers state be"))
	}
	addr := func(i int) string { return fmt.Sprintf("127.0.0.%d:%d", i+2, ports[i]) }
	observedMaint := func() srvState {
		// haproxy shows the unset address of a free template server its own
		// way; the test takes it from srv4, free in every step.
		s := states()["srv4"]
		return srvState{"MAINT (resolution)", s.addr, s.weight}
	}
	// Two records: srv1 and srv2 take them, weight (SRV weight+255)/256.
	waitStates(map[string]srvState{"srv1": {"no check", addr(0), "1"}, "srv2": {"no check", addr(1), "2"}, "srv3": observedMaint(), "srv4": observedMaint()})
	// The server state lines, as haproxy 2.6 writes them: the SRV target
	// as fqdn (admin state HMAINT, 64), the free servers without address in
	// resolution maintenance (32).
	wantState := []string{
		fmt.Sprintf("3 be 1 srv1 127.0.0.2 2 64 1 1 T 1 0 0 0 0 0 0 a.svc.example %d _http._tcp.svc.example 0 0 - - 0", ports[0]),
		fmt.Sprintf("3 be 2 srv2 127.0.0.3 2 64 2 1 T 1 0 0 0 0 0 0 b.svc.example %d _http._tcp.svc.example 0 0 - - 0", ports[1]),
		"3 be 3 srv3 - 0 32 1 1 T 1 0 0 0 0 0 0 - 0 _http._tcp.svc.example 0 0 - - 0",
		"3 be 4 srv4 - 0 32 1 1 T 1 0 0 0 0 0 0 - 0 _http._tcp.svc.example 0 0 - - 0",
	}
	for i, f := range stateLines(t, sock, "be") {
		if got := strings.Join(f, " "); i >= len(wantState) || got != wantState[i] {
			t.Errorf("show servers state line %d:\n got %s\nwant %s", i, got, wantState[min(i, len(wantState)-1)])
		}
	}
	seen := map[string]bool{}
	for i := 0; i < 8; i++ {
		out, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", fe))
		if err != nil {
			t.Fatal(err)
		}
		seen[out] = true
	}
	if !seen["a"] || !seen["b"] || seen["c"] {
		t.Errorf("traffic reached %v, want a and b", seen)
	}
	// A third record takes the first free server.
	dns.Set("_http._tcp.svc.example", dnstest.Zone{SRV: []dnstest.SRV{rec(0, 10), rec(1, 512), rec(2, 300)}})
	waitStates(map[string]srvState{"srv1": {"no check", addr(0), "1"}, "srv2": {"no check", addr(1), "2"}, "srv3": {"no check", addr(2), "2"}, "srv4": observedMaint()})
	// The first record goes: its server returns to maintenance, the others keep theirs.
	dns.Set("_http._tcp.svc.example", dnstest.Zone{SRV: []dnstest.SRV{rec(1, 512), rec(2, 300)}})
	waitStates(map[string]srvState{"srv1": observedMaint(), "srv2": {"no check", addr(1), "2"}, "srv3": {"no check", addr(2), "2"}, "srv4": observedMaint()})
	seen = map[string]bool{}
	for i := 0; i < 8; i++ {
		out, _ := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", fe))
		seen[out] = true
	}
	if seen["a"] || !seen["b"] || !seen["c"] {
		t.Errorf("traffic reached %v, want b and c", seen)
	}
}

// A server-template on A records gives each address to one server (no
// address twice: prevent-dup-ip is the default); servers left over stay in
// maintenance, and take an address added later.
func TestResolversATemplate(t *testing.T) {
	dns := startDNS(t)
	port := freePort(t)
	startHTTPBackendAt(t, fmt.Sprintf("127.0.0.2:%d", port), "a")
	startHTTPBackendAt(t, fmt.Sprintf("127.0.0.3:%d", port), "b")
	dns.Set("web.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.2")}})
	fe := freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	cfg := fmt.Sprintf(`global
    stats socket %s level admin
resolvers dns
    nameserver ns1 %s
    hold valid 500ms
    timeout resolve 200ms
    timeout retry 200ms`, sock, dns.Addr) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server-template web 3 web.example:%d resolvers dns resolve-prefer ipv4 init-addr none
`, fe, port)
	p := startProxy(t, cfg, fe)
	defer p.stop()
	statuses := func() string {
		rows, names := statRows(t, cliCmd(t, sock, "show stat"))
		var b strings.Builder
		for i := 1; i <= 3; i++ {
			r := fmt.Sprintf("be/web%d", i)
			fmt.Fprintf(&b, "%s=%s@%s ", r[3:], field(t, rows, names, r, "status"), field(t, rows, names, r, "addr"))
		}
		return b.String()
	}
	wait := func(want string) {
		t.Helper()
		got := ""
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got = statuses(); got == want {
				return
			}
		}
		t.Fatalf("servers\n got %s\nwant %s", got, want)
	}
	a, b := fmt.Sprintf("127.0.0.2:%d", port), fmt.Sprintf("127.0.0.3:%d", port)
	wait(fmt.Sprintf("web1=no check@%s web2=MAINT (resolution)@%s web3=MAINT (resolution)@%s ", a, "", ""))
	dns.Set("web.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")}})
	wait(fmt.Sprintf("web1=no check@%s web2=no check@%s web3=MAINT (resolution)@%s ", a, b, ""))
}

// Across a reload with a server state file, a template's servers keep the
// SRV targets they had, even while the DNS server does not answer.
func TestResolversSRVStateAcrossReload(t *testing.T) {
	dns := startDNS(t)
	port := freePort(t)
	startHTTPBackendAt(t, fmt.Sprintf("127.0.0.2:%d", port), "a")
	dns.Set("_http._tcp.svc.example", dnstest.Zone{SRV: []dnstest.SRV{{Target: "a.svc.example", Port: uint16(port), Weight: 256, Addr: netip.MustParseAddr("127.0.0.2")}}})
	dir := t.TempDir()
	sock := filepath.Join(dir, "stats.sock")
	master := filepath.Join(dir, "master.sock")
	state := filepath.Join(dir, "state")
	fe := freePort(t)
	cfgPath := writeConfig(t, fmt.Sprintf(`global
    stats socket %s level admin
    server-state-file %s
resolvers dns
    nameserver ns1 %s
    hold valid 500ms
    timeout resolve 200ms
    timeout retry 200ms`, sock, state, dns.Addr)+defaultsSection("http", "1s", "5s", "5s", "load-server-state-from-file global")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server-template srv 2 _http._tcp.svc.example resolvers dns resolve-prefer ipv4 init-addr none
`, fe))
	p := startMaster(t, cfgPath, master, nil, fe)
	defer p.stop()
	before := waitProc(t, master, "a worker", 5*time.Second, func(pt procTable) bool { return len(pt.workers) == 1 })
	url := fmt.Sprintf("http://127.0.0.1:%d/", fe)
	waitBody(t, url, "a", 5*time.Second)
	os.WriteFile(state, []byte(cliCmd(t, sock, "show servers state")), 0o644)
	dns.Set("_http._tcp.svc.example", dnstest.Zone{Drop: true})
	p.cmd.Process.Signal(syscall.SIGUSR2)
	waitProc(t, master, "a new worker", 10*time.Second, func(pt procTable) bool {
		return len(pt.workers) == 1 && pt.workers[0] != before.workers[0]
	})
	for i := 0; i < 5; i++ {
		if out, err := curl(t, url); err != nil || out != "a" {
			if isHAProxy() {
				// haproxy 2.6 starts the template's servers in maintenance
				// until DNS answers: noted, not asserted.
				t.Logf("haproxy: request %d after the reload: %.60q %v", i, out, err)
				return
			}
			t.Fatalf("request %d after the reload: %q %v", i, out, err)
		}
	}
	rows, names := statRows(t, cliCmd(t, sock, "show stat"))
	if a := field(t, rows, names, "be/srv1", "addr"); a != fmt.Sprintf("127.0.0.2:%d", port) {
		t.Errorf("srv1 addr %q after the reload", a)
	}
}

// The same SRV answers give the same "show stat" server rows as haproxy
// 2.6's (run side by side against one test DNS server).
func TestResolversStatsLikeHAProxy(t *testing.T) {
	const haproxy = "/usr/sbin/haproxy"
	if isHAProxy() {
		t.Skip("compares dhproxy with haproxy")
	}
	if _, err := os.Stat(haproxy); err != nil {
		t.Skip("no haproxy to compare with")
	}
	dns := startDNS(t)
	ports := []int{freePort(t), freePort(t)}
	for i, n := range []string{"a", "b"} {
		startHTTPBackendAt(t, fmt.Sprintf("127.0.0.%d:%d", i+2, ports[i]), n)
	}
	dns.Set("_http._tcp.svc.example", dnstest.Zone{SRV: []dnstest.SRV{
		{Target: "a.svc.example", Port: uint16(ports[0]), Weight: 10, Addr: netip.MustParseAddr("127.0.0.2")},
		{Target: "b.svc.example", Port: uint16(ports[1]), Weight: 700, Addr: netip.MustParseAddr("127.0.0.3")},
	}})
	cols := []string{"svname", "status", "weight", "act", "bck", "chkfail", "chkdown", "sid", "throttle", "tracked", "type",
		"check_code", "addr", "cookie", "mode", "uweight", "qlimit", "slim"}
	run := func(binary string) []string {
		fe := freePort(t)
		sock := filepath.Join(t.TempDir(), "stats.sock")
		cfg := fmt.Sprintf(`global
    stats socket %s level admin
resolvers dns
    nameserver ns1 %s
    hold valid 500ms
    timeout resolve 200ms
    timeout retry 200ms`, sock, dns.Addr) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server-template srv 3 _http._tcp.svc.example resolvers dns resolve-prefer ipv4 init-addr none check inter 300ms
`, fe)
		p := startProxyCmd(t, exec.Command(binary, "-db", "-f", writeConfig(t, cfg)), fe)
		defer p.stop()
		var out []string
		for deadline := time.Now().Add(6 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			rows, names := statRows(t, cliCmd(t, sock, "show stat"))
			out = out[:0]
			for i := 1; i <= 3; i++ {
				var vals []string
				for _, c := range cols {
					v := field(t, rows, names, fmt.Sprintf("be/srv%d", i), c)
					if c == "status" {
						v, _, _ = strings.Cut(v, " 1/") // how far the checks went is timing
					}
					vals = append(vals, c+"="+v)
				}
				out = append(out, strings.Join(vals, " "))
			}
			if strings.Contains(out[0], "status=UP ") && strings.Contains(out[1], "status=UP ") {
				break
			}
		}
		return out
	}
	want := run(haproxy)
	got := run(bin)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("srv%d\ndhproxy %s\nhaproxy %s", i+1, got[i], want[i])
		}
	}
}
