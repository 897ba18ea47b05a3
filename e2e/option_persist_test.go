package e2e

import (
	"fmt"
	"testing"
)

// option persist: a cookie (or use-server rule) naming a DOWN server still
// sends the request there; with option redispatch a failed connect to it
// then goes to another server (force-persist would not redispatch).
func TestOptionPersist(t *testing.T) {
	ports := map[string]int{}
	for _, n := range []string{"a", "m"} {
		ports[n], _ = cookieBackend(t, n, "", "")
	}
	dead := freePort(t) // nothing listens there
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 2
listen web
    bind 127.0.0.1:%d
    option persist
    option redispatch
    cookie SRV insert indirect
    use-server d if { req.hdr(x-to) d }
    server a 127.0.0.1:%d cookie a
    server m 127.0.0.1:%d cookie m disabled
    server d 127.0.0.1:%d cookie d disabled
`, port, ports["a"], ports["m"], dead), port)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for _, c := range []struct {
		what string
		hdrs []string
		want string
	}{
		{"cookie naming a DOWN server", []string{"Cookie: SRV=m"}, "m"},
		{"cookie naming a DOWN dead server, redispatched", []string{"Cookie: SRV=d"}, "a"},
		{"use-server naming a DOWN dead server, redispatched", []string{"X-To: d"}, "a"},
		{"no cookie", nil, "a"},
	} {
		if got := persistGet(t, url, c.hdrs...).Header.Get("X-Backend"); got != c.want {
			t.Errorf("%s: went to %q, want %q", c.what, got, c.want)
		}
	}
}
