package master

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// The master CLI (-S): HAProxy's master socket. "show proc" lists the
// processes, "reload" reloads (answering whether it worked and the
// diagnostics), "show startup-logs" repeats the last start or reload's
// diagnostics, and "@1 <command>" / "@!<pid> <command>" pass a command to
// a worker's runtime API.

// parseCLISpec reads -S's "path[,mode,OCTAL][,level,L]...".
func parseCLISpec(spec string) (path string, mode os.FileMode, err error) {
	parts := strings.Split(spec, ",")
	path = strings.TrimPrefix(parts[0], "unix@")
	if path == "" {
		return "", 0, fmt.Errorf("-S %s: no socket path; write -S <path>[,mode,<octal>]", spec)
	}
	for i := 1; i < len(parts); i++ {
		switch parts[i] {
		case "mode", "level", "user", "group", "uid", "gid":
			if i+1 >= len(parts) {
				return "", 0, fmt.Errorf("-S %s: '%s' expects a value", spec, parts[i])
			}
			if parts[i] == "mode" {
				v, err := strconv.ParseUint(parts[i+1], 8, 12)
				if err != nil {
					return "", 0, fmt.Errorf("-S %s: 'mode %s' is not an octal mode", spec, parts[i+1])
				}
				mode = os.FileMode(v)
			}
			// The others: access is by the socket file's permissions.
			i++
		default:
			return "", 0, fmt.Errorf("-S %s: unknown option '%s'; write -S <path>[,mode,<octal>]", spec, parts[i])
		}
	}
	return path, mode, nil
}

// listenCLI binds the master CLI socket and serves it.
func (m *Master) listenCLI(spec string) (net.Listener, error) {
	path, mode, err := parseCLISpec(spec)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("-S %s: %w", spec, err)
	}
	if mode != 0 {
		if err := os.Chmod(path, mode); err != nil {
			l.Close()
			return nil, fmt.Errorf("-S %s: %w", spec, err)
		}
	}
	if m.cliDir, err = os.MkdirTemp("", "dhproxy-master-"); err != nil {
		l.Close()
		return nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go m.serveCLI(c)
		}
	}()
	return l, nil
}

// serveCLI answers one connection: commands separated by ';' or new lines;
// after "prompt", interactively until "quit".
func (m *Master) serveCLI(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	prompt := false
	for {
		if prompt {
			io.WriteString(c, "master> ")
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Minute))
		line, err := r.ReadString('\n')
		if line == "" && err != nil {
			return
		}
		for _, cmd := range strings.Split(strings.TrimSpace(line), ";") {
			cmd = strings.TrimSpace(cmd)
			switch cmd {
			case "":
				continue
			case "prompt":
				prompt = !prompt
				continue
			case "quit":
				return
			}
			io.WriteString(c, m.command(cmd))
		}
		if !prompt {
			return
		}
	}
}

// command runs one master CLI command and returns its answer, which ends
// with an empty line as HAProxy's.
func (m *Master) command(cmd string) string {
	if strings.HasPrefix(cmd, "@") {
		return m.forward(cmd)
	}
	switch cmd {
	case "show proc":
		return m.showProc()
	case "reload":
		reply := make(chan string, 1)
		m.reloads <- reply
		return <-reply + "\n"
	case "show startup-logs":
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.lastLogs + "\n"
	case "show version":
		return m.opt.Version + "\n\n"
	case "help":
		return cliHelp
	}
	return "Unknown command, but maybe one of the following ones is a better match:\n" + cliHelp
}

const cliHelp = `  @!<pid>                                 : send a command to the <pid> process
  @<relative pid>                         : send a command to the <relative pid> process
  @master                                 : send a command to the master process
  reload                                  : reload dhproxy, then report Success=0|1 and the diagnostics
  show proc                               : show processes status
  show startup-logs                       : show the diagnostics of the last start or reload
  show version                            : show version of the current process
  help                                    : list commands
  prompt                                  : toggle interactive mode with prompt
  quit                                    : disconnect

`

// showProc prints the process table in HAProxy's layout.
func (m *Master) showProc() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	row := func(pid, typ, reloads, uptime, version string) {
		fmt.Fprintf(&b, "%-15s %-15s %-15s %-15s %s\n", pid, typ, reloads, uptime, version)
	}
	fmt.Fprintf(&b, "%-15s %-15s %-15s %-15s %-15s\n", "#<PID>", "<type>", "<reloads>", "<uptime>", "<version>")
	row(strconv.Itoa(os.Getpid()), "master", fmt.Sprintf("%d [failed: %d]", m.nreload, m.nfailed), uptime(m.started), m.opt.Version)
	b.WriteString("# workers\n")
	if w := m.current; w != nil {
		row(strconv.Itoa(w.pid), "worker", strconv.Itoa(w.reloads), uptime(w.started), m.opt.Version)
	}
	var olds []*worker
	for _, w := range m.workers {
		if w != m.current {
			olds = append(olds, w)
		}
	}
	if len(olds) > 0 {
		b.WriteString("# old workers\n")
		for _, w := range olds {
			row(strconv.Itoa(w.pid), "worker", strconv.Itoa(w.reloads), uptime(w.started), m.opt.Version)
		}
	}
	b.WriteString("# programs\n")
	var oldProgs []*program
	for _, p := range m.programs {
		if p.old {
			oldProgs = append(oldProgs, p)
			continue
		}
		row(strconv.Itoa(p.pid), p.name, strconv.Itoa(p.reloads), uptime(p.started), "-              ")
	}
	if len(oldProgs) > 0 {
		b.WriteString("# old programs\n")
		for _, p := range oldProgs {
			row(strconv.Itoa(p.pid), p.name, strconv.Itoa(p.reloads), uptime(p.started), "-              ")
		}
	}
	b.WriteString("\n")
	return b.String()
}

func uptime(since time.Time) string {
	s := int(time.Since(since).Seconds())
	return fmt.Sprintf("%dd%02dh%02dm%02ds", s/86400, s/3600%24, s/60%60, s%60)
}

// forward passes "@1 cmd", "@!pid cmd" or "@master cmd" on.
func (m *Master) forward(line string) string {
	target, cmd, _ := strings.Cut(line, " ")
	cmd = strings.TrimSpace(cmd)
	if target == "@master" {
		return m.command(cmd)
	}
	m.mu.Lock()
	var pid int
	if p, ok := strings.CutPrefix(target, "@!"); ok {
		n, err := strconv.Atoi(p)
		for _, w := range m.workers {
			if err == nil && w.pid == n {
				pid = n
			}
		}
	} else if target == "@1" && m.current != nil {
		// One process per generation: relative pid 1 is the current worker.
		pid = m.current.pid
	}
	m.mu.Unlock()
	if pid == 0 {
		return fmt.Sprintf("Can't find the target PID matching the prefix '%s'\n\n", target)
	}
	c, err := net.DialTimeout("unix", workerSocket(m.cliDir, pid), 5*time.Second)
	if err != nil {
		return fmt.Sprintf("worker %d does not answer: %v\n\n", pid, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, cmd+"\n")
	out, _ := io.ReadAll(c)
	return string(out)
}
