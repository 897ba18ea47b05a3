package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"

	"dhproxy/internal/cli"
	"dhproxy/internal/config"
	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/listener"
	"dhproxy/internal/logging"
	"dhproxy/internal/master"
	"dhproxy/internal/model"
	"dhproxy/internal/vrrp"
)

// runMaster runs master-worker mode (-W, -Ws, "master-worker"): this
// process holds the listening sockets and runs the proxy in a worker,
// which a reload (SIGUSR2, SIGHUP, "reload" on the -S socket) replaces
// once the configuration checks and the new worker serves.
func runMaster(opts *cli.Options, cfg *model.Config, kcfg *keepalived.Config, stderr io.Writer) int {
	if kcfg != nil && len(opts.Files) == 0 {
		alert(stderr, "master-worker mode runs a proxy: give its configuration with -f (-K alone runs like keepalived, without -W)")
		return 1
	}
	daemon := (cfg.Global.Daemon || opts.Daemon) && !opts.Foreground
	if daemon && !master.IsDaemonChild() {
		if _, err := master.Daemonize(); err != nil {
			alert(stderr, "%v", err)
			return 1
		}
		return 0
	}
	pidfile := opts.Pidfile
	if pidfile == "" {
		pidfile = cfg.Global.Pidfile
	}
	if opts.SocketsFrom != "" {
		// -x: the master opens the first worker's binds on the listening
		// sockets of the process it replaces (a standalone one, with -sf).
		if _, err := listener.FetchSockets(opts.SocketsFrom); err != nil {
			alert(stderr, "%v", err)
			alert(stderr, "Failed to get the sockets from the old process!")
			return 1
		}
	}
	var ka *masterKeepalived
	if kcfg != nil {
		ka = &masterKeepalived{path: opts.Keepalived, id: configID(opts.ConfigID), cfg: kcfg, log: stderr}
		freebindVIPBinds(cfg, kcfgVIPs(kcfg), stderr)
	}
	load := func() (*model.Config, string) {
		var d config.Diags
		next := model.Build(config.Load(opts.Files, nil, &d), &d)
		resolvePeers(opts, next, &d)
		if !opts.DiagMode {
			d.Drop(config.Diagnostic)
		}
		var b strings.Builder
		if !opts.Quiet || d.HasErrors() {
			d.Write(&b, os.Getpid())
		}
		if d.HasErrors() {
			for _, f := range d.FilesWithErrors() {
				alert(&b, "config : Error(s) found in configuration file : %s", f)
			}
			alert(&b, "config : Fatal errors found in configuration.")
			return nil, b.String()
		}
		if zeroWarningAbort(opts, next, &d, &b) {
			return nil, b.String()
		}
		if ka != nil {
			freebindVIPBinds(next, ka.vips(), &b)
		}
		return next, b.String()
	}
	var m *master.Master
	mopts := master.Options{
		Args:        os.Args[1:],
		Version:     Version,
		Load:        load,
		Systemd:     opts.Systemd,
		Socket:      opts.MasterSocket,
		Pidfile:     pidfile,
		Log:         stderr,
		DaemonChild: master.IsDaemonChild(),
		Started: func() error {
			listener.DropUnused() // sockets from -x that no bind took
			signalOld(opts.SoftStop, syscall.SIGUSR1, stderr)
			signalOld(opts.HardStop, syscall.SIGTERM, stderr)
			// HAProxy's variables for master-worker mode. As in haproxy
			// 2.6, the first configuration does not see them (it was read
			// before), the reloads' do.
			os.Setenv("HAPROXY_MWORKER", "1")
			if opts.MasterSocket != "" {
				os.Setenv("HAPROXY_MASTER_CLI", "unix@"+strings.TrimPrefix(strings.SplitN(opts.MasterSocket, ",", 2)[0], "unix@"))
			}
			if ka != nil {
				// The VIPs come once a worker serves behind them.
				return ka.start(&cfg.Global, m.Healthy)
			}
			return nil
		},
	}
	if ka != nil {
		mopts.Health = true
		mopts.WorkerEnv = ka.workerEnv
		mopts.Reloading = ka.reload
		mopts.Stopping = ka.stop
	}
	m = master.New(mopts)
	code := m.Run(cfg)
	if ka != nil {
		ka.stop() // the last worker died (exit-on-failure), or the start failed
	}
	return code
}

