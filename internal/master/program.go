package master

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"dhproxy/internal/model"
)

// program is one running instance of a "program" section. The master
// starts it with the workers, replaces it at a reload (or keeps it, with
// "no option start-on-reload") and stops it with the workers; one that
// exits is logged, not restarted, as haproxy does.
type program struct {
	name    string
	pid     int
	cmd     *exec.Cmd
	started time.Time
	reloads int
	old     bool // replaced at a reload, stopping
}

// startPrograms starts the instances cfg asks for: every program at
// start, and at a reload those not kept running.
func (m *Master) startPrograms(cfg *model.Config, keep map[string]bool) {
	for _, p := range cfg.Programs {
		if keep[p.Name] {
			continue
		}
		pr, err := m.startProgram(p)
		if err != nil {
			m.alert("Cannot start program '%s': %v", p.Name, err)
			continue
		}
		m.mu.Lock()
		m.programs = append(m.programs, pr)
		m.mu.Unlock()
		m.notice("New program '%s' (%d) forked", p.Name, pr.pid)
	}
}

func (m *Master) startProgram(p *model.Program) (*program, error) {
	cmd := exec.Command(p.Command[0], p.Command[1:]...)
	cmd.Env = append(workerEnviron(), "HAPROXY_MWORKER=1")
	if m.opt.Socket != "" {
		path, _, _ := parseCLISpec(m.opt.Socket)
		cmd.Env = append(cmd.Env, "HAPROXY_MASTER_CLI=unix@"+path)
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if p.UID >= 0 || p.GID >= 0 {
		cred := &syscall.Credential{Uid: uint32(syscall.Getuid()), Gid: uint32(syscall.Getgid()), NoSetGroups: true}
		if p.UID >= 0 {
			cred.Uid = uint32(p.UID)
		}
		if p.GID >= 0 {
			cred.Gid = uint32(p.GID)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pr := &program{name: p.Name, pid: cmd.Process.Pid, cmd: cmd, started: time.Now()}
	go func() {
		cmd.Wait()
		e := exitEvent{p: pr, code: cmd.ProcessState.ExitCode(), status: "Exit"}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.code = 128 + int(ws.Signal())
			e.status = strings.ToUpper(ws.Signal().String()[:1]) + ws.Signal().String()[1:]
		}
		m.exits <- e
	}()
	return pr, nil
}

// reloadPrograms follows a successful reload to cfg: the running
// instances of programs with "no option start-on-reload" stay, the others
// are stopped and started anew; programs no longer configured stop.
func (m *Master) reloadPrograms(cfg *model.Config) {
	keep := map[string]bool{}
	var stop []*program
	m.mu.Lock()
	for _, pr := range m.programs {
		pr.reloads++
		if pr.old {
			continue
		}
		if p := cfg.ProgramNamed(pr.name); p != nil && !p.StartOnReload {
			keep[pr.name] = true
			continue
		}
		pr.old = true
		stop = append(stop, pr)
	}
	m.mu.Unlock()
	m.startPrograms(cfg, keep)
	// SIGUSR1, as haproxy sends its old programs and workers.
	for _, pr := range stop {
		pr.cmd.Process.Signal(syscall.SIGUSR1)
	}
}

// programExited logs a program's end; the master goes on without it. As
// haproxy, a current program's end is an alert even when the master stops.
func (m *Master) programExited(e exitEvent) {
	m.mu.Lock()
	for i, pr := range m.programs {
		if pr == e.p {
			m.programs = append(m.programs[:i], m.programs[i+1:]...)
			break
		}
	}
	m.mu.Unlock()
	if e.p.old {
		m.warning("Former program '%s' (%d) exited with code %d (%s)", e.p.name, e.p.pid, e.code, e.status)
	} else {
		m.alert("Current program '%s' (%d) exited with code %d (%s)", e.p.name, e.p.pid, e.code, e.status)
	}
}

// signalPrograms sends s to every running program.
func (m *Master) signalPrograms(s syscall.Signal) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, pr := range m.programs {
		pr.cmd.Process.Signal(s)
	}
}

// endPrograms stops the programs still running when the master leaves
// and waits a bounded time for them, so that their end is logged.
func (m *Master) endPrograms() {
	m.signalPrograms(syscall.SIGTERM)
	deadline := time.After(5 * time.Second)
	for {
		m.mu.Lock()
		n := len(m.programs)
		m.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case e := <-m.exits:
			if e.p != nil {
				m.programExited(e)
			}
		case <-deadline:
			return
		}
	}
}
