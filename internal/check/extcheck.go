package check

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"dhproxy/internal/model"
)

// extCheck runs "external-check command" for a server as HAProxy 2.6
// does: arguments <proxy_address> <proxy_port> <server_address>
// <server_port>, the HAPROXY_* variables of 2.6 (and PATH from "external-check
// path") as its whole environment unless "external-check preserve-env";
// exit status 0 passes, anything else fails (PROCERR), no exit within
// "inter" (or "timeout connect" when "timeout check" is set and shorter)
// is a timeout (PROCTOUT) and the program gets SIGTERM.
type extCheck struct {
	command     string
	path        string
	preserveEnv bool
	proxyAddr   string // the proxy's first bind, NOT_USED without one
	proxyPort   string
	env         []string // the variables that do not change between checks
	timeout     time.Duration
}

func newExtCheck(t Target, inter time.Duration) *extCheck {
	be := t.Backend
	e := &extCheck{command: be.Check.ExtCommand, path: be.Check.ExtPath, preserveEnv: be.Check.ExtPreserveEnv,
		proxyAddr: "NOT_USED", proxyPort: "NOT_USED"}
	for _, b := range be.Binds {
		if b.Network == "unix" {
			e.proxyAddr = b.Addr
			break
		}
		if host, port, err := net.SplitHostPort(b.Addr); err == nil {
			if host == "" {
				host = "0.0.0.0"
			}
			e.proxyAddr, e.proxyPort = host, port
			break
		}
	}
	e.timeout = inter
	if be.Timeouts.Check > 0 && be.Timeouts.Connect > 0 && be.Timeouts.Connect < inter {
		e.timeout = be.Timeouts.Connect
	}
	empty := func(v string) string {
		if v == "NOT_USED" {
			return "" // HAProxy sends an empty variable rather than NOT_USED
		}
		return v
	}
	ssl := "0"
	if t.Conf.TLS != nil {
		ssl = "1"
	}
	e.env = []string{
		"PATH=" + e.path,
		"HAPROXY_PROXY_NAME=" + be.Name,
		"HAPROXY_PROXY_ID=" + strconv.Itoa(be.ID),
		"HAPROXY_PROXY_ADDR=" + empty(e.proxyAddr),
		"HAPROXY_PROXY_PORT=" + empty(e.proxyPort),
		"HAPROXY_SERVER_NAME=" + t.Conf.Name,
		"HAPROXY_SERVER_ID=" + strconv.Itoa(t.Conf.ID),
		"HAPROXY_SERVER_MAXCONN=" + strconv.Itoa(t.Conf.Maxconn),
		"HAPROXY_SERVER_PROTO=" + serverProto(be),
		"HAPROXY_SERVER_SSL=" + ssl,
	}
	return e
}

// serverProto is HAPROXY_SERVER_PROTO: the protocol spoken to the server.
func serverProto(be *model.Proxy) string {
	if be.Mode == model.ModeHTTP {
		return "h1"
	}
	return "tcp"
}

// run executes the program once against the server at addr (host:port).
func (e *extCheck) run(ctx context.Context, addr string, curconn int) Result {
	start := time.Now()
	host, port, err := net.SplitHostPort(addr)
	portArg := port
	switch network, path := splitNetwork(addr); {
	case network == "unix":
		// haproxy gives a UNIX socket's path, and its port as a proxy's
		// unused one: NOT_USED as an argument, empty in the environment
		host, port, portArg = path, "", "NOT_USED"
	case err != nil:
		host, port, portArg = addr, "", ""
	}
	cmdPath := e.command
	if !strings.Contains(cmdPath, "/") {
		cmdPath = lookPath(cmdPath, e.path)
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cmdPath, e.proxyAddr, e.proxyPort, host, portArg)
	cmd.Args[0] = e.command
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Second // then SIGKILL
	env := append(e.env[:len(e.env):len(e.env)], "HAPROXY_SERVER_ADDR="+host, "HAPROXY_SERVER_PORT="+port,
		"HAPROXY_SERVER_CURCONN="+strconv.Itoa(curconn))
	if e.preserveEnv {
		env = append(os.Environ(), env...)
	}
	cmd.Env = env
	err = cmd.Run()
	res := Result{Duration: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		res.Status = StatusPROCTOUT
	case err == nil:
		res.Status = StatusPROCOK
	case errors.As(err, &exit):
		res.Status, res.Code = StatusPROCERR, exit.ExitCode() // -1 when killed by a signal
	default:
		res.Status, res.Code, res.Info = StatusPROCERR, -1, err.Error()
	}
	return res
}

// lookPath finds name in the colon-separated path, as execvp does with
// the PATH the check gets ("" by default: the name as given).
func lookPath(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return name
}
