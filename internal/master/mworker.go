package master

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/listener"
	"dhproxy/internal/model"
)

// Options configures the master of master-worker mode (-W, -Ws,
// "master-worker").
type Options struct {
	Args    []string // the command line, given again to each worker
	Version string   // for "show proc"
	// Load reads and checks the configuration files again, for a reload. It
	// returns the diagnostics to log; a nil model means the check failed.
	Load         func() (cfg *model.Config, diags string)
	Systemd      bool   // -Ws: notify systemd
	Socket       string // -S: the master CLI, "path[,mode,OCTAL]"
	Pidfile      string // the master's pid goes there
	Log          io.Writer
	DaemonChild  bool          // report readiness to the waiting parent (-D)
	ReadyTimeout time.Duration // how long a new worker may take to serve; 0: a minute
	// Started is called once the first worker serves (-sf/-st, VRRP); an
	// error stops the workers and the master.
	Started func() error
	// Health makes the workers report whether they can serve (Healthy).
	Health bool
	// WorkerEnv adds variables to the environment of each new worker.
	WorkerEnv func() []string
	// Reloading is called at the start of every reload, before the
	// configuration is read again.
	Reloading func()
	// Stopping is called once when the master starts to stop, before its
	// workers are signalled (a VIP leaves before the proxy behind it).
	Stopping func()
}

// worker is one worker process as the master sees it.
type worker struct {
	pid     int
	cmd     *exec.Cmd
	started time.Time
	reloads int  // reloads since it started, as HAProxy's "show proc" counts
	old     bool // replaced by a newer worker, soft-stopping
	cfg     *model.Config
	healthy atomic.Bool // as it last reported (Options.Health)
}

type exitEvent struct {
	w      *worker
	p      *program // a program's end instead of a worker's
	status string
	code   int
}

// Master starts and replaces workers.
type Master struct {
	opt     Options
	exe     string
	started time.Time
	set     listener.Set
	aliveR  *os.File // read end given to workers; the write end stays here
	aliveW  *os.File
	cliDir  string // private sockets of the workers; "" without a CLI
	exits   chan exitEvent
	reloads chan chan string // from the master CLI; the answer comes back

	mu       sync.Mutex // guards what follows, read by the CLI
	workers  []*worker  // the current one last
	programs []*program // running instances of the program sections
	current  *worker
	nreload  int
	nfailed  int
	lastLogs string // diagnostics of the last start or reload
	exitCode int    // the last current worker's, the master's own at the end
}

// New prepares a master; Run starts it.
func New(opt Options) *Master {
	if opt.ReadyTimeout == 0 {
		opt.ReadyTimeout = time.Minute
	}
	return &Master{opt: opt, started: time.Now(), exits: make(chan exitEvent, 16), reloads: make(chan chan string)}
}

// Healthy reports whether the current worker serves and said last that
// each of its frontends has a usable server (Options.Health).
func (m *Master) Healthy() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.current != nil && m.current.healthy.Load()
}

// Run is the master's life: it starts the first worker with cfg and serves
// until stopped. It returns the process's exit code.
func (m *Master) Run(cfg *model.Config) int {
	opt := m.opt
	var err error
	if m.exe, err = os.Executable(); err != nil {
		return m.fail(err)
	}
	if m.aliveR, m.aliveW, err = os.Pipe(); err != nil {
		return m.fail(err)
	}
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP, syscall.SIGTTOU, syscall.SIGTTIN)
	signal.Ignore(syscall.SIGPIPE)
	if opt.Socket != "" {
		cli, err := m.listenCLI(opt.Socket)
		if err != nil {
			return m.fail(err)
		}
		defer cli.Close()
		defer os.RemoveAll(m.cliDir)
	}
	if err := WritePidfile(opt.Pidfile, os.Getpid()); err != nil {
		return m.fail(err)
	}
	// As haproxy, the programs start before the first worker.
	m.startPrograms(cfg, nil)
	w, err := m.spawn(cfg)
	if err != nil {
		m.endPrograms()
		return m.fail(err)
	}
	m.mu.Lock()
	m.current = w
	m.workers = append(m.workers, w)
	m.mu.Unlock()
	m.notice("New worker (%d) forked", w.pid)
	m.notice("Loading success.")
	if opt.Started != nil {
		if err := opt.Started(); err != nil {
			m.alert("%v", err)
			m.stopAll()
			m.endPrograms()
			return m.fail(err)
		}
	}
	if opt.DaemonChild {
		ReportReady(nil)
	}
	m.sdNotify(fmt.Sprintf("READY=1\nMAINPID=%d", os.Getpid()))
	code := m.loop(sig)
	m.endPrograms()
	return code
}

