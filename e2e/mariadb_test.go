package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MariaDB user created for the tests (real password auth over TCP).
const (
	dbUser = "dh"
	dbPass = "dh-secret"
)

// findMariaDB returns the mariadbd path, or "" if it is not installed.
func findMariaDB() string {
	if p, err := exec.LookPath("mariadbd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/mariadbd"); err == nil { // sbin may be off PATH
		return "/usr/sbin/mariadbd"
	}
	return ""
}

// startMariaDB bootstraps a private MariaDB data dir in a temp dir, runs
// mariadbd on a free loopback port and creates user dh@% with a password.
// The test is skipped only when mariadbd is missing outside CI.
func startMariaDB(t *testing.T) (port int) {
	return startMariaDBWith(t, mariadbOpts{}).port
}

// mariadbOpts places a MariaDB server: by default on a free loopback port;
// with Netns inside that network namespace, listening on every address.
type mariadbOpts struct {
	Netns    string   // run inside this namespace (ip netns exec)
	ServerID int      // > 0: binary log on, for replication
	Extra    []string // more mariadbd options
}

// mariadbNode is a running mariadbd.
type mariadbNode struct {
	port int
	sock string // root may connect here without a password
	cmd  *exec.Cmd
	done chan struct{}
	logs *syncBuffer
}

// kill stops the server at once, as a crash or a dead host would.
func (n *mariadbNode) kill() {
	n.cmd.Process.Kill()
	<-n.done
}

// root runs SQL as root over the unix socket.
func (n *mariadbNode) root(t *testing.T, sql string) string {
	t.Helper()
	out, err := mariadbClient(t, sql, "-S", n.sock, "-u", "root")
	if err != nil {
		t.Fatalf("SQL as root: %v\n%s\nserver log:\n%s", err, out, n.logs.String())
	}
	return out
}

