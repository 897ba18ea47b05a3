package master

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// A worker is this program started again by the master with:
//   - fd 3: the status pipe (ReportReady), as for a daemon child;
//   - fd 4: the read end of a pipe whose write end only the master holds,
//     so that the worker sees the master's end as end of file;
//   - fd 5 on: the listening sockets, named by the JSON list in
//     listenersEnv (listener.Key / listener.StatsKey);
//   - cliDirEnv: a directory where it opens a private runtime API socket
//     named after its pid, which the master CLI's "@1 ..." reaches;
//   - healthEnv: after "OK", it keeps the status pipe and writes '1' or
//     '0' there whenever its ability to serve changes (ReportHealth).
const (
	healthEnv    = "DHPROXY_REPORT_HEALTH"
	workerEnv    = "DHPROXY_WORKER"
	listenersEnv = "DHPROXY_LISTENERS"
	cliDirEnv    = "DHPROXY_MASTER_CLI_DIR"
	statusFD     = 3
	masterFD     = 4
	firstListFD  = 5
)

// IsWorker reports whether this process is a master's worker.
func IsWorker() bool { return os.Getenv(workerEnv) == "1" }

// WorkerListeners returns the listening sockets the master passed, by key.
func WorkerListeners() (map[string]*os.File, error) {
	var keys []string
	if err := json.Unmarshal([]byte(os.Getenv(listenersEnv)), &keys); err != nil {
		return nil, fmt.Errorf("%s: %v", listenersEnv, err)
	}
	files := map[string]*os.File{}
	for i, k := range keys {
		// Not for the worker's own children (check scripts and the like).
		unix.CloseOnExec(firstListFD + i)
		files[k] = os.NewFile(uintptr(firstListFD+i), k)
	}
	return files, nil
}

// WantsHealth reports whether the master asked this worker for its health.
func WantsHealth() bool { return IsWorker() && os.Getenv(healthEnv) == "1" }

// ReportHealth tells the master whether this worker can serve, after
// ReportReady(nil); a no-op unless WantsHealth.
func ReportHealth(ok bool) {
	if statusPipe == nil {
		return
	}
	b := []byte{'0'}
	if ok {
		b[0] = '1'
	}
	statusPipe.Write(b)
}

// WorkerSocket is the path of this worker's private runtime API socket, or
// "" when the master has no CLI.
func WorkerSocket() string {
	dir := os.Getenv(cliDirEnv)
	if dir == "" {
		return ""
	}
	return workerSocket(dir, os.Getpid())
}

func workerSocket(dir string, pid int) string {
	return filepath.Join(dir, strconv.Itoa(pid)+".sock")
}

// WatchMaster calls gone once the master process has ended: a worker does
// not outlive its master, as in HAProxy.
func WatchMaster(gone func()) {
	f := os.NewFile(masterFD, "master")
	if f == nil {
		return
	}
	unix.CloseOnExec(masterFD)
	go func() {
		io.Copy(io.Discard, f) // the master never writes: this returns at its end
		gone()
	}()
}
