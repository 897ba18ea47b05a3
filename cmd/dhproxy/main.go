// Command dhproxy is a load balancer that runs HAProxy configurations.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"dhproxy/internal/acme"
	"dhproxy/internal/cli"
	"dhproxy/internal/config"
	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/listener"
	"dhproxy/internal/logforward"
	"dhproxy/internal/logging"
	"dhproxy/internal/master"
	"dhproxy/internal/model"
	"dhproxy/internal/runtimeapi"
	"dhproxy/internal/stream"
	"dhproxy/internal/vrrp"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// alert prints a message in HAProxy's "[ALERT] (pid) : ..." layout.
func alert(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "[ALERT]    (%d) : %s\n", os.Getpid(), fmt.Sprintf(format, args...))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "lvs" {
		return runLVS(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "vrrp" {
		return runVRRP(args[1:], stdout, stderr)
	}
	opts, err := cli.Parse(args)
	if err != nil {
		if err.Error() != "help" {
			alert(stderr, "%v", err)
		}
		io.WriteString(stderr, cli.Usage)
		return 1
	}
	if opts.Version > 0 {
		printVersion(stdout, opts.Version)
		return 0
	}
	if opts.Unsupported != "" {
		alert(stderr, "option %s is not supported by dhproxy yet: %s", strings.Fields(opts.Unsupported)[0], opts.Unsupported)
		return 1
	}
	setProcessEnv(opts)
	if master.IsWorker() {
		// The master runs -K's VRRP and virtual servers; its workers only
		// bind the VIPs as it did (workerVIPs).
		opts.Keepalived = ""
	}
	if opts.HasCond {
		return evalCond(opts.CondExpr, stderr)
	}
	// "-K keepalived.conf" alone runs what keepalived would: VRRP and
	// virtual servers, with no proxy.
	if len(opts.Files) == 0 && opts.Keepalived == "" {
		alert(stderr, "No configuration file specified; use -f <file>.")
		io.WriteString(stderr, cli.Usage)
		return 1
	}

	var d config.Diags
	sections := config.Load(opts.Files, nil, &d)
	cfg := model.Build(sections, &d)
	if cfg != nil && len(cfg.Programs) > 0 && !opts.MasterWorker && !cfg.Global.MasterWorker {
		// Only a master starts programs: haproxy refuses them, -c included.
		d.Errorf(cfg.Programs[0].Pos, "Can't use a 'program' section without master worker mode; start with -W or -Ws, or add 'master-worker' to the global section.")
	}
	resolvePeers(opts, cfg, &d)
	var kcfg *keepalived.Config
	if opts.Keepalived != "" {
		kcfg = keepalived.LoadWithID(opts.Keepalived, configID(opts.ConfigID), &d)
	}
	if !opts.DiagMode {
		d.Drop(config.Diagnostic) // HAProxy prints these only with -dD
	}
	// A worker's warnings were printed by its master already.
	if (!opts.Quiet && !master.IsWorker()) || d.HasErrors() {
		d.Write(stderr, os.Getpid())
	}
	if d.HasErrors() {
		for _, f := range d.FilesWithErrors() {
			alert(stderr, "config : Error(s) found in configuration file : %s", f)
		}
		alert(stderr, "config : Fatal errors found in configuration.")
		return 1
	}
	if zeroWarningAbort(opts, cfg, &d, stderr) {
		return 1
	}
	// Programs and the configurations of later reloads see the runtime
	// API's addresses and the version that started the process, as with
	// haproxy (a reload keeps the first one's version).
	if addrs := cfg.Global.CLIAddrs(); addrs != "" {
		os.Setenv("HAPROXY_CLI", addrs)
	}
	if os.Getenv("HAPROXY_STARTUP_VERSION") == "" {
		os.Setenv("HAPROXY_STARTUP_VERSION", Version)
	}
	// what reads the environment from now on (external checks, the
	// workers) sees the configuration's setenv lines, as in HAProxy
	for _, args := range cfg.Global.EnvLines {
		config.ApplyEnvLine(args)
	}
	if cfg.Global.NoGetaddrinfo {
		// Go's own resolver reads /etc/hosts and resolv.conf itself
		net.DefaultResolver.PreferGo = true
	}
	if kcfg != nil && !opts.Check && !kcfg.RunsVRRP() && len(kcfg.VirtualServers) == 0 {
		alert(stderr, "-K: %s has neither a vrrp_instance nor a virtual_server to run.", opts.Keepalived)
		return 1
	}
	if opts.Check && kcfg != nil && kcfg.ConfigErrors > 0 {
		alert(stderr, "config : %d configuration error(s) in %s: keepalived runs with them but 'keepalived -t' fails, and so does this test", kcfg.ConfigErrors, opts.Keepalived)
		return 1
	}
	if opts.Check {
		if !opts.Quiet {
			fmt.Fprintln(stdout, "Configuration file is valid")
		}
		return 0
	}
	if (opts.MasterWorker || cfg.Global.MasterWorker) && !master.IsWorker() {
		return runMaster(opts, cfg, kcfg, stderr)
	}
	if opts.MasterSocket != "" && !master.IsWorker() {
		fmt.Fprintf(stderr, "[WARNING]  (%d) : config : a master CLI socket was defined, but master-worker mode (-W) is not enabled.\n", os.Getpid())
	}
	if opts.Maxconn > 0 {
		cfg.Global.Maxconn = opts.Maxconn
	}
	pidfile := opts.Pidfile
	if pidfile == "" {
		pidfile = cfg.Global.Pidfile
	}
	if !applyFDLimit(cfg, stderr) {
		return 1
	}

	worker := master.IsWorker()
	daemon := (cfg.Global.Daemon || opts.Daemon) && !opts.Foreground && !worker
	child := master.IsDaemonChild() || worker
	if worker {
		// The master's sockets: a reload never closes a listener.
		files, err := master.WorkerListeners()
		if err != nil {
			alert(stderr, "%v", err)
			master.ReportReady(err)
			return 1
		}
		listener.Inherit(files)
		pidfile = "" // the master's pid is the service's
	}
	if daemon && !child {
		if _, err := master.Daemonize(); err != nil {
			alert(stderr, "%v", err)
			return 1
		}
		return 0
	}

	// SIGUSR1 (soft stop, letting sessions in flight finish) is taken from
	// now on: the listeners open before the process is ready, and Go
	// drops a signal nobody asked for, so an early soft stop (a -sf from
	// the next process, a test) would be lost.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGUSR1)
	signal.Ignore(syscall.SIGPIPE)
	if kcfg != nil {
		signal.Notify(sig, syscall.SIGHUP) // keepalived's reload, as keepalived.service sends it
	} else {
		signal.Ignore(syscall.SIGHUP) // until the runtime can dump its states
	}

	if kcfg != nil {
		freebindVIPBinds(cfg, kcfgVIPs(kcfg), stderr)
	} else if worker {
		freebindVIPBinds(cfg, workerVIPs(), io.Discard)
	}
	listener.SetReusePort(!cfg.Global.NoReusePort)
	if opts.SocketsFrom != "" && !worker {
		if _, err := listener.FetchSockets(opts.SocketsFrom); err != nil {
			alert(stderr, "%v", err)
			alert(stderr, "Failed to get the sockets from the old process!")
			return 1
		}
	}
	api, err := runtimeapi.Listen(cfg)
	if err != nil {
		alert(stderr, "%v", err)
		if child {
			master.ReportReady(err)
		}
		return 1
	}
	defer api.Close()
	priv, err := workerAPI(cfg)
	if err != nil {
		alert(stderr, "%v", err)
		master.ReportReady(err)
		return 1
	}
	if priv != nil {
		defer priv.Close()
	}
	applyThreads(&cfg.Global, stderr)
	// before the loggers, whose ring@ targets write to them
	rings := logging.StartRings(cfg)
	defer rings.Close()
	rt, err := stream.New(cfg)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			alert(stderr, "%s", line)
		}
		if child {
			master.ReportReady(err)
		}
		return 1
	}
	listener.DropUnused() // sockets from -x that no bind took
	pr, err := startPeers(cfg, rt, stderr)
	if err != nil {
		alert(stderr, "%v", err)
		rt.Close()
		if child {
			master.ReportReady(err)
		}
		return 1
	}
	defer pr.Close()
	fwd, err := logforward.Start(cfg)
	if err != nil {
		alert(stderr, "%v", err)
		rt.Close()
		if child {
			master.ReportReady(err)
		}
		return 1
	}
	api.ListenerFDs = rt.ListenerFDs
	// Certificates kept by acme sections: obtained now when missing (the
	// binds are open to answer the challenges), then renewed.
	acmeMgr := acme.Start(cfg, func(level, msg string) {
		fmt.Fprintf(stderr, "%-11s(%d) : %s\n", "["+level+"]", os.Getpid(), msg)
	})
	defer acmeMgr.Stop()
	serveStats(rt, acmeMgr, api, priv)
	if err := master.WritePidfile(pidfile, os.Getpid()); err != nil {
		alert(stderr, "%v", err)
		rt.Close()
		if child {
			master.ReportReady(err)
		}
		return 1
	}
	var vr *vrrpNode
	stopLVS := func() {}
	var lv *lvsRun
	if kcfg != nil {
		// Virtual servers first: once this node holds the VIP they answer.
		console := lvsLog(stderr)
		logLVS := func(l string) {
			console(l)
			rt.LogGlobal("notice", l)
		}
		if lv, err = startLVS(kcfg, logLVS); err == nil {
			stopLVS = lv.stop
		}
		if err == nil && kcfg.RunsVRRP() {
			// The in-process proxy answers "killall -0 haproxy" style track
			// scripts; state changes also go to the global log targets.
			opts := vrrp.Options{Log: stderr, ProxyHealth: rt.Healthy, Syslog: func(l string) { rt.LogGlobal("notice", l) }}
			if vr, err = startVRRP(kcfg, opts); err != nil {
				stopLVS()
			}
		}
		if err != nil {
			alert(stderr, "-K %s: %v", opts.Keepalived, err)
			rt.Close()
			if child {
				master.ReportReady(err)
			}
			return 1
		}
	}
	// SIGTERM/SIGINT: hard stop as HAProxy does (until here they end the
	// process at once, as they should while it starts).
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	pauseOnSignals(rt)
	if kcfg == nil {
		dumpStatesOnSIGHUP(rt, stderr)
	}
	if err := dropPrivileges(&cfg.Global, kcfg != nil, stderr); err != nil {
		alert(stderr, "%v", err)
		if vr != nil {
			vr.stop()
		}
		stopLVS()
		rt.Close()
		if child {
			master.ReportReady(err)
		}
		return 1
	}
	if child {
		master.ReportReady(nil)
	}
	if master.WantsHealth() {
		go reportHealth(rt)
	}
	if worker {
		master.WatchMaster(func() {
			alert(stderr, "the master process is gone: exiting")
			syscall.Kill(os.Getpid(), syscall.SIGTERM)
		})
	} else {
		// -sf/-st: the old processes go once this one serves beside them
		// (a worker's master did that when its first worker served).
		signalOld(opts.SoftStop, syscall.SIGUSR1, stderr)
		signalOld(opts.HardStop, syscall.SIGTERM, stderr)
	}
	s := <-sig
	for ; s == syscall.SIGHUP; s = <-sig {
		reloadKeepalived(opts.Keepalived, configID(opts.ConfigID), lv, vr, stderr)
	}
	if vr != nil {
		// The VIP leaves first (priority 0: the backup takes over at once),
		// then the virtual servers and the proxy stop.
		vr.stop()
	}
	stopLVS()
	// The syslog relays stop receiving at once, as haproxy's listeners
	// do on a stop; what they received is still sent.
	fwd.Close()
	if s == syscall.SIGUSR1 {
		// The runtime API stops too: its socket may be shared with the
		// next worker, which must be the one answering.
		api.Close()
		handed := handOver(pr, &cfg.Global)
		softStop(rt, &cfg.Global, sig, stderr)
		<-handed
	}
	rt.Close()
	rt.CloseLogs()
	return 0
}