// vipsEnv gives a worker the VRRP addresses its binds take with
// IP_FREEBIND, as the master opened them: a bind inherited from the master
// is found by the same key.
const vipsEnv = "DHPROXY_VRRP_VIPS"

// masterKeepalived runs -K's VRRP instances and virtual servers in the
// master of master-worker mode: they outlive the workers (a reload moves
// no VIP), the master keeps the privileges they need while the workers
// drop theirs, and each reload also reads keepalived.conf again in place.
type masterKeepalived struct {
	path     string
	id       string             // the config id it was read with
	cfg      *keepalived.Config // the configuration started with
	log      io.Writer
	lv       *lvsRun
	vr       *vrrpNode
	syslog   *logging.Logger // the global section's log targets, for VRRP lines
	stopOnce sync.Once
}

// start runs the virtual servers, then the VRRP instances; "killall -0
// haproxy" style track scripts ask the master whether its worker serves.
func (k *masterKeepalived) start(g *model.Global, healthy func() bool) error {
	if len(g.Logs) > 0 {
		l, err := logging.New(g.Logs, g.Logs, g.LogTag, globalLogHostname(g))
		if err != nil {
			return err
		}
		k.syslog = l
	}
	console := lvsLog(k.log)
	logLVS := func(l string) {
		console(l)
		k.logGlobal(l)
	}
	var err error
	if k.lv, err = startLVS(k.cfg, logLVS); err != nil {
		k.lv = nil
		return fmt.Errorf("-K %s: %v", k.path, err)
	}
	if k.cfg.RunsVRRP() {
		opts := vrrp.Options{Log: k.log, ProxyHealth: healthy, Syslog: k.logGlobal}
		if k.vr, err = startVRRP(k.cfg, opts); err != nil {
			k.vr = nil
			return fmt.Errorf("-K %s: %v", k.path, err)
		}
	}
	return nil
}

func (k *masterKeepalived) logGlobal(line string) {
	if k.syslog != nil {
		k.syslog.Send(logging.LevelNotice, []byte(line))
	}
}

// reload applies keepalived.conf again as SIGHUP does without -W.
func (k *masterKeepalived) reload() {
	if k.lv != nil {
		reloadKeepalived(k.path, k.id, k.lv, k.vr, k.log)
	}
}

// vips are the running VRRP instances' addresses.
func (k *masterKeepalived) vips() map[netip.Addr]bool {
	if k.vr != nil {
		return kcfgVIPs(k.vr.cfg.Load())
	}
	return kcfgVIPs(k.cfg)
}

func (k *masterKeepalived) workerEnv() []string {
	var list []string
	for a := range k.vips() {
		list = append(list, a.String())
	}
	return []string{vipsEnv + "=" + strings.Join(list, ",")}
}

// stop leaves VRRP first (priority 0, VIPs removed), then stops the
// virtual servers; later calls do nothing.
func (k *masterKeepalived) stop() {
	k.stopOnce.Do(func() {
		if k.vr != nil {
			k.vr.stop()
		}
		if k.lv != nil {
			k.lv.stop()
		}
		if k.syslog != nil {
			k.syslog.Close()
		}
	})
}

// workerVIPs reads vipsEnv in a worker of a master that runs -K.
func workerVIPs() map[netip.Addr]bool {
	vips := map[netip.Addr]bool{}
	for _, s := range strings.Split(os.Getenv(vipsEnv), ",") {
		if a, err := netip.ParseAddr(s); err == nil {
			vips[a] = true
		}
	}
	return vips
}

// globalLogHostname is the "log-send-hostname" value of the global
// section (empty: none).
func globalLogHostname(g *model.Global) string {
	if g.LogHostname == "\x00" {
		h, _ := os.Hostname()
		return h
	}
	return g.LogHostname
}
