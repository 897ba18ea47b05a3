package vrrp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"dhproxy/internal/config/keepalived"
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
	user  scriptUser
	off   bool // refused by enable_script_security: not tracked at all
	ok    bool
	run   int // consecutive results against the current state
}

// run executes the script once: exit status 0 within the timeout is success.
func runScript(ctx context.Context, s *keepalived.VRRPScript, su scriptUser) bool {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = s.Interval
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", s.Script)
	su.apply(cmd)
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

// scriptUser is the account a script runs as, resolved as keepalived does:
// the script's own "user [group]", else global_defs' script_user, else the
// keepalived_script account if it exists, else dhproxy's own.
type scriptUser struct {
	cred *syscall.Credential // nil = our own
	root bool                // the script runs with root rights
}

func lookupScriptUser(name, group string) (scriptUser, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return scriptUser{}, fmt.Errorf("script user '%s' does not exist", name)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return scriptUser{}, fmt.Errorf("script group '%s' does not exist", group)
		}
		gid, _ = strconv.ParseUint(g.Gid, 10, 32)
	}
	return scriptUser{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, root: uid == 0}, nil
}

func defaultScriptUser(g keepalived.GlobalDefs) (scriptUser, error) {
	if g.ScriptUser != "" {
		return lookupScriptUser(g.ScriptUser, g.ScriptGroup)
	}
	if su, err := lookupScriptUser("keepalived_script", ""); err == nil {
		return su, nil
	}
	return scriptUser{root: os.Geteuid() == 0}, nil
}

func (su scriptUser) apply(cmd *exec.Cmd) {
	if su.cred != nil && (int(su.cred.Uid) != os.Geteuid() || int(su.cred.Gid) != os.Getegid()) {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: su.cred}
	}
}

// checkScriptSecure applies enable_script_security's rule to the program a
// script line starts with, when root runs it: neither the program nor any
// directory above it may be writable by anyone but root (a directory with
// the sticky bit, such as /tmp, is fine).
func checkScriptSecure(script string) error {
	f := strings.Fields(script)
	if len(f) == 0 {
		return fmt.Errorf("empty script")
	}
	prog := f[0]
	if !strings.Contains(prog, "/") {
		p, err := exec.LookPath(prog)
		if err != nil {
			return fmt.Errorf("cannot find script %s in path", prog)
		}
		prog = p
	}
	prog = filepath.Clean(prog)
	for p := prog; ; p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("could not find script '%s'", prog)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		mode := fi.Mode()
		checked := mode.IsRegular() || (mode.IsDir() && mode&os.ModeSticky == 0)
		if st.Uid != 0 || checked && ((st.Gid != 0 && mode&0o020 != 0) || mode&0o002 != 0) {
			return fmt.Errorf("unsafe permissions found for script '%s' (%s is %v, owner %d:%d)", prog, p, mode, st.Uid, st.Gid)
		}
		if p == "/" || p == "." {
			return nil
		}
	}
}
