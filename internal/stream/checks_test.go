package stream

import "testing"

// TestServerEvent checks which health messages are mailed, for which proxy
// and at which level (HAProxy mails check results at info, though it logs
// them at notice).
func TestServerEvent(t *testing.T) {
	cases := []struct{ level, msg, proxy, mailLevel string }{
		{"alert", `Server be/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`, "be", "alert"},
		{"notice", "Server be.x:1/s1 is UP, reason: Layer4 check passed, check duration: 0ms. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.", "be.x:1", "notice"},
		{"alert", "Backup Server be/b1 is DOWN, reason: Layer4 timeout, check duration: 1001ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.", "be", "alert"},
		{"notice", "Health check for server be/s1 failed, reason: Layer4 connection problem, status: 0/2 DOWN.", "be", "info"},
		{"notice", "Health check for backup server be/b1 succeeded, reason: Layer4 check passed, status: 3/3 UP.", "be", "info"},
		{"emerg", "backend be has no server available!", "", ""},
		{"crit", "Health check for server be/s1: internal error: boom", "", ""},
		{"alert", "Server without-a-slash", "", ""},
	}
	for _, c := range cases {
		proxy, level, ok := serverEvent(c.level, c.msg)
		if proxy != c.proxy || level != c.mailLevel || ok != (c.proxy != "") {
			t.Errorf("%q: got %q %q %v, want %q %q", c.msg, proxy, level, ok, c.proxy, c.mailLevel)
		}
	}
}
