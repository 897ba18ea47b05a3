package vrrp

import (
	"testing"

	"dhproxy/internal/config/keepalived"
)

func TestIsProxyProbe(t *testing.T) {
	yes := []string{"killall -0 haproxy", "/usr/bin/killall -0 haproxy", "pidof haproxy", "pgrep -x haproxy",
		"/usr/bin/pgrep haproxy", "systemctl is-active --quiet haproxy", "systemctl is-active haproxy.service", `killall -0 "haproxy"`, "pidof dhproxy"}
	no := []string{"killall -0 nginx", "curl -f http://127.0.0.1/", "pidof haproxy && curl x", "/etc/keepalived/check_haproxy.sh", "killall haproxy"}
	for _, s := range yes {
		if !IsProxyProbe(s) {
			t.Errorf("%q not recognised as a haproxy process check", s)
		}
	}
	for _, s := range no {
		if IsProxyProbe(s) {
			t.Errorf("%q taken for a haproxy process check", s)
		}
	}
}

func TestTrackerRiseFall(t *testing.T) {
	tr := &tracker{s: &keepalived.VRRPScript{Rise: 2, Fall: 3}, ok: true}
	steps := []struct {
		result  bool
		changed bool
	}{
		{false, false}, {false, false}, {true, false}, // a success resets the fall count
		{false, false}, {false, false}, {false, true}, // third failure in a row: failed
		{true, false}, {true, true}, // second success: up again
	}
	for i, s := range steps {
		if got := tr.observe(s.result); got != s.changed || (s.changed && tr.ok != s.result) {
			t.Fatalf("step %d: changed=%v ok=%v", i, got, tr.ok)
		}
	}
}
