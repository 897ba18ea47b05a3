package e2e

// option mysql-check against a real MariaDB: the check logs in as a
// passwordless user (or only reads the greeting), a wrong user fails with
// MySQL's own error text, and a stopped server fails at Layer4.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mysqlAdmin runs SQL on the server as the helper's privileged TCP user.
func mysqlAdmin(t *testing.T, dbPort int, sql string) {
	t.Helper()
	out, err := mariadbClient(t, "", "-h", "127.0.0.1", "-P", strconv.Itoa(dbPort),
		"-u", dbUser, "-p"+dbPass, "-e", sql)
	if err != nil {
		t.Fatalf("%s: %v\n%s", sql, err, out)
	}
}

// hcLineRe is hcLine with a regexp (already quoted where needed) standing
// for the info text.
func hcLineRe(tag, before, infoRe, after string) string {
	return strings.TrimSuffix(hcLine(tag, before), "$") + infoRe + strings.TrimPrefix(hcLine(tag, after), `(?m)^\[`+tag+`\]\s+\(\d+\) : `)
}

func TestMySQLCheck(t *testing.T) {
	dbPort := startMariaDB(t)
	// The check sends no password; with --skip-name-resolve the account
	// must name the address.
	mysqlAdmin(t, dbPort, "CREATE USER 'haproxy'@'127.0.0.1'")
	dead := freePort(t)
	port := freePort(t)
	srv := func(p int, rise, fall int) string {
		return fmt.Sprintf("    server db 127.0.0.1:%d check inter 300 rise %d fall %d\n", p, rise, fall)
	}
	cfg := defaultsSection("tcp", "1s", "5s", "5s") + fmt.Sprintf(`
frontend f
    bind 127.0.0.1:%d
    default_backend be
backend be
    option mysql-check user haproxy
%sbackend logged
    option mysql-check user haproxy post-41
    option log-health-checks
%sbackend greet
    option mysql-check
    option log-health-checks
%sbackend wrong
    option mysql-check user nobody
%sbackend dead
    option mysql-check user haproxy
%s`, port, srv(dbPort, 1, 1), srv(dbPort, 2, 2), srv(dbPort, 2, 2), srv(dbPort, 1, 1), srv(dead, 1, 1))
	p := startProxy(t, cfg, port)

	const version = `"[0-9][^"]*MariaDB[^"]*"`
	// A login that the server accepts, and a bare greeting, pass at Layer7
	// with the server version as info.
	hcWaitStderr(t, p, hcLineRe("WARNING", `Health check for server logged/db succeeded, reason: Layer7 check passed, code: 0, info: `,
		version, `, check duration: Nms, status: 2/2 UP.`), 5*time.Second)
	hcWaitStderr(t, p, hcLineRe("WARNING", `Health check for server greet/db succeeded, reason: Layer7 check passed, code: 0, info: `,
		version, `, check duration: Nms, status: 2/2 UP.`), 5*time.Second)
	// An unknown user: MySQL's error number and message, SQL state included.
	hcWaitStderr(t, p, hcLine("WARNING", `Server wrong/db is DOWN, reason: Layer7 wrong status, code: 1045, info: "#28000Access denied for user 'nobody'@'127.0.0.1' (using password: NO)", check duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
	hcWaitStderr(t, p, hcLine("WARNING", `Server dead/db is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)

	// Several more checks at rise 1 fall 1: any failure would take be/db down.
	time.Sleep(1500 * time.Millisecond)
	if m := regexp.MustCompile(`(?m)^.*(be|logged|greet)/db is DOWN.*$`).FindString(p.Stderr()); m != "" {
		t.Fatalf("a server that MariaDB accepts went down: %s\nstderr:\n%s", m, p.Stderr())
	}

	// Stop MariaDB: the next check is refused.
	mysqlAdmin(t, dbPort, "SHUTDOWN")
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/db is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
	hcWaitStderr(t, p, hcLine("ALERT", `backend 'be' has no server available!`), time.Second)
	t.Logf("stderr:\n%s", p.Stderr())
}
