package logging

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFileTargetCarriesTheSyslogPayload: for each format, the line a
// file@ target appends is byte for byte the datagram a syslog socket
// receives for the same "log" line options.
func TestFileTargetCarriesTheSyslogPayload(t *testing.T) {
	dir := t.TempDir()
	sockPath := filepath.Join(dir, "log.sock")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	line := `127.0.0.1 - - [05/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 137 "" "" 48224 954 "fe" "be" "web1" 0 0 0 2 2 ---- 1 1 0 0 0 0 0 "" ""`
	for _, format := range []string{"", "raw", "rfc3164", "rfc5424", "short", "iso"} {
		path := filepath.Join(dir, "access-"+format+".log")
		l := mustLogger(t, "tag", "", spec{address: "file@" + path, format: format, facility: "local0"},
			spec{address: sockPath, format: format, facility: "local0"})
		l.Send(LevelInfo, []byte(line))
		buf := make([]byte, 4096)
		sock.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := sock.Read(buf)
		if err != nil {
			t.Fatalf("format %q: %v", format, err)
		}
		l.Close()
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(buf[:n]) {
			t.Errorf("format %q:\nfile:   %q\nsyslog: %q", format, got, buf[:n])
		}
		if format == "raw" && string(got) != line+"\n" {
			t.Errorf("raw: %q", got)
		}
	}
}

// TestFileTargetReopen: after the file is renamed (logrotate), lines keep
// going to the renamed file until ReopenFiles, then to a new file at the
// path; every Logger sharing the path moves, and no line is lost.
func TestFileTargetReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	a := mustLogger(t, "", "", spec{address: "file@" + path, format: "raw", facility: "local0"})
	b := mustLogger(t, "", "", spec{address: "file@" + path, format: "raw", facility: "local0"})
	send := func(words ...string) {
		for _, w := range words {
			a.Send(LevelInfo, []byte("a "+w))
			b.Send(LevelInfo, []byte("b "+w))
		}
	}
	waitLines := func(p string, n int) string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			data, _ := os.ReadFile(p)
			if strings.Count(string(data), "\n") >= n || time.Now().After(deadline) {
				return string(data)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	send("1", "2")
	waitLines(path, 4)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	send("3")
	waitLines(path+".1", 6)
	if n, err := ReopenFiles(); err != nil || n != 1 {
		t.Fatalf("ReopenFiles: %d, %v", n, err)
	}
	send("4")
	newer := waitLines(path, 2)
	older := waitLines(path+".1", 6)
	if strings.Count(older, "\n") != 6 || !strings.Contains(older, "a 3\n") || !strings.Contains(older, "b 3\n") {
		t.Errorf("rotated file:\n%s", older)
	}
	if newer != "a 4\nb 4\n" && newer != "b 4\na 4\n" {
		t.Errorf("new file:\n%s", newer)
	}
	a.Close()
	b.Close()
	filesMu.Lock()
	defer filesMu.Unlock()
	if len(files) != 0 {
		t.Errorf("files still open after every logger closed: %v", files)
	}
}

// TestFileTargetUnwritable: a file that cannot be opened is an error of
// the "log" line at start, naming it.
func TestFileTargetUnwritable(t *testing.T) {
	_, err := newLogger([]spec{{address: "file@/nonexistent-dir/access.log", facility: "local0"}}, "", "")
	if err == nil || !strings.Contains(err.Error(), "'log file@/nonexistent-dir/access.log': cannot open log file") {
		t.Errorf("error %v", err)
	}
}

// TestDroppedTotal: the process-wide count ("show info" DroppedLogs) adds
// every Logger's drops.
func TestDroppedTotal(t *testing.T) {
	defer func(n int) { queueLen = n }(queueLen)
	queueLen = 1
	r, addr := pipeFD(t)
	defer r.Close()
	before := DroppedTotal()
	l := mustLogger(t, "", "", spec{address: addr, format: "raw", facility: "local0"})
	// Fill the pipe so the writer blocks, then overflow the queue.
	big := []byte(strings.Repeat("x", 60000))
	for range 200 {
		l.Send(LevelInfo, big)
	}
	if l.Dropped() == 0 || DroppedTotal()-before < l.Dropped() {
		t.Errorf("logger dropped %d, process total grew by %d", l.Dropped(), DroppedTotal()-before)
	}
	closeWriteEnd(addr)
}
