package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// persistGet sends GET url with the given header lines ("Name: value").
func persistGet(t *testing.T, url string, hdrs ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for _, h := range hdrs {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// use-server picks the server before the cookie and the balancer (a
// weight 0 server too), skips a DOWN server unless force-persist holds,
// and assigns without a new persistence cookie; with ignore-persist the
// cookie assigns nothing and none is set.
func TestUseServerForceIgnorePersist(t *testing.T) {
	ports := map[string]int{}
	for _, n := range []string{"a", "b", "c", "m"} {
		ports[n], _ = cookieBackend(t, n, "", "")
	}
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    balance roundrobin
    cookie SRV insert indirect
    force-persist if { req.hdr(x-force) 1 }
    ignore-persist if { path_beg /static }
    use-server c if { req.hdr(x-to) c }
    use-server m if { req.hdr(x-to) m }
    use-server a if { req.hdr(x-to) m }
    use-server %%[req.hdr(x-name)] if { req.hdr(x-name) -m found }
    server a 127.0.0.1:%d cookie a
    server b 127.0.0.1:%d cookie b
    server c 127.0.0.1:%d cookie c weight 0
    server m 127.0.0.1:%d cookie m disabled
`, port, ports["a"], ports["b"], ports["c"], ports["m"]), port)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	check := func(what, path, want, wantSetCookie, wantSeen string, hdrs ...string) {
		t.Helper()
		r := persistGet(t, url+path, hdrs...)
		if got := r.Header.Get("X-Backend"); got != want {
			t.Errorf("%s: went to %q, want %q", what, got, want)
		}
		if got := r.Header.Get("Set-Cookie"); got != wantSetCookie {
			t.Errorf("%s: Set-Cookie %q, want %q", what, got, wantSetCookie)
		}
		if got := r.Header.Get("X-Seen-Cookie"); got != wantSeen {
			t.Errorf("%s: the server saw Cookie %q, want %q", what, got, wantSeen)
		}
	}
	check("use-server to a weight 0 server", "/", "c", "", "", "X-To: c")
	check("use-server over the cookie", "/", "c", "", "x=1", "X-To: c", "Cookie: SRV=b; x=1")
	check("use-server to a DOWN server, next rule", "/", "a", "", "", "X-To: m")
	check("use-server to a DOWN server with force-persist", "/", "m", "", "", "X-To: m", "X-Force: 1")
	check("computed use-server name", "/", "b", "", "", "X-Name: b")
	check("computed name of no server", "/", "b", "", "x=2", "X-Name: nope", "Cookie: SRV=b; x=2")
	check("cookie naming a DOWN server with force-persist", "/", "m", "", "", "Cookie: SRV=m", "X-Force: 1")
	check("cookie naming b", "/", "b", "", "", "Cookie: SRV=b")
	// A cookie naming a DOWN server is balanced (a or b) and gets a new cookie.
	r := persistGet(t, url+"/", "Cookie: SRV=m")
	if be := r.Header.Get("X-Backend"); (be != "a" && be != "b") || r.Header.Get("Set-Cookie") != "SRV="+be+"; path=/" {
		t.Errorf("cookie naming a DOWN server: went to %q with Set-Cookie %q", be, r.Header.Get("Set-Cookie"))
	}
	// ignore-persist: balanced over a and b whatever the cookie (still
	// removed: insert indirect), and no cookie is set.
	seen := map[string]bool{}
	for range 4 {
		r := persistGet(t, url+"/static/x", "Cookie: SRV=b")
		seen[r.Header.Get("X-Backend")] = true
		if sc, got := r.Header.Get("Set-Cookie"), r.Header.Get("X-Seen-Cookie"); sc != "" || got != "" {
			t.Errorf("ignore-persist: Set-Cookie %q, server saw Cookie %q; want neither", sc, got)
		}
	}
	if !seen["a"] || !seen["b"] || len(seen) != 2 {
		t.Errorf("ignore-persist: requests went to %v, want a and b", seen)
	}
}

// use-server in mode tcp: every connection matching goes to the weight 0
// server the balancer never picks.
func TestUseServerTCP(t *testing.T) {
	a, _ := startHTTPBackend(t, "a")
	b, _ := startHTTPBackend(t, "b")
	port, other := freePort(t), freePort(t)
	startProxy(t, fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen t
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d
    use-server b if { dst_port %d }
    server a 127.0.0.1:%d
    server b 127.0.0.1:%d weight 0
`, port, other, port, a, b), port, other)
	for range 3 {
		if got, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil || got != "b" {
			t.Fatalf("through the use-server port: %q %v, want b", got, err)
		}
		if got, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", other)); err != nil || got != "a" {
			t.Fatalf("through the other port: %q %v, want a", got, err)
		}
	}
}
