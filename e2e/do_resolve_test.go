package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"testing"

	"dhproxy/internal/resolvers/dnstest"
)

// http-request do-resolve puts the first address of a name into a
// variable, IPv6 preferred unless told ipv4, the other family when the
// preferred one has none; a name that does not resolve leaves it unset.
// Same answers from dhproxy and haproxy.
func TestDoResolveAsHAProxy(t *testing.T) {
	needHAProxy(t)
	dns := startDNS(t)
	dns.Set("both.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::2")}})
	dns.Set("v4.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.3")}})
	dns.Set("v6.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("::3")}})
	names := []string{"both.example", "v4.example", "v6.example", "nx.example"}
	var got [][]string
	for _, path := range []string{haproxyBin, bin} {
		fe := freePort(t)
		p := startBinary(t, path, fmt.Sprintf(`resolvers dns
    nameserver a %s
    timeout retry 200ms
    resolve_retries 2
`+defaultsSection("http", "2s", "10s", "10s")+`
frontend fe
    bind 127.0.0.1:%d
    http-request do-resolve(txn.ip,dns) req.hdr(x-name)
    http-request do-resolve(txn.ip4,dns,ipv4) req.hdr(x-name)
    http-request do-resolve(txn.ip6,dns,ipv6) req.hdr(x-name)
    http-request return status 200 content-type text/plain lf-string "%%[var(txn.ip)] %%[var(txn.ip4)] %%[var(txn.ip6)]"
`, dns.Addr, fe), fe)
		var out []string
		for _, n := range names {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", fe), nil)
			req.Header.Set("X-Name", n)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v; stderr:\n%s", path, err, p.Stderr())
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out = append(out, n+": "+string(b))
		}
		p.stop()
		got = append(got, out)
	}
	want := []string{
		"both.example: ::2 127.0.0.2 ::2",
		"v4.example: 127.0.0.3 127.0.0.3 127.0.0.3",
		"v6.example: ::3 ::3 ::3",
		"nx.example:   ", // unset variables print nothing in lf-string
	}
	for i, name := range []string{"haproxy", "dhproxy"} {
		if fmt.Sprint(got[i]) != fmt.Sprint(want) {
			t.Errorf("%s:\n%q\nwant\n%q", name, got[i], want)
		}
	}
}