func startMariaDBWith(t *testing.T, o mariadbOpts) *mariadbNode {
	t.Helper()
	mariadbd := findMariaDB()
	if mariadbd == "" {
		if os.Getenv("CI") == "" {
			t.Skip("mariadbd not installed (run scripts/install-test-deps.sh)")
		}
		t.Fatal("mariadbd not installed in CI")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	n := &mariadbNode{sock: filepath.Join(dir, "sock"), done: make(chan struct{}), logs: &syncBuffer{}}

	// mariadbd refuses to run as root unless told to; harmless otherwise.
	userArgs := []string{}
	if os.Geteuid() == 0 {
		userArgs = []string{"--user=root"}
	}
	install := exec.Command("mariadb-install-db", append([]string{"--no-defaults",
		"--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db"}, userArgs...)...)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}

	bind := "127.0.0.1"
	n.port = 3306
	if o.Netns == "" {
		n.port = freePort(t)
	} else {
		bind = "0.0.0.0" // also on a virtual IP that comes and goes
	}
	args := append([]string{"--no-defaults",
		"--datadir=" + data, "--socket=" + n.sock, "--pid-file=" + filepath.Join(dir, "pid"),
		"--tmpdir=" + dir, "--port=" + strconv.Itoa(n.port), "--bind-address=" + bind,
		// Without name resolution 127.0.0.1 is not "localhost", so the
		// client always matches dh@% rather than a localhost account.
		"--skip-name-resolve", "--innodb-buffer-pool-size=32M"}, userArgs...)
	if o.ServerID > 0 {
		args = append(args, "--server-id="+strconv.Itoa(o.ServerID),
			"--log-bin="+filepath.Join(dir, "binlog"), "--log-basename=db"+strconv.Itoa(o.ServerID))
	}
	args = append(args, o.Extra...)
	if o.Netns != "" {
		n.cmd = exec.Command("ip", append([]string{"netns", "exec", o.Netns, mariadbd}, args...)...)
	} else {
		n.cmd = exec.Command(mariadbd, args...)
	}
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(20 * time.Second): // InnoDB shutdown can be slow
			n.kill()
		}
	})

	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(n.sock); err == nil {
			if _, err := mariadbClient(t, "", "-S", n.sock, "-u", "root", "-e", "SELECT 1"); err == nil {
				break
			}
		}
		select {
		case <-n.done:
			t.Fatalf("mariadbd exited early:\n%s", n.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mariadbd not ready after 60s:\n%s", n.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// root has no password and may use the socket; create the TCP user.
	// Out of the binary log: a replica has its own.
	n.root(t, fmt.Sprintf("SET sql_log_bin=0; CREATE USER '%s'@'%%' IDENTIFIED BY '%s'; GRANT ALL ON *.* TO '%s'@'%%';", dbUser, dbPass, dbUser))
	return n
}

// mariadbClient runs the mariadb command-line client in batch mode; SQL
// comes from -e in args or from stdin (for statements too big for argv).
func mariadbClient(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "mariadb", append([]string{"--no-defaults", "--batch"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		return o.String() + e.String(), err
	}
	return o.String(), nil
}

func TestTCPModeMariaDB(t *testing.T) {
	dbPort := startMariaDB(t)
	port := freePort(t)
	startProxy(t, `
global
    maxconn 100`+defaultsSection("tcp", "5s", "30s", "30s")+fmt.Sprintf(`
listen mysql
    bind 127.0.0.1:%d
    server db1 127.0.0.1:%d
`, port, dbPort), port)

	// SQL goes through stdin: a single argv string is capped at 128 KiB.
	viaProxy := func(sql string) (string, error) {
		return mariadbClient(t, sql, "-h", "127.0.0.1", "-P", strconv.Itoa(port),
			"-u", dbUser, "-p"+dbPass)
	}

	out, err := viaProxy(`CREATE DATABASE t; CREATE TABLE t.x(a INT, b VARCHAR(20));
INSERT INTO t.x VALUES (1,'one'),(2,'two'),(3,'three');
SELECT a, b FROM t.x ORDER BY a;`)
	if err != nil {
		t.Fatalf("queries via proxy: %v\n%s", err, out)
	}
	if want := "a\tb\n1\tone\n2\ttwo\n3\tthree\n"; out != want {
		t.Errorf("SELECT output %q, want %q", out, want)
	}

	// A 1 MiB row streamed back through the proxy, then another query on
	// the same connection.
	const big = 1 << 20
	out, err = viaProxy(fmt.Sprintf(`SELECT LENGTH(s), MD5(s) = MD5(REPEAT('abcdefgh', %d)), s FROM (SELECT REPEAT('abcdefgh', %d) AS s) q;
SELECT COUNT(*) FROM t.x;`, big/8, big/8))
	if err != nil {
		t.Fatalf("big select via proxy: %v\n%.500s", err, out)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 4 {
		t.Fatalf("big select: %d lines: %.500q", len(lines), out)
	}
	row := strings.SplitN(lines[1], "\t", 3)
	if len(row) != 3 || row[0] != strconv.Itoa(big) || row[1] != "1" || row[2] != strings.Repeat("abcdefgh", big/8) {
		t.Errorf("big row mismatch (got %d bytes in line)", len(lines[1]))
	}
	if lines[2] != "COUNT(*)" || lines[3] != "3" {
		t.Errorf("trailing query lines %q", lines[2:])
	}

	// ~1.5 MB uploaded in one statement (client→server streaming), checked
	// server-side.
	blob := strings.Repeat("0123456789abcdef", 96<<10)
	out, err = viaProxy(fmt.Sprintf(`CREATE TABLE t.y(v LONGTEXT);
INSERT INTO t.y VALUES ('%s');
SELECT LENGTH(v), MD5(v) FROM t.y;`, blob))
	if err != nil {
		t.Fatalf("big insert via proxy: %v\n%.500s", err, out)
	}
	if want := fmt.Sprintf("LENGTH(v)\tMD5(v)\n%d\t%x\n", len(blob), md5.Sum([]byte(blob))); out != want {
		t.Errorf("big insert: got %q, want %q", out, want)
	}

	// Bad credentials must be refused by the server, through the proxy.
	if out, err := mariadbClient(t, "", "-h", "127.0.0.1", "-P", strconv.Itoa(port),
		"-u", dbUser, "-pwrong", "-e", "SELECT 1"); err == nil || !strings.Contains(out, "Access denied") {
		t.Errorf("wrong password: err %v, out %q", err, out)
	}
}
