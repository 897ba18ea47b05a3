package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	alerts "dhproxy/internal/alert"
	"dhproxy/internal/config"
	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/lvs"
)

// lvsRun is the running virtual_server blocks of a keepalived.conf.
type lvsRun struct {
	datapath, socket string
	opts             lvs.Options // as given, before the alert hooks
	rt               *lvs.Runtime
	alerts           *lvsAlertBook
	stopAll          func()
}

// startLVS runs the virtual_server blocks of cfg: checkers, datapath
// (DHPROXY_LVS_DATAPATH: auto, nftables or userspace), the control socket
// (DHPROXY_LVS_SOCKET) and keepalived's real server and quorum e-mails.
// Its stop removes everything it set up.
func startLVS(cfg *keepalived.Config, logf func(string)) (*lvsRun, error) {
	return startLVSWith(cfg, os.Getenv("DHPROXY_LVS_DATAPATH"), lvs.SocketPath(), lvs.Options{Logf: logf})
}

// lvsAlertBook sends keepalived's alert e-mails: a real server entering
// or leaving its pool, a virtual server gaining or losing quorum. Real
// servers alert whenever global_defs names recipients and a server, as in
// keepalived.
type lvsAlertBook struct {
	k      *alerts.Keepalived
	mails  *alerts.Sender
	byName atomic.Pointer[map[[2]string]alertServer]
}

type alertServer struct {
	vs *keepalived.VirtualServer
	rs *keepalived.RealServer
}

// lvsAlerts adds the alert hooks to opts; nil when cfg sends no e-mail.
func lvsAlerts(cfg *keepalived.Config, opts *lvs.Options) *lvsAlertBook {
	if cfg.Global.SMTPServer == "" || len(cfg.Global.NotificationEmail) == 0 {
		return nil
	}
	logf := opts.Logf
	mails := alerts.NewSender(func(level, msg string) {
		if logf != nil {
			logf(msg)
		}
	})
	b := &lvsAlertBook{k: alerts.NewKeepalived(&cfg.Global, mails), mails: mails}
	b.learn(cfg)
	opts.OnRealServer = func(vs, rs string, up bool, body string) {
		if s, ok := (*b.byName.Load())[[2]string{vs, rs}]; ok {
			b.k.RealServer(s.vs, s.rs, up, body)
		}
	}
	opts.OnQuorum = b.k.Quorum
	return b
}

// learn indexes the real servers of cfg by their names in alerts; those
// a reload removes stay known, for their "=> Removing <=" alert.
func (b *lvsAlertBook) learn(cfg *keepalived.Config) {
	byName := map[[2]string]alertServer{}
	if old := b.byName.Load(); old != nil {
		maps.Copy(byName, *old)
	}
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			byName[[2]string{alerts.VirtualServerName(vs), alerts.RealServerName(vs, rs)}] = alertServer{vs, rs}
		}
	}
	b.byName.Store(&byName)
}

// startLVSWith is startLVS with the datapath, socket and hooks (alert
// e-mails: opts.OnRealServer) given.
func startLVSWith(cfg *keepalived.Config, datapath, socket string, opts lvs.Options) (*lvsRun, error) {
	run := &lvsRun{datapath: datapath, socket: socket, opts: opts, stopAll: func() {}}
	if len(cfg.VirtualServers) == 0 {
		return run, nil
	}
	return run, run.start(cfg)
}

func (r *lvsRun) start(cfg *keepalived.Config) error {
	svcs, err := lvs.Build(cfg)
	if err != nil {
		return err
	}
	ctl, err := lvs.ListenControl(r.socket)
	if err != nil {
		return err
	}
	opts := r.opts
	dp, err := lvs.Open(svcs, r.datapath, opts.Logf)
	if err != nil {
		ctl.Close()
		return err
	}
	book := lvsAlerts(cfg, &opts)
	flush := func() {
		if book != nil {
			book.mails.Close(5 * time.Second)
		}
	}
	rt := lvs.New(svcs, dp, opts)
	if err := rt.Start(); err != nil {
		ctl.Close()
		dp.Close()
		flush()
		return err
	}
	go lvs.ServeControl(ctl, rt)
	r.rt, r.alerts = rt, book
	r.stopAll = func() {
		ctl.Close()
		rt.Stop()
		flush()
	}
	return nil
}

func (r *lvsRun) stop() { r.stopAll() }

// reload applies the virtual_server blocks of cfg as keepalived's reload
// does (lvs.Runtime.Reload); virtual servers in a file that had none start
// now. A datapath that cannot take them keeps the running ones.
func (r *lvsRun) reload(path string, cfg *keepalived.Config, logf func(string, ...any)) {
	if r.rt == nil {
		if len(cfg.VirtualServers) == 0 {
			return
		}
		if err := r.start(cfg); err != nil {
			logf("Reload of %s: virtual servers not started: %v", path, err)
		}
		return
	}
	svcs, err := lvs.Build(cfg)
	if err != nil {
		logf("Reload of %s failed: %v; the running virtual servers are kept", path, err)
		return
	}
	if r.alerts != nil {
		r.alerts.learn(cfg)
	}
	if _, err := r.rt.Reload(svcs); err != nil {
		logf("Reload of %s: virtual servers not changed: %v", path, err)
	}
}

// reloadKeepalived applies SIGHUP to -K's keepalived.conf: the VRRP
// instances and the virtual servers reload as keepalived's do.
func reloadKeepalived(path, id string, lv *lvsRun, vr *vrrpNode, stderr io.Writer) {
	logLVS := lvsLog(stderr)
	logf := func(format string, args ...any) { logLVS(fmt.Sprintf(format, args...)) }
	if vr != nil {
		logf = vr.rt.Logf
	}
	kcfg := loadForReload(path, id, stderr, logf)
	if kcfg == nil {
		return
	}
	lv.reload(path, kcfg, logf)
	switch {
	case vr != nil:
		vr.reload(path, kcfg)
	case kcfg.RunsVRRP():
		logf("Reload of %s: vrrp_instances (or static addresses, routes, rules) added to a configuration started without any need a restart", path)
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
  dhproxy lvs run [-S socket] [-datapath auto|nftables|userspace|ipvs] [-i id] keepalived.conf
      run the virtual_server blocks of keepalived.conf in the foreground
      (-i/--config-id: keepalived's, selects '@id' lines; default: the short host name)
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
	var id string
	fs.StringVar(&id, "i", "", "run: keepalived's config id, selecting '@ID' lines (default: the short host name)")
	fs.StringVar(&id, "config-id", "", "run: same as -i")
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
		id = configID(id)
		var d config.Diags
		cfg := keepalived.LoadWithID(fs.Arg(0), id, &d)
		d.Write(stderr, os.Getpid())
		if cfg == nil {
			return 1
		}
		logf := lvsLog(stderr)
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		run, err := startLVSWith(cfg, *datapath, *socket, lvs.Options{Logf: logf})
		if err != nil {
			fmt.Fprintf(stderr, "dhproxy lvs run: %v\n", err)
			return 1
		}
		logf("virtual servers running; control socket " + *socket)
		s := <-sigs
		for ; s == syscall.SIGHUP; s = <-sigs {
			reloadKeepalived(fs.Arg(0), id, run, nil, stderr)
		}
		logf("Stopping on " + strings.ToUpper(s.String()))
		run.stop()
		return 0
	}
	io.WriteString(stderr, lvsUsage)
	return 1
}
