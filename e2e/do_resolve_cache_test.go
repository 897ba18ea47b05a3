package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"dhproxy/internal/resolvers/dnstest"
)

// do-resolve's answers, counted at the nameserver. As in haproxy 2.6: an
// ipv4 and an ipv6 rule on the same name are separate resolutions, a name
// that does not exist is asked again on every request, and a nameserver
// that does not answer is asked resolve_retries times for the preferred
// family only, so the request waits about resolve_retries x timeout retry.
// dhproxy also keeps a valid answer for "hold valid" (haproxy's manual says
// so, but haproxy 2.6.12 frees a resolution that no server follows once
// its request has it: it asks again for every request).
func TestDoResolveCacheAsHAProxy(t *testing.T) {
	comparesWithHAProxy(t)
	needHAProxy(t)
	dns := startDNS(t)
	dns.Set("both.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::2")}})
	dns.Set("gone.example", dnstest.Zone{Drop: true})
	type result struct {
		bodies              []string
		cached, expired, nx []int64
		dropped             int64
		droppedWait         time.Duration
	}
	var got []result
	for _, path := range []string{haproxyBin, bin} {
		fe := freePort(t)
		p := startBinary(t, path, fmt.Sprintf(`resolvers dns
    nameserver a %s
    timeout retry 300ms
    resolve_retries 2
    hold valid 1s
    hold nx 30s
    hold other 30s
`+defaultsSection("http", "2s", "10s", "10s")+`
frontend fe
    bind 127.0.0.1:%d
    http-request do-resolve(txn.ip4,dns,ipv4) req.hdr(x-name)
    http-request do-resolve(txn.ip6,dns,ipv6) req.hdr(x-name)
    http-request return status 200 content-type text/plain lf-string "%%[var(txn.ip4)] %%[var(txn.ip6)]"
`, dns.Addr, fe), fe)
		get := func(name string) string {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", fe), nil)
			req.Header.Set("X-Name", name)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v; stderr:\n%s", path, err, p.Stderr())
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		var r result
		// Five requests within "hold valid", then one after it.
		base := dns.Asked("both.example")
		for i := 0; i < 5; i++ {
			r.bodies = append(r.bodies, get("both.example"))
		}
		r.cached = append(r.cached, dns.Asked("both.example")-base)
		time.Sleep(1200 * time.Millisecond)
		base = dns.Asked("both.example")
		r.bodies = append(r.bodies, get("both.example"))
		r.expired = append(r.expired, dns.Asked("both.example")-base)
		// NXDOMAIN is not kept: each request asks again.
		for i := 0; i < 3; i++ {
			base = dns.Asked("nx.example")
			r.bodies = append(r.bodies, get("nx.example"))
			r.nx = append(r.nx, min(dns.Asked("nx.example")-base, 1))
		}
		// Silence: retries of the preferred family, then the request goes on.
		base = dns.Asked("gone.example")
		start := time.Now()
		r.bodies = append(r.bodies, get("gone.example"))
		r.droppedWait = time.Since(start)
		r.dropped = dns.Asked("gone.example") - base
		p.stop()
		t.Logf("%s: silent nameserver: request waited %v", path, r.droppedWait)
		got = append(got, r)
	}
	wantBodies := fmt.Sprint([]string{"127.0.0.2 ::2", "127.0.0.2 ::2", "127.0.0.2 ::2", "127.0.0.2 ::2", "127.0.0.2 ::2", "127.0.0.2 ::2", " ", " ", " ", " "})
	for i, name := range []string{"haproxy", "dhproxy"} {
		r := got[i]
		if fmt.Sprint(r.bodies) != wantBodies {
			t.Errorf("%s: bodies %q\nwant %s", name, r.bodies, wantBodies)
		}
		wantCached := int64(10) // haproxy: an A and an AAAA query per request
		if name == "dhproxy" {
			wantCached = 2 // one per family, for the five requests
		}
		if r.cached[0] != wantCached || r.expired[0] != 2 {
			t.Errorf("%s: %d queries for 5 requests within hold valid (want %d), %d for one after it (want 2)", name, r.cached[0], wantCached, r.expired[0])
		}
		if fmt.Sprint(r.nx) != "[1 1 1]" {
			t.Errorf("%s: NX asked again per request: %v, want [1 1 1]", name, r.nx)
		}
		// Two rules, each: resolve_retries (2) queries of its preferred family.
		if r.dropped != 4 || r.droppedWait > 2*time.Second {
			t.Errorf("%s: silent nameserver asked %d times (want 4), request waited %v (want about 2 x 2 x 300ms)", name, r.dropped, r.droppedWait)
		}
	}
}

// A server following a name shares its resolution with do-resolve (same
// name, same preferred family), as in haproxy 2.6: requests get the address
// the server's last resolution brought, so a DNS change reaches them at
// the server's next resolution ("timeout resolve"), even within "hold
// valid".
func TestDoResolveSharesServerResolutionAsHAProxy(t *testing.T) {
	needHAProxy(t)
	dns := startDNS(t)
	dns.Set("followed.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.5")}})
	for _, path := range []string{haproxyBin, bin} {
		dns.Set("followed.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.5")}})
		fe := freePort(t)
		p := startBinary(t, path, fmt.Sprintf(`resolvers dns
    nameserver a %s
    timeout resolve 200ms
    timeout retry 300ms
    hold valid 20s
`+defaultsSection("http", "2s", "10s", "10s")+`
frontend fe
    bind 127.0.0.1:%d
    http-request do-resolve(txn.ip,dns,ipv4) req.hdr(x-name)
    http-request return status 200 content-type text/plain lf-string "%%[var(txn.ip)]"

backend be
    server s followed.example:80 resolvers dns resolve-prefer ipv4 init-addr none
`, dns.Addr, fe), fe)
		if d := waitResolved(t, fe, "followed.example", "127.0.0.5"); d < 0 {
			t.Fatalf("%s: never resolved; stderr:\n%s", path, p.Stderr())
		}
		dns.Set("followed.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.6")}})
		if d := waitResolved(t, fe, "followed.example", "127.0.0.6"); d < 0 {
			t.Errorf("%s: do-resolve still gives the old address 3s after the change", path)
		} else {
			t.Logf("%s: new address after %v", path, d)
		}
		p.stop()
	}
}

// waitResolved asks the do-resolve frontend on port for name until it
// answers want, for up to 3s; it returns how long that took, -1 if never.
func waitResolved(t *testing.T, port int, name, want string) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 3*time.Second {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
		req.Header.Set("X-Name", name)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) == want {
				return time.Since(start)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return -1
}
