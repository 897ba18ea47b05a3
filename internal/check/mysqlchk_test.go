package check

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"dhproxy/internal/model"
)

// The packets HAProxy 2.6's tcpcheck.c sends for "user haproxy" (its
// mysql41_req and mysql40_req templates with the header filled in).
func TestMySQLAuthPacket(t *testing.T) {
	post41 := []byte("\x29\x00\x00\x01" + "\x00\x82\x00\x00" + "\x00\x80\x00\x01" + "\x21" +
		string(make([]byte, 23)) + "haproxy\x00" + "\x00" + "\x01\x00\x00\x00\x01")
	if got := mysqlAuthPacket("haproxy", false); !bytes.Equal(got, post41) {
		t.Errorf("post-41:\n got %q\nwant %q", got, post41)
	}
	pre41 := []byte("\x0e\x00\x00\x01" + "\x00\x80" + "\x00\x00\x01" + "haproxy\x00" + "\x00" + "\x01\x00\x00\x00\x01")
	if got := mysqlAuthPacket("haproxy", true); !bytes.Equal(got, pre41) {
		t.Errorf("pre-41:\n got %q\nwant %q", got, pre41)
	}
}

func mysqlPacket(seq byte, body string) string {
	n := len(body)
	return string([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}) + body
}

var (
	mysqlGreeting = mysqlPacket(0, "\x0a5.5.5-10.11.6-MariaDB\x00\x01\x00\x00\x00abcdefgh\x00\xfe\xf7\x2d\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00ijklmnopqrst\x00mysql_native_password\x00")
	mysqlOK       = mysqlPacket(2, "\x00\x00\x00\x02\x00\x00\x00")
	mysqlDenied   = mysqlPacket(2, "\xff\x15\x04#28000Access denied for user 'x'@'127.0.0.1' (using password: NO)")
	mysqlHostErr  = mysqlPacket(0, "\xff\x6a\x04Host '127.0.0.1' is not allowed to connect to this MariaDB server")
)

// mysqlServer sends the greeting, then, once the client's packet has come,
// reply; it records what the client sent.
func mysqlServer(t *testing.T, greeting, reply string, got chan<- []byte) string {
	return rawServer(t, func(c net.Conn) {
		defer c.Close()
		c.Write([]byte(greeting))
		if reply == "" {
			io.Copy(io.Discard, c)
			return
		}
		buf := make([]byte, 512)
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := c.Read(buf)
		if got != nil {
			got <- buf[:n]
		}
		c.Write([]byte(reply))
	})
}

func runMySQL(t *testing.T, addr string, opts model.CheckOpts) Result {
	t.Helper()
	return runMySQLWithin(t, addr, opts, 500*time.Millisecond)
}

// runMySQLWithin is runMySQL with the check's time limit (its inter).
func runMySQLWithin(t *testing.T, addr string, opts model.CheckOpts, inter time.Duration) Result {
	t.Helper()
	opts.Kind = "mysql-check"
	be := &model.Proxy{Options: map[string]bool{"mysql-check": true}, Check: opts}
	res, ok := compile(be, false).run(context.Background(), addr, timing{inter: inter}, runEnv{})
	if !ok {
		t.Fatal("check aborted")
	}
	return res
}

