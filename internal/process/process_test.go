package process

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The helper process drops its privileges as the environment asks, after
// its threads were busy (so that several exist when the privileges
// change), says so and waits until its stdin closes; the test reads its
// /proc entries meanwhile.
func TestMain(m *testing.M) {
	if os.Getenv("PROCESS_TEST_HELPER") == "" {
		os.Exit(m.Run())
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { runtime.LockOSThread(); time.Sleep(50 * time.Millisecond); runtime.UnlockOSThread() })
	}
	wg.Wait()
	s := Settings{UID: 65534, GID: 65534, Chroot: os.Getenv("PROCESS_TEST_CHROOT")}
	if err := Drop(s, os.Getenv("PROCESS_TEST_KEEPNET") != ""); err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(0)
	}
	os.Stdout.WriteString("dropped\n")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// procState is what /proc tells of a process: the status lines of each of
// its threads and its root directory.
type procState struct {
	lines []string
	root  string
}

func helper(t *testing.T, env ...string) (procState, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append(env, "PROCESS_TEST_HELPER=1")...)
	in, _ := cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); cmd.Wait() }()
	first, _ := bufio.NewReader(outPipe).ReadString('\n')
	if first != "dropped\n" {
		return procState{}, first
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	var st procState
	st.root, _ = os.Readlink("/proc/" + pid + "/root")
	tasks, _ := os.ReadDir("/proc/" + pid + "/task")
	for _, task := range tasks {
		b, _ := os.ReadFile("/proc/" + pid + "/task/" + task.Name() + "/status")
		for _, l := range strings.Split(string(b), "\n") {
			for _, k := range []string{"Uid:", "Gid:", "CapEff:", "CapPrm:", "CapAmb:"} {
				if strings.HasPrefix(l, k) {
					st.lines = append(st.lines, strings.Join(strings.Fields(l), " "))
				}
			}
		}
	}
	return st, ""
}

func checkLines(t *testing.T, st procState, caps string) {
	t.Helper()
	if len(st.lines) < 5*4 {
		t.Fatalf("status of fewer than 4 threads: %v", st.lines)
	}
	for _, l := range st.lines {
		switch {
		case strings.HasPrefix(l, "Uid:"), strings.HasPrefix(l, "Gid:"):
			if l[5:] != "65534 65534 65534 65534" {
				t.Errorf("%s", l)
			}
		case strings.HasPrefix(l, "Cap"):
			if !strings.HasSuffix(l, " "+caps) {
				t.Errorf("%s, want %s", l, caps)
			}
		}
	}
}

func TestDropToNobody(t *testing.T) {
	dir := t.TempDir()
	st, errLine := helper(t, "PROCESS_TEST_CHROOT="+dir)
	if errLine != "" {
		t.Fatal(errLine)
	}
	checkLines(t, st, "0000000000000000")
	if st.root != dir {
		t.Errorf("root %q, want %q", st.root, dir)
	}
}

// With keepNet every thread keeps CAP_NET_ADMIN (12) and CAP_NET_RAW (13),
// bits 0x3000, and nothing else; a binary with cgo refuses instead.
func TestDropKeepsNetCaps(t *testing.T) {
	dir := filepath.Clean(t.TempDir())
	st, errLine := helper(t, "PROCESS_TEST_KEEPNET=1", "PROCESS_TEST_CHROOT="+dir)
	if errLine != "" {
		if !strings.Contains(errLine, ErrCapsPerThread.Error()) {
			t.Fatal(errLine)
		}
		t.Skipf("test binary built with cgo: %s", errLine)
	}
	checkLines(t, st, "0000000000003000")
	if st.root != dir {
		t.Errorf("root %q, want %q", st.root, dir)
	}
}

func TestDropNothingToDo(t *testing.T) {
	if err := Drop(Settings{UID: -1, GID: -1}, true); err != nil {
		t.Fatal(err)
	}
}
