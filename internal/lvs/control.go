package lvs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// DefaultSocket is where a running dhproxy answers `dhproxy lvs list`;
// DHPROXY_LVS_SOCKET or -S choose another path.
const DefaultSocket = "/run/dhproxy-lvs.sock"

// SocketPath returns the control socket path from the environment or the
// default.
func SocketPath() string {
	if p := os.Getenv("DHPROXY_LVS_SOCKET"); p != "" {
		return p
	}
	return DefaultSocket
}

// ListenControl claims the control socket. It is taken before the
// datapath: a live socket means another dhproxy runs virtual servers here,
// and its nftables tables must not be replaced.
func ListenControl(path string) (net.Listener, error) {
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s is in use by another running dhproxy; stop it, or choose another path with -S or DHPROXY_LVS_SOCKET", path)
	}
	os.Remove(path) // a stale socket of a process that died
	return net.Listen("unix", path)
}

// ServeControl answers one command per connection on l: "list" prints
// the table as `ipvsadm -Ln` does, "list --stats" as `ipvsadm -Ln
// --stats`, "stats" the JSON snapshot. It returns when l is closed.
func ServeControl(l net.Listener, rt *Runtime) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go serveOne(c, rt)
	}
}

func serveOne(c net.Conn, rt *Runtime) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil && line == "" {
		return
	}
	switch cmd := strings.TrimSpace(line); cmd {
	case "list":
		ds := rt.Desired()
		WriteList(c, rt.Dataplane().Name(), ds, rt.destStats(ds))
	case "list --stats", "list --stats --exact":
		ds := rt.Desired()
		WriteListStats(c, rt.Dataplane().Name(), ds, rt.destStats(ds), strings.HasSuffix(cmd, "--exact"))
	case "stats":
		WriteStats(c, rt)
	default:
		fmt.Fprintf(c, "unknown command %q; known: list, list --stats [--exact], stats\n", strings.TrimSpace(line))
	}
}

// Query sends one command to a running process and copies the answer.
func Query(path, cmd string, w io.Writer) error {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return fmt.Errorf("no running dhproxy virtual servers at %s (%v); start one, or point -S at its socket", path, errors.Unwrap(err))
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintln(c, cmd); err != nil {
		return err
	}
	_, err = io.Copy(w, c)
	return err
}

// Open selects the datapath: "nftables", "userspace", "ipvs" (opt-in), or
// "" / "auto" for nftables with a fallback to userspace when it cannot be
// used. On nftables, services with lb_kind TUN run on the TUN datapath
// (IP-in-IP from userspace) beside the others; the userspace proxy and
// IPVS take every service themselves.
func Open(svcs []*Service, mode string, logf func(string)) (Dataplane, error) {
	switch mode {
	case "userspace":
		logf("virtual servers: userspace datapath selected")
		return NewUserspace(svcs, logf)
	case "ipvs":
		return NewIPVS(svcs, logf)
	case "nftables", "", "auto":
	default:
		return nil, fmt.Errorf("unknown datapath %q; use nftables, userspace, ipvs or auto", mode)
	}
	var tun, rest []*Service
	for _, s := range svcs {
		if s.Method == "TUN" {
			tun = append(tun, s)
		} else {
			rest = append(rest, s)
		}
	}
	if len(tun) == 0 {
		return openKernel(svcs, mode, logf)
	}
	t, err := openTUN(tun, mode, logf)
	if err != nil || len(rest) == 0 {
		return t, err
	}
	r, err := openKernel(rest, mode, logf)
	if err != nil {
		t.Close()
		return nil, err
	}
	m := newMulti()
	m.add(r, rest)
	m.add(t, tun)
	return m, nil
}

// openTUN starts the TUN datapath; in auto mode, when it cannot run, the
// TUN services fall back to the userspace proxy.
func openTUN(svcs []*Service, mode string, logf func(string)) (Dataplane, error) {
	t, err := NewTUN(svcs, logf)
	if err == nil {
		logf("virtual servers: lb_kind TUN datapath (IP-in-IP sent from userspace; table ip " + TunTableName + ")")
		return t, nil
	}
	if mode == "nftables" {
		return nil, fmt.Errorf("lb_kind TUN datapath: %v", err)
	}
	logf(fmt.Sprintf("virtual servers: lb_kind TUN datapath not usable (%v); using the userspace datapath for its services", err))
	return NewUserspace(svcs, logf)
}

// openKernel opens nftables, falling back to userspace in auto mode.
func openKernel(svcs []*Service, mode string, logf func(string)) (Dataplane, error) {
	if mode == "nftables" {
		return NewNFT(svcs, logf)
	}
	n, err := NewNFT(svcs, logf)
	if err == nil {
		logf("virtual servers: nftables datapath (table " + TableName + ")")
		return n, nil
	}
	logf(fmt.Sprintf("virtual servers: nftables datapath not usable (%v); using the userspace datapath", err))
	return NewUserspace(svcs, logf)
}
