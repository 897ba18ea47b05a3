// Package master handles the process around the proxy: pid files and going
// to the background.
package master

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// childEnv marks the re-executed daemon child; its status pipe is fd 3.
const childEnv = "DHPROXY_DAEMON_CHILD"

// IsDaemonChild reports whether this process is the background child.
func IsDaemonChild() bool { return os.Getenv(childEnv) == "1" }

// WritePidfile writes pid followed by a newline.
func WritePidfile(path string, pid int) error {
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("cannot create pidfile %s: %w", path, err)
	}
	return nil
}

// Daemonize starts this program again in a new session, detached from the
// terminal, and waits until the child says it serves (or why it cannot).
// It returns the child's pid. Go cannot fork a running runtime, hence the
// re-execution.
func Daemonize() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	w.Close()
	null.Close()
	line, _ := bufio.NewReader(r).ReadString(0)
	r.Close()
	if strings.HasPrefix(line, "OK") {
		pid := cmd.Process.Pid
		cmd.Process.Release()
		return pid, nil
	}
	cmd.Wait()
	if line == "" {
		return 0, errors.New("the background process exited before it was ready")
	}
	return 0, errors.New(strings.TrimSpace(line))
}

// statusPipe is a worker's status pipe, kept after "OK" for ReportHealth.
var statusPipe *os.File

// ReportReady tells the waiting parent that the child serves; err non-nil
// reports a startup failure instead.
func ReportReady(err error) {
	f := os.NewFile(3, "status")
	if f == nil {
		return
	}
	if err == nil && WantsHealth() {
		unix.CloseOnExec(3) // not for the worker's own children
		fmt.Fprint(f, "OK\x00")
		statusPipe = f
		return
	}
	if err != nil {
		fmt.Fprint(f, err.Error())
	} else {
		fmt.Fprint(f, "OK")
	}
	f.Close()
}
