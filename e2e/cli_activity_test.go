package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	activityAccepted = regexp.MustCompile(`(?m)^accepted: (\d+)`)
	poolLine         = regexp.MustCompile(`^  - Pool \S+ \((\d+) bytes\) : (\d+) allocated \((\d+) bytes\), (\d+) used`)
	poolTotal        = regexp.MustCompile(`(?m)^Total: (\d+) pools, (\d+) bytes allocated, (\d+) used`)
)

// TestRuntimeActivityPoolsHelp: "show activity" and "show pools" have
// haproxy 2.6's shape (their first lines, "accepted" counting the
// connections alike, pool lines and total that parse the same way), and
// "help" lists exactly the commands that exist: each one answers something
// else than "Unknown command", and each line is haproxy's own line unless
// the command is dhproxy's.
func TestRuntimeActivityPoolsHelp(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	helps := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		fePort, statsPort := freePort(t), freePort(t)
		startBinary(t, path, runtimeConfig(sock, fePort, statsPort), statsPort)
		accepted := func() int {
			m := activityAccepted.FindStringSubmatch(cliCmd(t, sock, "show activity"))
			if m == nil {
				t.Fatalf("%s: show activity has no accepted line", path)
			}
			n, _ := strconv.Atoi(m[1])
			return n
		}
		act := cliCmd(t, sock, "show activity")
		if !regexp.MustCompile(`^thread_id: \d+ \(1\.\.\d+\)\ndate_now: \d+\.\d{6}\n`).MatchString(act) {
			t.Errorf("%s: show activity starts: %.80q", path, act)
		}
		before := accepted()
		for range 3 {
			curl(t, "-s", fmt.Sprintf("http://127.0.0.1:%d/", fePort))
		}
		if d := accepted() - before; d != 4 {
			t.Errorf("%s: accepted grew by %d for 3 connections and the runtime API's one", path, d)
		}
		pools := cliCmd(t, sock, "show pools")
		lines := strings.Split(pools, "\n")
		if lines[0] != "Dumping pools usage. Use SIGQUIT to flush them." {
			t.Errorf("%s: show pools starts %q", path, lines[0])
		}
		n, sum := 0, 0
		for _, l := range lines[1:] {
			if m := poolLine.FindStringSubmatch(l); m != nil {
				n++
				b, _ := strconv.Atoi(m[3])
				sum += b
			}
		}
		m := poolTotal.FindStringSubmatch(pools)
		if m == nil || n == 0 || m[1] != strconv.Itoa(n) || m[2] != strconv.Itoa(sum) {
			t.Errorf("%s: %d pool lines of %d bytes, total line %q", path, n, sum, m)
		}
		helps[path] = cliCmd(t, sock, "help")
	}
	if isHAProxy() {
		return // what follows holds dhproxy's help to haproxy's
	}
	// Every command dhproxy lists exists...
	sock := filepath.Join(t.TempDir(), "api.sock")
	statsPort := freePort(t)
	startBinary(t, bin, runtimeConfig(sock, freePort(t), statsPort), statsPort)
	haproxyLines := map[string]bool{}
	for _, l := range strings.Split(helps[haproxyBin], "\n") {
		haproxyLines[l] = true
	}
	ownCommands := map[string]bool{"reopen logs": true, "show lvs": true}
	// haproxy's map and ACL lines mention versions (@<ver>) and payloads,
	// which dhproxy does not offer: its lines leave them out.
	for _, c := range []string{"show map", "show acl", "add map", "add acl", "set map", "del map", "del acl", "clear map", "clear acl"} {
		ownCommands[c] = true
	}
	for _, l := range strings.Split(helps[bin], "\n")[1:] {
		usage, _, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok {
			continue
		}
		var words []string
		for _, w := range strings.Fields(usage) {
			if strings.ContainsAny(w, "<[(") {
				break
			}
			words = append(words, w)
		}
		cmd := strings.Join(words, " ")
		if cmd == "quit" || cmd == "prompt" {
			continue
		}
		if out := cliCmd(t, sock, cmd); strings.HasPrefix(out, "Unknown command") {
			t.Errorf("help lists %q, which is unknown", cmd)
		}
		// ...and is haproxy's, in haproxy's words, unless it is dhproxy's own.
		if !haproxyLines[l] && !ownCommands[cmd] {
			t.Errorf("help line %q is not haproxy 2.6's", l)
		}
	}
}
