package vrrp

import (
	"context"
	"os/exec"
	"regexp"
	"time"

	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/scriptuser"
)

// proxyProbe matches the vrrp_script lines keepalived users write to check
// that HAProxy runs. Inside dhproxy there is no such process: these scripts
// would always fail, so they are answered in-process instead.
var proxyProbe = regexp.MustCompile(`^\s*(\S*/)?(killall\s+-0|pidof(\s+-\S+)*|pgrep(\s+-\S+)*|systemctl\s+(--quiet\s+)?is-active(\s+--quiet)?)\s+"?(haproxy|dhproxy)(\.service)?"?\s*$`)

// IsProxyProbe reports whether a vrrp_script only checks that a process
// named haproxy (or dhproxy) is running.
func IsProxyProbe(script string) bool { return proxyProbe.MatchString(script) }

// tracker runs one vrrp_script and applies keepalived's rise/fall counting.
type tracker struct {
	s     *keepalived.VRRPScript
	probe func() bool // in-process check replacing the script; nil = run it
	user  scriptuser.Account
	off   bool // refused by enable_script_security: not tracked at all
	ok    bool
	run   int                // consecutive results against the current state
	stop  context.CancelFunc // ends the script's goroutine (a reload dropped or changed it)
}

// run executes the script once: exit status 0 within the timeout is success.
func runScript(ctx context.Context, s *keepalived.VRRPScript, su scriptuser.Account) bool {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = s.Interval
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", s.Script)
	su.Apply(cmd)
	cmd.WaitDelay = time.Second
	return cmd.Run() == nil
}

// observe counts one result; it reports whether the tracked state changed.
func (t *tracker) observe(ok bool) bool {
	if ok == t.ok {
		t.run = 0
		return false
	}
	t.run++
	need := t.s.Fall
	if ok {
		need = t.s.Rise
	}
	if t.run < max(need, 1) {
		return false
	}
	t.ok, t.run = ok, 0
	return true
}
