package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"dhproxy/internal/cli"
	"dhproxy/internal/config"
	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/master"
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
	var d config.Diags
	kcfg := keepalived.Load(opts.File, &d)
	d.Drop(config.Diagnostic)
	d.Write(stderr, os.Getpid())
	if d.HasErrors() {
		alert(stderr, "config : Fatal errors found in configuration file : %s", opts.File)
		return 1
	}
	if opts.Check {
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
		vr.Stop()
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	<-sig
	vr.Stop()
	if opts.Pidfile != "" {
		os.Remove(opts.Pidfile)
	}
	return 0
}

// startVRRP runs the keepalived.conf's VRRP instances.
func startVRRP(kcfg *keepalived.Config, opts vrrp.Options) (*vrrp.Runtime, error) {
	vr, err := vrrp.New(kcfg, opts)
	if err != nil {
		return nil, err
	}
	if err := vr.Start(); err != nil {
		return nil, err
	}
	return vr, nil
}