func TestMySQLCheckResults(t *testing.T) {
	user := model.CheckOpts{MySQLUser: "haproxy"}
	sent := make(chan []byte, 1)
	cases := []struct {
		name             string
		addr             string
		opts             model.CheckOpts
		status           Status
		code             int
		info             string
		wantAuthSentWith bool
	}{
		{"greeting only", mysqlServer(t, mysqlGreeting, "", nil), model.CheckOpts{}, StatusL7OK, 0, "5.5.5-10.11.6-MariaDB", false},
		{"login accepted", mysqlServer(t, mysqlGreeting, mysqlOK, sent), user, StatusL7OK, 0, "5.5.5-10.11.6-MariaDB", true},
		{"login denied", mysqlServer(t, mysqlGreeting, mysqlDenied, nil), user, StatusL7STS, 1045, "#28000Access denied for user 'x'@'127.0.0.1' (using password: NO)", false},
		{"host refused", mysqlServer(t, mysqlHostErr, "", nil), model.CheckOpts{}, StatusL7STS, 1130, "Host '127.0.0.1' is not allowed to connect to this MariaDB server", false},
		{"host refused with user", mysqlServer(t, mysqlHostErr, "", nil), user, StatusL7STS, 1130, "Host '127.0.0.1' is not allowed to connect to this MariaDB server", false},
		{"truncated greeting", rawServer(t, func(c net.Conn) { c.Write([]byte(mysqlGreeting[:20])); c.Close() }), model.CheckOpts{}, StatusL7RSP, 0, "", false},
		// Step numbers count HAProxy's explicit connect rule (checked
		// against haproxy 2.6 for the login case).
		{"closed at once", rawServer(t, func(c net.Conn) { c.Close() }), model.CheckOpts{}, StatusL7RSP, 0, "TCPCHK got an empty response at step 2", false},
		{"closed after the login, no reply", rawServer(t, func(c net.Conn) { c.Read(make([]byte, 512)); c.Close() }), user, StatusL7RSP, 0, "TCPCHK got an empty response at step 3", false},
		{"no reply to login", mysqlServer(t, mysqlGreeting, "", nil), user, StatusL7TOUT, 0, "", false},
		{"silent", blackHole(t), model.CheckOpts{}, StatusL7TOUT, 0, "", false},
		{"refused", closedPort(t), user, StatusL4CON, 0, "Connection refused", false},
	}
	for _, c := range cases {
		res := runMySQL(t, c.addr, c.opts)
		if res.Status != c.status || res.Code != c.code || res.Info != c.info {
			t.Errorf("%s: %v code %d info %q, want %v code %d info %q", c.name, res.Status, res.Code, res.Info, c.status, c.code, c.info)
		}
		if c.wantAuthSentWith {
			if got := <-sent; !bytes.Equal(got, mysqlAuthPacket("haproxy", false)) {
				t.Errorf("%s: server got %q", c.name, got)
			}
		}
	}
}

// The greeting and the reply may arrive in one read, or byte by byte.
func TestMySQLCheckSplitReads(t *testing.T) {
	for _, chunk := range []int{1, 3, 1000} {
		addr := rawServer(t, func(c net.Conn) {
			defer c.Close()
			all := mysqlGreeting + mysqlOK
			for i := 0; i < len(all); i += chunk {
				c.Write([]byte(all[i:min(i+chunk, len(all))]))
				time.Sleep(time.Millisecond)
			}
			io.Copy(io.Discard, c)
		})
		// ~100 one-millisecond pauses: leave a loaded machine time for them.
		if res := runMySQLWithin(t, addr, model.CheckOpts{MySQLUser: "haproxy"}, 10*time.Second); res.Status != StatusL7OK {
			t.Errorf("chunks of %d: %v %q", chunk, res.Status, res.Info)
		}
	}
}

func TestCompileLastCheckWins(t *testing.T) {
	be := &model.Proxy{Options: map[string]bool{"httpchk": true, "mysql-check": true}, Check: model.CheckOpts{Kind: "mysql-check"}}
	if rs := compile(be, false); rs.rules[len(rs.rules)-1].kind != ruleExpectMySQL {
		t.Errorf("mysql-check last: %+v", rs.rules)
	}
	be.Check.Kind = "httpchk"
	if rs := compile(be, false); rs.rules[len(rs.rules)-1].kind != ruleExpectHTTPRule {
		t.Errorf("httpchk last: %+v", rs.rules)
	}
}

func TestCompileUnimplementedLast(t *testing.T) {
	be := &model.Proxy{Options: map[string]bool{"mysql-check": true, "external-check": true}, Check: model.CheckOpts{Kind: "external-check"}}
	if rs := compile(be, false); len(rs.rules) != 1 || rs.rules[0].kind != ruleConnect {
		t.Errorf("external-check last: %+v", rs.rules)
	}
}
