package e2e

import "testing"

// newVLab builds a lab for the VRRP tests: VRRP is dhproxy's, so they do
// not run against haproxy.
func newVLab(t *testing.T, hosts ...string) *lab {
	t.Helper()
	if isHAProxy() {
		t.Skip("VRRP is dhproxy's")
	}
	return newLab(t, hosts...)
}
