package main

import (
	"io"
	"os"
	"strings"
	"syscall"

	"dhproxy/internal/cli"
	"dhproxy/internal/config"
	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/master"
	"dhproxy/internal/model"
)

// runMaster runs master-worker mode (-W, -Ws, "master-worker"): this
// process holds the listening sockets and runs the proxy in a worker,
// which a reload (SIGUSR2, SIGHUP, "reload" on the -S socket) replaces
// once the configuration checks and the new worker serves.
func runMaster(opts *cli.Options, cfg *model.Config, kcfg *keepalived.Config, stderr io.Writer) int {
	if kcfg != nil {
		alert(stderr, "-K cannot run in master-worker mode yet (a reload would run two VRRP instances); run it with -db under your service manager")
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
		return next, b.String()
	}
	return master.Run(master.Options{
		Args:        os.Args[1:],
		Version:     Version,
		Load:        load,
		Systemd:     opts.Systemd,
		Socket:      opts.MasterSocket,
		Pidfile:     pidfile,
		Log:         stderr,
		DaemonChild: master.IsDaemonChild(),
		Started: func() {
			signalOld(opts.SoftStop, syscall.SIGUSR1, stderr)
			signalOld(opts.HardStop, syscall.SIGTERM, stderr)
			// HAProxy's variables for master-worker mode. As in haproxy
			// 2.6, the first configuration does not see them (it was read
			// before), the reloads' do.
			os.Setenv("HAPROXY_MWORKER", "1")
			if opts.MasterSocket != "" {
				os.Setenv("HAPROXY_MASTER_CLI", "unix@"+strings.TrimPrefix(strings.SplitN(opts.MasterSocket, ",", 2)[0], "unix@"))
			}
		},
	}, cfg)
}
