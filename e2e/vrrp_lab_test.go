package e2e

import (
	"fmt"
	"testing"
)

// newVLab builds a lab for the VRRP tests: VRRP is dhproxy's, so they do
// not run against haproxy.
func newVLab(t *testing.T, hosts ...string) *lab {
	t.Helper()
	if isHAProxy() {
		t.Skip("VRRP is dhproxy's")
	}
	return newLab(t, hosts...)
}

// vipProxyConf is a VRRP lab node's haproxy.cfg: the global lines given,
// and a frontend on the VIP whose one server, checked every 300ms, is
// the web host's port.
func vipProxyConf(l *lab, port int, global ...string) string {
	cfg := "global"
	for _, line := range global {
		cfg += "\n    " + line
	}
	return cfg + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend fe
    bind %s:80
    default_backend be
backend be
    server w %s:%d check inter 300 fall 1 rise 1
`, vip, l.addr["web"], port)
}