func (m *Master) fail(err error) int {
	m.alert("%v", err)
	if m.opt.DaemonChild {
		ReportReady(err)
	}
	return 1
}

func (m *Master) loop(sig chan os.Signal) int {
	stopping := false
	for {
		select {
		case s := <-sig:
			switch s {
			case syscall.SIGUSR2, syscall.SIGHUP:
				if !stopping {
					m.reload()
				}
			case syscall.SIGTTOU, syscall.SIGTTIN:
				m.signalAll(s.(syscall.Signal)) // the workers pause or resume their listeners
			default:
				// SIGTERM/SIGINT stop the workers at once, SIGUSR1 softly;
				// the master leaves when the last one has gone.
				if !stopping {
					stopping = true
					m.sdNotify("STOPPING=1")
					if m.opt.Stopping != nil {
						m.opt.Stopping()
					}
				}
				m.signalAll(s.(syscall.Signal))
				m.signalPrograms(syscall.SIGTERM)
				if m.count() == 0 {
					return 0
				}
			}
		case reply := <-m.reloads:
			if stopping {
				reply <- "Success=0\n--\nthe master is stopping\n"
				continue
			}
			ok := m.reload()
			m.mu.Lock()
			reply <- fmt.Sprintf("Success=%d\n--\n%s", boolInt(ok), m.lastLogs)
			m.mu.Unlock()
		case e := <-m.exits:
			if e.p != nil {
				m.programExited(e)
				continue
			}
			if code, leave := m.exited(e, stopping); leave {
				return code
			}
		}
	}
}

// exited updates the table for a worker that ended, and reports whether
// the master leaves too, with which code. As haproxy 2.6's master, it
// leaves once no worker is left after the current one died (or after a
// stop); the current one's death also takes the old ones down unless
// "master-worker no-exit-on-failure".
func (m *Master) exited(e exitEvent, stopping bool) (int, bool) {
	m.mu.Lock()
	for i, w := range m.workers {
		if w == e.w {
			m.workers = append(m.workers[:i], m.workers[i+1:]...)
			break
		}
	}
	current := m.current == e.w
	if current {
		m.current = nil
		m.exitCode = e.code
	}
	orphaned := m.current == nil
	left := len(m.workers)
	m.mu.Unlock()
	if m.cliDir != "" {
		os.Remove(workerSocket(m.cliDir, e.w.pid))
	}
	if current && !stopping {
		m.alert("Current worker (%d) exited with code %d (%s)", e.w.pid, e.code, e.status)
		if !e.w.cfg.Global.NoExitOnFailure {
			m.alert("exit-on-failure: killing every processes with SIGTERM")
			m.signalAll(syscall.SIGTERM)
		}
	} else {
		m.warning("Former worker (%d) exited with code %d (%s)", e.w.pid, e.code, e.status)
	}
	if left > 0 || !orphaned {
		return 0, false
	}
	m.warning("All workers exited. Exiting... (%d)", m.exitCode)
	if !stopping {
		m.sdNotify("STOPPING=1")
	}
	return m.exitCode, true
}

