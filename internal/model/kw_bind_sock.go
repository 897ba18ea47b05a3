package model

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"dhproxy/internal/config"
	"dhproxy/internal/netns"
)

// The socket options of a bind line (haproxy 2.6, section 5.1), set by
// internal/listener on the listening socket:
//
//	defer-accept       TCP_DEFER_ACCEPT (1 s): accept once data arrives
//	tfo                TCP_FASTOPEN, the bind's backlog as queue length
//	transparent        IP_TRANSPARENT / IPV6_TRANSPARENT (any local address)
//	interface <name>   SO_BINDTODEVICE
//	namespace <name>   the socket is made in network namespace <name>
//	mss <n>            TCP_MAXSEG (a negative n only warns, see below)
//	tcp-ut <delay>     TCP_USER_TIMEOUT
//	user|uid, group|gid, mode <octal>   a unix socket's owner and permissions

// maxUserTimeout is the largest TCP_USER_TIMEOUT, in milliseconds.
const maxUserTimeout = (1<<31 - 1) * time.Millisecond

// bindSock reads the socket options of one bind line from opts.
func (b *builder) bindSock(l config.Line, opts map[string]string) BindSock {
	var s BindSock
	_, s.DeferAccept = opts["defer-accept"]
	_, s.FastOpen = opts["tfo"]
	_, s.Transparent = opts["transparent"]
	s.Interface = opts["interface"]
	if ns, ok := opts["namespace"]; ok {
		s.Namespace = ns
		b.checkNamespace(l, ns)
	}
	if v, ok := opts["mss"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n == 0 || n < -65535 || n > 65535 {
			b.errorf(l, "bind option 'mss': expects an MSS with an absolute value between 1 and 65535, not '%s'.", v)
		}
		if n < 0 {
			// haproxy lowers each accepted connection's TCP_MAXSEG; Linux
			// takes the MSS of a connection from its listener's during the
			// handshake and ignores a later TCP_MAXSEG.
			b.warnf(l, "bind option 'mss %s' is accepted but has no effect: Linux ignores an MSS set on a connection already established (haproxy's negative MSS changes nothing there either); write the MSS to advertise, e.g. 'mss 1400'.", v)
			n = 0
		}
		s.MSS = n
	}
	if v, ok := opts["tcp-ut"]; ok {
		d, err := parseDuration(v)
		if err == nil && d > maxUserTimeout {
			err = fmt.Errorf("'%s' is more than 2147483647ms", v)
		}
		if err != nil {
			b.errorf(l, "bind option 'tcp-ut': %v.", err)
		}
		s.UserTimeout = d
	}
	if v, ok := opts["nice"]; ok {
		if n, err := strconv.Atoi(v); err != nil || n < -1024 || n > 1024 {
			b.errorf(l, "bind option 'nice': expects a value between -1024 and 1024, not '%s'.", v)
		} else {
			// haproxy's scheduler runs the tasks of a "nice" listener's
			// connections later or sooner than others'.
			b.warnf(l, "bind option 'nice' is accepted but has no effect in dhproxy: Go's scheduler has no priorities to give the connections of one bind line over others.")
		}
	}
	return s
}

// checkNamespace reports, as haproxy does while reading the file, a
// network namespace that cannot be opened.
func (b *builder) checkNamespace(l config.Line, ns string) {
	f, err := os.Open(netns.Dir + ns)
	if err != nil {
		b.errorf(l, "Cannot open namespace '%s'.", ns)
		return
	}
	f.Close()
}
