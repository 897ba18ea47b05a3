// Package scriptuser decides, as keepalived does, which account runs the
// scripts a keepalived.conf names (vrrp_script, notify*, MISC_CHECK,
// notify_up/down) and applies enable_script_security's permission rule.
package scriptuser

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"dhproxy/internal/config/keepalived"
)

// Account is who a script runs as: the script's own "user [group]", else
// global_defs' script_user, else the keepalived_script account if it
// exists, else dhproxy's own.
type Account struct {
	Cred *syscall.Credential // nil = our own
	Root bool                // the script runs with root rights
}

// Lookup resolves a user and optional group name.
func Lookup(name, group string) (Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return Account{}, fmt.Errorf("script user '%s' does not exist", name)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return Account{}, fmt.Errorf("script group '%s' does not exist", group)
		}
		gid, _ = strconv.ParseUint(g.Gid, 10, 32)
	}
	return Account{Cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, Root: uid == 0}, nil
}

// Default is the account of scripts that name none.
func Default(g keepalived.GlobalDefs) (Account, error) {
	if g.ScriptUser != "" {
		return Lookup(g.ScriptUser, g.ScriptGroup)
	}
	if a, err := Lookup("keepalived_script", ""); err == nil {
		return a, nil
	}
	return Account{Root: os.Geteuid() == 0}, nil
}

// Apply makes cmd run as the account.
func (a Account) Apply(cmd *exec.Cmd) {
	if a.Cred == nil || (int(a.Cred.Uid) == os.Geteuid() && int(a.Cred.Gid) == os.Getegid()) {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = a.Cred
}

// CheckSecure applies enable_script_security's rule to the program a
// script line starts with, when root runs it: neither the program nor any
// directory above it may be writable by anyone but root (a directory with
// the sticky bit, such as /tmp, is fine).
func CheckSecure(script string) error {
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