// workerAPI opens a worker's private runtime API socket, which the master
// CLI's "@1 <command>" and "@!<pid> <command>" reach; unlike the shared
// stats sockets it stays open while the worker soft-stops. Nil outside a
// worker.
func workerAPI(cfg *model.Config) (*runtimeapi.Server, error) {
	path := master.WorkerSocket()
	if !master.IsWorker() || path == "" {
		return nil, nil
	}
	g := model.Global{StatsTimeout: cfg.Global.StatsTimeout, StatsSockets: []model.StatsSocket{{Network: "unix", Addr: path, Level: "admin"}}}
	return runtimeapi.Listen(&model.Config{Global: g})
}

// reportHealth tells the master, which runs -K's VRRP, whenever this
// worker's answer to "killall -0 haproxy" style track scripts changes.
func reportHealth(rt *stream.Runtime) {
	last := true // what the master assumes of a worker that serves
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		if ok := rt.Healthy(); ok != last {
			master.ReportHealth(ok)
			last = ok
		}
	}
}

// signalOld sends s to each pid of -sf/-st; a process already gone is
// only worth a warning, as in HAProxy.
func signalOld(pids []int, s syscall.Signal, stderr io.Writer) {
	for _, pid := range pids {
		if err := syscall.Kill(pid, s); err != nil {
			fmt.Fprintf(stderr, "[WARNING]  (%d) : Failed to send signal %d to pid %d: %v\n", os.Getpid(), s, pid, err)
		}
	}
}

