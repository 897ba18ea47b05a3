package main

import (
	"fmt"
	"io"
	"os"
	"syscall"

	"dhproxy/internal/model"
)

// warning prints a message in HAProxy's "[WARNING]  (pid) : ..." layout.
func warning(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "[WARNING]  (%d) : %s\n", os.Getpid(), fmt.Sprintf(format, args...))
}

// applyFDLimit sets the global maxconn when none is configured (from the
// FD limit, as haproxy 2.6 does) and the open files limit as haproxy does:
// "ulimit-n", else the descriptors the global maxconn needs (maxsock:
// connections, listeners, checks, pollers and "maxpipes"). Where the limit
// cannot be raised that far it refuses to start, or with "no strict-limits"
// takes what it can get and says so. It reports whether the proxy may start.
//
// dhproxy also splices mode tcp without "option splice-auto": the limit is
// raised for the default pipe pool too when the hard limit allows, else
// the pool shrinks to what fits (stream sizes it) rather than refusing a
// configuration haproxy would run.
func applyFDLimit(cfg *model.Config, stderr io.Writer) bool {
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur); err != nil {
		alert(stderr, "[%s.main()] Cannot read the FD limit: %v.", os.Args[0], err)
		return false
	}
	if h := uint64(cfg.Global.FDHardLimit); h > 0 && cur.Max > h {
		// "fd-hard-limit": what the system allows above it is not used
		// (Go raised the soft limit to the hard one at start)
		if cur.Cur > h {
			syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: h, Max: cur.Max})
		}
		cur.Max = h
		cur.Cur = min(cur.Cur, h)
	}
	if cfg.Global.Maxconn == 0 {
		// HAProxy then derives the limit it enforces from the FD limit.
		cfg.Global.Maxconn = cfg.IdealMaxconn(int(min(max(cur.Cur, cur.Max), 1<<30)))
		cfg.Global.MaxconnImplicit = true
	}
	maxsock := cfg.MaxSock(cfg.HAProxyPipes())
	want := cfg.Global.UlimitN
	if want == 0 && maxsock > 0 {
		withPipes := cfg.MaxSock(cfg.MaxPipes(int(min(cur.Cur, 1<<30))))
		if h := cfg.Global.FDHardLimit; h > 0 {
			withPipes = min(withPipes, max(h, maxsock)) // the pipe pool shrinks to fit
		}
		if setFDLimit(withPipes, cur.Max) == nil {
			return true
		}
		want = maxsock
	}
	strict := !cfg.Global.NoStrictLimits
	if want > 0 {
		if err := setFDLimit(want, cur.Max); err != nil {
			var lim syscall.Rlimit
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
			if strict {
				alert(stderr, "[%s.main()] Cannot raise FD limit to %d, limit is %d.", os.Args[0], want, lim.Cur)
				return false
			}
			lim.Cur = lim.Max
			if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
				syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
			}
			warning(stderr, "[%s.main()] Cannot raise FD limit to %d, limit is %d.", os.Args[0], want, lim.Cur)
		}
	}
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur)
	if cur.Cur < uint64(maxsock) {
		alert(stderr, "[%s.main()] FD limit (%d) too low for maxconn=%d/maxsock=%d. Please raise 'ulimit-n' to %d or more to avoid any trouble.",
			os.Args[0], cur.Cur, cfg.Global.Maxconn, maxsock, maxsock)
		return !strict
	}
	return true
}

// setFDLimit raises the soft limit to n; like HAProxy it never lowers it.
// Go raised the soft limit to the hard one at start, so this only changes
// anything when n is above the hard limit, which it then raises too.
func setFDLimit(n int, hard uint64) error {
	var cur syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur) == nil && cur.Cur >= uint64(n) {
		return nil
	}
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: uint64(n), Max: max(hard, uint64(n))})
}
