package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startVRRPNode runs a VRRP daemon inside a lab host: "dhproxy" (this
// project's binary, `dhproxy vrrp -f conf`) or "keepalived" (Debian's, as
// the reference). Both stop at cleanup; killNode stops them sooner.
func startVRRPNode(t *testing.T, l *lab, host, kind, conf string) *proc {
	t.Helper()
	path := l.writeFile("keepalived.conf", conf)
	if kind == "keepalived" {
		dir := t.TempDir()
		return l.start(host, "keepalived", "-n", "-l", "-D", "--vrrp", "-f", path,
			"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
	}
	return l.start(host, bin, "vrrp", "-f", path)
}

// killNode SIGKILLs every process inside a lab host, as a power cut would.
func killNode(t *testing.T, l *lab, host string) {
	t.Helper()
	out, _ := exec.Command("ip", "netns", "pids", l.ns(host)).Output()
	for _, f := range strings.Fields(string(out)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// dbConf is the classic keepalived.conf of a MySQL primary/replica pair: both
// nodes start as BACKUP with nopreempt, a vrrp_script pings the local server
// (a failing script with no weight puts the instance in FAULT), and the
// replica promotes itself when it becomes master.
func dbConf(router string, prio int, sock, vip, notifyMaster string) string {
	notify := ""
	if notifyMaster != "" {
		notify = fmt.Sprintf("    notify_master %q\n", notifyMaster)
	}
	return fmt.Sprintf(`global_defs {
    router_id %s
}
vrrp_script chk_mysql {
    script "/usr/bin/mariadb-admin --no-defaults -S %s -u root --connect-timeout=1 ping"
    interval 1
    timeout 2
    fall 2
    rise 1
}
vrrp_instance VI_DB {
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority %d
    advert_int 1
    nopreempt
    authentication {
        auth_type PASS
        auth_pass dbpass
    }
    virtual_ipaddress {
        %s/24 dev eth0
    }
    track_script {
        chk_mysql
    }
%s}
`, router, sock, prio, vip, notify)
}

// The keepalived + MySQL setup: a virtual IP in front of a MariaDB primary
// and its replica. When the primary's node dies, or only its mariadbd (the
// track_script fails, the instance goes to FAULT), the VIP moves to the
// replica, which promotes itself, and a client using the VIP goes on
// working.
func TestMySQLFailoverVIP(t *testing.T) {
	for _, kind := range []string{"dhproxy", "keepalived"} {
		for _, death := range []string{"node", "mysqld"} {
			t.Run(kind+"/"+death, func(t *testing.T) { mysqlFailover(t, kind, death) })
		}
	}
}

func mysqlFailover(t *testing.T, kind, death string) {
	if kind == "keepalived" {
		if _, err := exec.LookPath("keepalived"); err != nil {
			t.Fatal("keepalived not installed (scripts/install-test-deps.sh installs it)")
		}
	}
	l := newVLab(t, "client", "db1", "db2")
	vip := "10.213.0.100"
	primary := startMariaDBWith(t, mariadbOpts{Netns: l.ns("db1"), ServerID: 1})
	replica := startMariaDBWith(t, mariadbOpts{Netns: l.ns("db2"), ServerID: 2, Extra: []string{"--read-only"}})

	primary.root(t, `SET sql_log_bin=0; CREATE USER 'repl'@'%' IDENTIFIED BY 'replpass'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';`)
	replica.root(t, fmt.Sprintf(`CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=3306, MASTER_USER='repl',
MASTER_PASSWORD='replpass', MASTER_USE_GTID=slave_pos; START SLAVE;`, l.addr["db1"]))

	promote := filepath.Join(t.TempDir(), "promote.sh")
	script := fmt.Sprintf("#!/bin/sh\nexec /usr/bin/mariadb --no-defaults -S %s -u root -e 'STOP SLAVE; SET GLOBAL read_only=0;'\n", replica.sock)
	if err := os.WriteFile(promote, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// With nopreempt the node whose timer ends first keeps the VIP: on a
	// loaded machine a slow start of db1 handed it to db2, so db1 becomes
	// master before db2 starts.
	node1 := startVRRPNode(t, l, "db1", kind, dbConf("db1", 150, primary.sock, vip, ""))
	l.waitHolder(vip, "db1", []string{"db1", "db2"}, 15*time.Second, node1)
	node2 := startVRRPNode(t, l, "db2", kind, dbConf("db2", 100, replica.sock, vip, promote))
	l.waitHolder(vip, "db1", []string{"db1", "db2"}, 15*time.Second, node1, node2)

	sql := func(q string) (string, error) {
		out, err := l.output("client", "mariadb", "--no-defaults", "--batch", "--skip-column-names",
			"--connect-timeout=1", "-h", vip, "-u", dbUser, "-p"+dbPass, "-e", q)
		return strings.TrimSpace(out), err
	}
	if out, err := sql(`CREATE DATABASE app; CREATE TABLE app.orders(id INT PRIMARY KEY, node VARCHAR(64));
INSERT INTO app.orders VALUES (1, @@hostname), (2, @@server_id);`); err != nil {
		t.Fatalf("writing through the VIP: %v\n%s", err, out)
	}
	// The rows reach the replica before the primary dies.
	deadline := time.Now().Add(15 * time.Second)
	for replica.root(t, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='app'") == "COUNT(*)\n0\n" ||
		!strings.HasSuffix(replica.root(t, "SELECT COUNT(*) FROM app.orders"), "\n2\n") {
		if time.Now().After(deadline) {
			t.Fatalf("rows not replicated after 15s:\n%s", replica.root(t, "SHOW SLAVE STATUS\\G"))
		}
		time.Sleep(100 * time.Millisecond)
	}

	killed := time.Now()
	if death == "node" {
		killNode(t, l, "db1")
	} else {
		primary.kill()
	}
	var out string
	var err error
	for {
		out, err = sql("INSERT INTO app.orders VALUES (3, @@server_id); SELECT COUNT(*), @@server_id FROM app.orders;")
		if err == nil {
			break
		}
		if time.Since(killed) > 20*time.Second {
			t.Fatalf("no write through the VIP 20s after the primary died: %v\n%s\nreplica node log:\n%s", err, out, node2.Stderr())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%s: writes through the VIP work again %.1fs after the primary's %s was killed", kind, time.Since(killed).Seconds(), death)
	if out != "3\t2" {
		t.Errorf("after failover got %q, want 3 rows served by server_id 2", out)
	}
	if !l.hasAddr("db2", vip) {
		t.Error("the replica's node does not hold the VIP")
	}
}
