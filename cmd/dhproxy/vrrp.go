package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	alerts "dhproxy/internal/alert" // main.go's alert() prints [ALERT] lines
	"dhproxy/internal/cli"
	"dhproxy/internal/config"
	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/master"
	"dhproxy/internal/model"
	"dhproxy/internal/vrrp"
)

// runVRRP is the "dhproxy vrrp" personality: keepalived's VRRP daemon for
// hosts that run no proxy.
func runVRRP(args []string, stdout, stderr io.Writer) int {
	opts, err := cli.ParseVRRP(args)
	if err != nil {
		if err.Error() != "help" {
			alert(stderr, "%v", err)
		}
		io.WriteString(stderr, cli.VRRPUsage)
		return 1
	}
	if opts.Version {
		printVersion(stdout, 1)
		return 0
	}
	id := configID(opts.ConfigID)
	var d config.Diags
	kcfg := keepalived.LoadWithID(opts.File, id, &d)
	d.Drop(config.Diagnostic)
	d.Write(stderr, os.Getpid())
	if d.HasErrors() {
		alert(stderr, "config : Fatal errors found in configuration file : %s", opts.File)
		return 1
	}
	if opts.Check {
		if kcfg.ConfigErrors > 0 {
			alert(stderr, "config : %d configuration error(s) in %s: keepalived runs with them but 'keepalived -t' fails, and so does this test", kcfg.ConfigErrors, opts.File)
			return 1
		}
		fmt.Fprintln(stdout, "Configuration file is valid")
		return 0
	}
	vr, err := startVRRP(kcfg, vrrp.Options{Log: stderr})
	if err != nil {
		alert(stderr, "%v", err)
		return 1
	}
	if err := master.WritePidfile(opts.Pidfile, os.Getpid()); err != nil {
		alert(stderr, "%v", err)
		vr.stop()
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	signal.Ignore(syscall.SIGPIPE)
	for s := range sig {
		if s != syscall.SIGHUP {
			break
		}
		if kcfg := loadForReload(opts.File, id, stderr, vr.rt.Logf); kcfg != nil {
			vr.reload(opts.File, kcfg)
		}
	}
	vr.stop()
	if opts.Pidfile != "" {
		os.Remove(opts.Pidfile)
	}
	return 0
}

// vrrpNode is the running VRRP side of the process, with its mail alerts.
type vrrpNode struct {
	rt    *vrrp.Runtime
	mails *alerts.Sender
	cfg   atomic.Pointer[keepalived.Config] // what runs; the alert hooks read it
	// prev is the configuration a reload replaced: the instances it stops
	// still report their STOP.
	prev atomic.Pointer[keepalived.Config]
}

// instance finds the named vrrp_instance in the running configuration, or
// in the one a reload is leaving.
func (n *vrrpNode) instance(name string) *keepalived.VRRPInstance {
	for _, c := range []*keepalived.Config{n.cfg.Load(), n.prev.Load()} {
		if c == nil {
			continue
		}
		for _, in := range c.Instances {
			if in.Name == name {
				return in
			}
		}
	}
	return nil
}

func (n *vrrpNode) group(name string) *keepalived.SyncGroup {
	for _, c := range []*keepalived.Config{n.cfg.Load(), n.prev.Load()} {
		if c == nil {
			continue
		}
		for _, g := range c.SyncGroups {
			if g.Name == name {
				return g
			}
		}
	}
	return nil
}

// startVRRP runs the keepalived.conf's VRRP instances, mailing state
// changes as keepalived's smtp_alert does.
func startVRRP(kcfg *keepalived.Config, opts vrrp.Options) (*vrrpNode, error) {
	n := &vrrpNode{}
	n.cfg.Store(kcfg)
	n.mails = alerts.NewSender(func(level, msg string) { n.rt.Logf("%s", msg) })
	mailer := alerts.NewKeepalived(&kcfg.Global, n.mails)
	opts.OnTransition = func(name string, from, to vrrp.State) {
		st, ok := alertState(to)
		if !ok {
			return
		}
		if in := n.instance(name); in != nil {
			mailer.VRRPInstance(in, st)
		}
	}
	opts.OnGroupTransition = func(name string, to vrrp.State) {
		st, ok := alertState(to)
		if !ok {
			return
		}
		if g := n.group(name); g != nil {
			mailer.VRRPGroup(g, st)
		}
	}
	var err error
	if n.rt, err = vrrp.New(kcfg, opts); err != nil {
		n.mails.Close(0)
		return nil, err
	}
	if err := n.rt.Start(); err != nil {
		n.mails.Close(0)
		return nil, err
	}
	return n, nil
}

// configID is the config id a keepalived.conf is read with: the one given
// (-i, --config-id), else keepalived's default. It is fixed at start, as
// keepalived's: reloads read the file with the same one.
func configID(given string) string {
	if given != "" {
		return given
	}
	return keepalived.DefaultConfigID()
}

// loadForReload reads path again on SIGHUP as keepalived does, with the
// config id the process started with; nil when the file fails, after
// logging why: the running configuration stays.
func loadForReload(path, id string, stderr io.Writer, logf func(string, ...any)) *keepalived.Config {
	logf("Reloading configuration file %s", path)
	var d config.Diags
	kcfg := keepalived.LoadWithID(path, id, &d)
	d.Drop(config.Diagnostic)
	d.Write(stderr, os.Getpid())
	if d.HasErrors() {
		logf("Reload of %s failed: errors in the file; the running configuration is kept", path)
		return nil
	}
	return kcfg
}

// reload switches the VRRP instances to kcfg; a configuration that cannot
// run here is refused with the reason and the running one goes on.
func (n *vrrpNode) reload(path string, kcfg *keepalived.Config) {
	prev := n.cfg.Swap(kcfg)
	n.prev.Store(prev)
	if _, err := n.rt.Reload(kcfg); err != nil {
		n.cfg.Store(prev)
		n.rt.Logf("Reload of %s failed: %v; the running configuration is kept", path, err)
	}
}

func alertState(s vrrp.State) (alerts.VRRPState, bool) {
	switch s {
	case vrrp.StateMaster:
		return alerts.Master, true
	case vrrp.StateBackup:
		return alerts.Backup, true
	case vrrp.StateFault:
		return alerts.Fault, true
	case vrrp.StateStop:
		return alerts.Stop, true
	}
	return 0, false
}

// stop leaves VRRP (priority 0, VIPs removed, notify_stop), then gives the
// last mails a few seconds to go out.
func (n *vrrpNode) stop() {
	n.rt.Stop()
	n.mails.Close(5 * time.Second)
}

// kcfgVIPs are the virtual addresses of kcfg's VRRP instances.
func kcfgVIPs(kcfg *keepalived.Config) map[netip.Addr]bool {
	vips := map[netip.Addr]bool{}
	for _, in := range kcfg.Instances {
		for _, v := range append(slices.Clone(in.VIPs), in.ExcludedVIPs...) {
			vips[v.Prefix.Addr().Unmap()] = true
		}
	}
	return vips
}

// freebindVIPBinds lets binds on a VRRP virtual address succeed on a node
// that does not hold the address (yet): the proxy starts on the backup too,
// with no need for net.ipv4.ip_nonlocal_bind.
func freebindVIPBinds(cfg *model.Config, vips map[netip.Addr]bool, stderr io.Writer) {
	for _, p := range cfg.Proxies {
		for _, b := range p.Binds {
			if b.Network != "tcp" && b.Network != "tcp4" && b.Network != "tcp6" {
				continue
			}
			host, _, err := net.SplitHostPort(b.Addr)
			if err != nil {
				continue
			}
			if a, err := netip.ParseAddr(host); err == nil && vips[a.Unmap()] {
				if b.Options == nil {
					b.Options = map[string]string{}
				}
				b.Options["freebind"] = ""
				fmt.Fprintf(stderr, "[NOTICE]   (%d) : [%s] bind %s is a VRRP virtual address: bound with IP_FREEBIND so it works before this node holds it.\n", os.Getpid(), b.Pos, b.Addr)
			}
		}
	}
}
