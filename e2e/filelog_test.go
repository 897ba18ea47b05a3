package e2e

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clfLine is Apache's common log format as "option httplog clf" writes it
// (host ident user [date] "request" status bytes, then haproxy's fields).
var clfLine = regexp.MustCompile(`^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /n\d+ HTTP/1\.1" 200 \d+ `)

// countLogLines counts the lines of every file in dir whose name starts
// with base (gzip-compressed ones included) and checks each is a CLF line.
func countLogLines(t *testing.T, dir, base string) int {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, base+"*"))
	n := 0
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = f
		if strings.HasSuffix(p, ".gz") {
			if r, err = gzip.NewReader(f); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if !clfLine.MatchString(sc.Text()) {
				t.Errorf("%s: not a CLF line: %q", p, sc.Text())
			}
			n++
		}
		f.Close()
	}
	return n
}

// TestFileLogRotation runs the repository's logrotate configuration
// (examples/logrotate/dhproxy, its paths pointed at a temp dir) with the
// real logrotate -f, twice, while a bounded load goes through a frontend
// logging "option httplog clf" to a file: every request's line is found
// in the current, the rotated and the compressed files together.
func TestFileLogRotation(t *testing.T) {
	if isHAProxy() {
		t.Skip("log file@ is dhproxy's")
	}
	logrotate, err := exec.LookPath("logrotate")
	if err != nil {
		t.Skip("no logrotate (Debian package logrotate; scripts/install-test-deps.sh):", err)
	}
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("no socat for the postrotate script:", err)
	}
	dir := t.TempDir()
	logDir := filepath.Join(dir, "log")
	if err := os.Mkdir(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "admin.sock")
	example, err := os.ReadFile("../examples/logrotate/dhproxy")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("/var/log/dhproxy/", logDir+"/", "/run/dhproxy/admin.sock", sock).Replace(string(example))
	if conf == string(example) {
		t.Fatal("the example names neither /var/log/dhproxy/ nor /run/dhproxy/admin.sock any more")
	}
	confPath := filepath.Join(dir, "logrotate.conf")
	// logrotate refuses a configuration others can write.
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	web, _ := startHTTPBackend(t, "web")
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`global
    stats socket %s level admin`, sock)+defaultsSection("http", "1s", "5s", "5s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    option httplog clf
    option dontlognull
    log file@%s/access.log len 4096 format raw local0 info
    default_backend be
backend be
    server web 127.0.0.1:%d
`, port, logDir, web), port)

	// A bounded load: workers send until told to stop, at most maxReqs in
	// all; the rotations happen while it runs, and it goes on for a while
	// after the last one, so the reopened file gets lines too.
	const workers, maxReqs, step = 4, 20000, 600
	var sent, next atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				n := next.Add(1)
				if n > maxReqs {
					return
				}
				resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/n%d", port, n))
				if err != nil {
					t.Errorf("request: %v", err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("status %d", resp.StatusCode)
					return
				}
				sent.Add(1)
			}
		}()
	}
	waitSent := func(n int64) {
		deadline := time.Now().Add(30 * time.Second)
		for sent.Load() < n && time.Now().Before(deadline) && !t.Failed() {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Rotate twice under load: the second run compresses the first rotated
	// file (delaycompress) and renames the second.
	state := filepath.Join(dir, "logrotate.state")
	for range 2 {
		waitSent(sent.Load() + step)
		// The reopened file must hold lines before the next run, or
		// notifempty skips it: lines reach the file a moment after their
		// requests.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if fi, err := os.Stat(filepath.Join(logDir, "access.log")); err == nil && fi.Size() > 0 {
				break
			}
		}
		out, err := exec.Command(logrotate, "-f", "-s", state, confPath).CombinedOutput()
		if err != nil {
			t.Fatalf("logrotate: %v\n%s", err, out)
		}
	}
	waitSent(sent.Load() + step)
	stop.Store(true)
	wg.Wait()
	total := sent.Load()
	rotations := 2
	var lines int
	deadline := time.Now().Add(10 * time.Second)
	for {
		lines = countLogLines(t, logDir, "access.log")
		if int64(lines) >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	files, _ := filepath.Glob(filepath.Join(logDir, "access.log*"))
	for i := range files {
		files[i] = filepath.Base(files[i])
	}
	t.Logf("%d requests, %d lines in %v after %d rotations", total, lines, files, rotations)
	if int64(lines) != total {
		t.Errorf("%d lines logged for %d requests", lines, total)
	}
	for _, want := range []string{"access.log", "access.log.1", "access.log.2.gz"} {
		if _, err := os.Stat(filepath.Join(logDir, want)); err != nil {
			t.Errorf("after two rotations: %v (files: %v)", err, files)
		}
	}
	// The current file got lines after the last rotation: dhproxy reopened it.
	if data, _ := os.ReadFile(filepath.Join(logDir, "access.log")); len(data) == 0 {
		t.Error("the new access.log stayed empty: the log file was not reopened")
	}
	// Nothing was dropped.
	if info := cliCmd(t, sock, "show info"); !strings.Contains(info, "\nDroppedLogs: 0\n") {
		t.Errorf("show info:\n%s", info)
	}
}
