package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	alerts "dhproxy/internal/alert"
	"dhproxy/internal/config"
	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/lvs"
)

// startLVS runs the virtual_server blocks of cfg: checkers, datapath
// (DHPROXY_LVS_DATAPATH: auto, nftables or userspace), the control socket
// (DHPROXY_LVS_SOCKET) and keepalived's real server and quorum e-mails.
// stop removes everything it set up.
func startLVS(cfg *keepalived.Config, logf func(string)) (stop func(), err error) {
	return startLVSWith(cfg, os.Getenv("DHPROXY_LVS_DATAPATH"), lvs.SocketPath(), lvs.Options{Logf: logf})
}

// lvsAlerts adds keepalived's alert e-mails to opts: a real server entering
// or leaving its pool, a virtual server gaining or losing quorum. Real
// servers alert whenever global_defs names recipients and a server, as in
// keepalived. The returned function lets the last mails go out.
func lvsAlerts(cfg *keepalived.Config, opts *lvs.Options) (flush func()) {
	if cfg.Global.SMTPServer == "" || len(cfg.Global.NotificationEmail) == 0 {
		return func() {}
	}
	logf := opts.Logf
	mails := alerts.NewSender(func(level, msg string) {
		if logf != nil {
			logf(msg)
		}
	})
	k := alerts.NewKeepalived(&cfg.Global, mails)
	type server struct {
		vs *keepalived.VirtualServer
		rs *keepalived.RealServer
	}
	byName := map[[2]string]server{}
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			byName[[2]string{alerts.VirtualServerName(vs), alerts.RealServerName(vs, rs)}] = server{vs, rs}
		}
	}
	opts.OnRealServer = func(vs, rs string, up bool, body string) {
		if s, ok := byName[[2]string{vs, rs}]; ok {
			k.RealServer(s.vs, s.rs, up, body)
		}
	}
	opts.OnQuorum = k.Quorum
	return func() { mails.Close(5 * time.Second) }
}

// startLVSWith is startLVS with the datapath, socket and hooks (alert
// e-mails: opts.OnRealServer) given.
func startLVSWith(cfg *keepalived.Config, datapath, socket string, opts lvs.Options) (stop func(), err error) {
	if len(cfg.VirtualServers) == 0 {
		return func() {}, nil
	}
	svcs, err := lvs.Build(cfg)
	if err != nil {
		return nil, err
	}
	ctl, err := lvs.ListenControl(socket)
	if err != nil {
		return nil, err
	}
	dp, err := lvs.Open(svcs, datapath, opts.Logf)
	if err != nil {
		ctl.Close()
		return nil, err
	}
	flush := lvsAlerts(cfg, &opts)
	rt := lvs.New(svcs, dp, opts)
	if err := rt.Start(); err != nil {
		ctl.Close()
		dp.Close()
		flush()
		return nil, err
	}
	go lvs.ServeControl(ctl, rt)
	return func() {
		ctl.Close()
		rt.Stop()
		flush()
	}, nil
}

// reloadKeepalived applies SIGHUP to -K's keepalived.conf: the VRRP
// instances reload as keepalived's do. Virtual servers are not reloaded
// yet: a file that changes them says so, and the running ones stay as
// started (running is the configuration they were started from).
func reloadKeepalived(path string, running *keepalived.Config, vr *vrrpNode, stderr io.Writer) {
	logLVS := lvsLog(stderr)
	logf := func(format string, args ...any) { logLVS(fmt.Sprintf(format, args...)) }
	if vr != nil {
		logf = vr.rt.Logf
	}
	kcfg := loadForReload(path, stderr, logf)
	if kcfg == nil {
		return
	}
	if !keepalived.SameSettings(running.VirtualServers, kcfg.VirtualServers) || !keepalived.SameSettings(running.VSGroups, kcfg.VSGroups) {
		logf("Reload of %s: virtual_server changes are not applied by a reload yet; the running virtual servers stay as started (restart to apply them)", path)
	}
	switch {
	case vr != nil:
		vr.reload(path, kcfg)
	case len(kcfg.Instances) > 0:
		logf("Reload of %s: vrrp_instances added to a configuration started without any need a restart", path)
	}
}

// lvsLog writes the virtual servers' lines as keepalived's checker does on
// its console: a syslog-style date, the program and its pid.
func lvsLog(w io.Writer) func(string) {
	return func(s string) {
		fmt.Fprintf(w, "%s dhproxy[%d]: %s\n", time.Now().Format("Jan _2 15:04:05"), os.Getpid(), s)
	}
}

const lvsUsage = `usage:
  dhproxy lvs run [-S socket] [-datapath auto|nftables|userspace|ipvs] keepalived.conf
      run the virtual_server blocks of keepalived.conf in the foreground
  dhproxy lvs list [-S socket] [--stats [--exact]]
      print the running virtual servers like 'ipvsadm -Ln' (--stats: like
      'ipvsadm -Ln --stats', connections, packets and bytes per destination)
The socket defaults to $DHPROXY_LVS_SOCKET or ` + lvs.DefaultSocket + `.
`

// runLVS is the `dhproxy lvs ...` subcommand.
func runLVS(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		io.WriteString(stderr, lvsUsage)
		return 1
	}
	fs := flag.NewFlagSet("lvs "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("S", lvs.SocketPath(), "control socket path")
	datapath := fs.String("datapath", os.Getenv("DHPROXY_LVS_DATAPATH"), "auto, nftables, userspace or ipvs")
	fs.Bool("n", true, "numeric output (always on; accepted for ipvsadm habits)")
	withStats := fs.Bool("stats", false, "list: print traffic counters like 'ipvsadm -Ln --stats'")
	exact := fs.Bool("exact", false, "list --stats: print whole numbers, not K/M/G/T")
	if err := fs.Parse(args[1:]); err != nil {
		io.WriteString(stderr, lvsUsage)
		return 1
	}
	switch args[0] {
	case "list":
		cmd := "list"
		if *withStats {
			cmd += " --stats"
			if *exact {
				cmd += " --exact"
			}
		}
		if err := lvs.Query(*socket, cmd, stdout); err != nil {
			fmt.Fprintf(stderr, "dhproxy lvs list: %v\n", err)
			return 1
		}
		return 0
	case "run":
		if fs.NArg() != 1 {
			io.WriteString(stderr, lvsUsage)
			return 1
		}
		var d config.Diags
		cfg := keepalived.Load(fs.Arg(0), &d)
		d.Write(stderr, os.Getpid())
		if cfg == nil {
			return 1
		}
		logf := lvsLog(stderr)
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		stop, err := startLVSWith(cfg, *datapath, *socket, lvs.Options{Logf: logf})
		if err != nil {
			fmt.Fprintf(stderr, "dhproxy lvs run: %v\n", err)
			return 1
		}
		logf("virtual servers running; control socket " + *socket)
		s := <-sigs
		logf("Stopping on " + strings.ToUpper(s.String()))
		stop()
		return 0
	}
	io.WriteString(stderr, lvsUsage)
	return 1
}