// softStop keeps serving for "grace", then stops accepting and waits
// until the sessions in flight are over, for at most hard-stop-after
// (counted from the signal, as HAProxy); SIGTERM or SIGINT cut it short.
func softStop(rt *stream.Runtime, g *model.Global, sig <-chan os.Signal, stderr io.Writer) {
	var hard <-chan time.Time
	if g.HardStopAfter > 0 {
		hard = time.After(g.HardStopAfter)
	}
	if g.Grace > 0 {
		graceEnd := time.After(g.Grace)
	wait:
		for {
			select {
			case <-graceEnd:
				break wait
			case s := <-sig:
				if s != syscall.SIGUSR1 {
					return
				}
			}
		}
	}
	rt.SoftStop()
	done := make(chan struct{})
	go func() { rt.Wait(); close(done) }()
	for {
		select {
		case <-done:
			return
		case <-hard:
			fmt.Fprintf(stderr, "[WARNING]  (%d) : hard-stop-after %v expired: closing the remaining connections\n", os.Getpid(), g.HardStopAfter)
			return
		case s := <-sig:
			if s != syscall.SIGUSR1 {
				return
			}
		}
	}
}

// setProcessEnv exports the variables HAProxy defines for its own
// configuration files.
func setProcessEnv(opts *cli.Options) {
	peer := opts.LocalPeer
	if peer == "" {
		peer, _ = os.Hostname()
	}
	os.Setenv("HAPROXY_LOCALPEER", peer)
	os.Setenv("HAPROXY_CFGFILES", strings.Join(opts.Files, ";"))
}

// zeroWarningAbort reports whether "zero-warning" (or -dW) refuses the
// configuration because it produced warnings, as HAProxy does, -c included.
func zeroWarningAbort(opts *cli.Options, cfg *model.Config, d *config.Diags, w io.Writer) bool {
	if (!opts.ZeroWarning && !cfg.Global.ZeroWarning) || d.Count(config.Warning) == 0 {
		return false
	}
	alert(w, "config : Some warnings were found and 'zero-warning' is set. Aborting.")
	return true
}

// evalCond implements -cc: exit 0 when the condition is true, 1 when false,
// 2 when it cannot be evaluated.
func evalCond(expr string, stderr io.Writer) int {
	words, err := config.SplitLine(expr, nil)
	if err == nil {
		var ok bool
		if ok, err = config.EvalCond(words, nil); err == nil {
			if ok {
				return 0
			}
			return 1
		}
	}
	alert(stderr, "failed to evaluate condition '%s': %v", expr, err)
	return 2
}
