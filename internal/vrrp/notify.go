package vrrp

import (
	"context"
	"os/exec"
	"strconv"
	"time"

	"dhproxy/internal/scriptuser"
)

// notifier runs notify scripts one after the other, in transition order,
// off the protocol goroutine so a slow script never delays adverts.
type notifier struct {
	jobs   chan []string // sh -c arguments
	done   chan struct{}
	logf   func(string, ...any)
	user   scriptuser.Account
	refuse map[string]bool // scripts enable_script_security disabled
}

func newNotifier(logf func(string, ...any), user scriptuser.Account, refuse map[string]bool) *notifier {
	n := &notifier{jobs: make(chan []string, 64), done: make(chan struct{}), logf: logf, user: user, refuse: refuse}
	go n.loop()
	return n
}

func (n *notifier) loop() {
	defer close(n.done)
	for args := range n.jobs {
		// keepalived kills notify scripts that hang; give them a generous bound.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c"}, args...)...)
		n.user.Apply(cmd)
		cmd.WaitDelay = time.Second
		if out, err := cmd.CombinedOutput(); err != nil {
			n.logf("notify script '%s' failed: %v %s", args[0], err, out)
		}
		cancel()
	}
}

// queue schedules the specific script (run with only the arguments written
// in the config) and then the generic 'notify' script with keepalived's
// four arguments: INSTANCE|GROUP, name, state, priority.
func (n *notifier) queue(specific, generic, kind, name, state string, prio int) {
	if specific != "" && !n.refuse[specific] {
		n.jobs <- []string{specific}
	}
	if generic != "" && !n.refuse[generic] {
		// "$@" passes the four arguments after the configured command line.
		n.jobs <- []string{generic + ` "$@"`, "notify", kind, name, state, strconv.Itoa(prio)}
	}
}

// close waits up to limit for queued scripts to finish.
func (n *notifier) close(limit time.Duration) {
	close(n.jobs)
	select {
	case <-n.done:
	case <-time.After(limit):
	}
}
