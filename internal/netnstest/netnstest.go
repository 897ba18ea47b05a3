// Package netnstest gives tests a network namespace of their own.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Own creates a network namespace of the test's own, named prefix
// and the pid, with lo up, deleted at cleanup; ip runs `ip` commands that
// must succeed.
func Own(t *testing.T, prefix string) (ns string, ip func(args ...string)) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	ns = fmt.Sprintf("%s%d", prefix, os.Getpid())
	ip = func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("-n", ns, "link", "set", "lo", "up")
	return ns, ip
}