// reload checks the configuration again and, when it is valid, starts a
// new worker on the same listening sockets, then soft-stops the others. A
// configuration that fails, or a worker that cannot start, leaves the
// running worker alone.
func (m *Master) reload() bool {
	m.notice("Reloading dhproxy")
	m.sdNotify(reloadingState())
	defer m.sdNotify("READY=1")
	if m.opt.Reloading != nil {
		m.opt.Reloading()
	}
	m.mu.Lock()
	m.nreload++
	for _, w := range m.workers {
		w.reloads++
	}
	m.mu.Unlock()
	cfg, diags := m.opt.Load()
	var err error
	var w *worker
	if cfg == nil {
		err = errors.New("configuration check failed")
	} else {
		w, err = m.spawn(cfg)
	}
	m.mu.Lock()
	m.lastLogs = diags
	if err != nil {
		m.nfailed++
		if cfg != nil {
			m.lastLogs += fmt.Sprintf("[ALERT]    (%d) : %v\n", os.Getpid(), err)
		}
		m.mu.Unlock()
		io.WriteString(m.opt.Log, diags)
		if cfg != nil {
			m.alert("%v", err)
		}
		m.warning("Loading failure! The running worker keeps serving.")
		return false
	}
	olds := m.workers
	for _, o := range olds {
		o.old = true
	}
	m.workers = append(m.workers, w)
	m.current = w
	m.mu.Unlock()
	io.WriteString(m.opt.Log, diags)
	m.notice("New worker (%d) forked", w.pid)
	m.notice("Loading success.")
	for _, o := range olds {
		o.cmd.Process.Signal(syscall.SIGUSR1)
		// "mworker-max-reloads": a worker still finishing its sessions
		// after more reloads than that is terminated
		if max := cfg.Global.MworkerMaxReloads; max >= 0 && o.reloads > max {
			m.warning("Former worker (%d) survived %d reloads (mworker-max-reloads %d): sending SIGTERM", o.pid, o.reloads, max)
			o.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	m.reloadPrograms(cfg)
	keys, _, _ := m.set.Open(cfg) // all open already: spawn did it
	m.set.Keep(keys)
	return true
}

// spawn starts a worker for cfg and waits until it serves.
func (m *Master) spawn(cfg *model.Config) (*worker, error) {
	keys, files, err := m.set.Open(cfg)
	if err != nil {
		return nil, err
	}
	names, _ := json.Marshal(keys)
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(m.exe, m.opt.Args...)
	cmd.Env = append(workerEnviron(), workerEnv+"=1", listenersEnv+"="+string(names))
	if m.cliDir != "" {
		cmd.Env = append(cmd.Env, cliDirEnv+"="+m.cliDir)
	}
	if m.opt.Health {
		cmd.Env = append(cmd.Env, healthEnv+"=1")
	}
	if m.opt.WorkerEnv != nil {
		cmd.Env = append(cmd.Env, m.opt.WorkerEnv()...)
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = append([]*os.File{wr, m.aliveR}, files...)
	err = cmd.Start()
	wr.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	status := make(chan string, 1)
	br := bufio.NewReader(r)
	go func() {
		line, _ := br.ReadString(0)
		status <- line
	}()
	var line string
	select {
	case line = <-status:
	case <-time.After(m.opt.ReadyTimeout):
		cmd.Process.Kill()
		line = fmt.Sprintf("the new worker did not serve within %v", m.opt.ReadyTimeout)
		<-status
	}
	if !strings.HasPrefix(line, "OK") {
		r.Close()
		cmd.Wait()
		if line == "" {
			line = "the new worker exited before it served (" + cmd.ProcessState.String() + ")"
		}
		return nil, errors.New(strings.TrimSpace(line))
	}
	w := &worker{pid: cmd.Process.Pid, cmd: cmd, started: time.Now(), cfg: cfg}
	w.healthy.Store(true)
	go func() {
		// After "OK" a worker asked for its health writes '1' or '0' at
		// each change; the pipe ends with it.
		defer r.Close()
		for {
			b, err := br.ReadByte()
			if err != nil {
				return
			}
			w.healthy.Store(b == '1')
		}
	}()
	go func() {
		cmd.Wait()
		e := exitEvent{w: w, code: cmd.ProcessState.ExitCode(), status: "Exit"}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.code = 128 + int(ws.Signal())
			e.status = strings.ToUpper(ws.Signal().String()[:1]) + ws.Signal().String()[1:]
		}
		m.exits <- e
	}()
	return w, nil
}

// workerEnviron is the master's environment without what concerns the
// master alone.
func workerEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case childEnv, "NOTIFY_SOCKET", workerEnv, listenersEnv, cliDirEnv:
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (m *Master) signalAll(s syscall.Signal) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.workers {
		w.cmd.Process.Signal(s)
	}
}

// stopAll stops the workers at once and waits (bounded) until they are gone.
func (m *Master) stopAll() {
	m.signalAll(syscall.SIGTERM)
	deadline := time.After(10 * time.Second)
	for m.count() > 0 {
		select {
		case e := <-m.exits:
			if e.p != nil {
				m.programExited(e)
				continue
			}
			m.exited(e, true)
		case <-deadline:
			m.signalAll(syscall.SIGKILL)
			return
		}
	}
}

func (m *Master) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.workers)
}

func (m *Master) sdNotify(state string) {
	if !m.opt.Systemd {
		return
	}
	if err := Notify(state); err != nil {
		m.warning("sd_notify: %v", err)
	}
}

// reloadingState is what systemd expects at the start of a reload; the
// monotonic time lets Type=notify-reload units match it too.
func reloadingState() string {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", ts.Nano()/1000)
}

func (m *Master) notice(format string, args ...any) {
	fmt.Fprintf(m.opt.Log, "[NOTICE]   (%d) : %s\n", os.Getpid(), fmt.Sprintf(format, args...))
}

func (m *Master) warning(format string, args ...any) {
	fmt.Fprintf(m.opt.Log, "[WARNING]  (%d) : %s\n", os.Getpid(), fmt.Sprintf(format, args...))
}

func (m *Master) alert(format string, args ...any) {
	fmt.Fprintf(m.opt.Log, "[ALERT]    (%d) : %s\n", os.Getpid(), fmt.Sprintf(format, args...))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
