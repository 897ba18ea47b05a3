package runtimeapi

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/backend"
	"dhproxy/internal/config"
	"dhproxy/internal/model"
	"dhproxy/internal/stats"
	"dhproxy/internal/stream"
)

// start runs a small configuration with a stats socket at the given level.
func start(t testing.TB, level string) (sock string, rt *stream.Runtime) {
	t.Helper()
	return startWith(t, level, "", "")
}

// startWith adds feLines to the frontend and sections after the backend.
func startWith(t testing.TB, level, feLines, sections string) (sock string, rt *stream.Runtime) {
	t.Helper()
	dir := t.TempDir()
	sock = filepath.Join(dir, "api.sock")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	text := "global\n    stats socket " + sock + " mode 600 level " + level + "\n    stats timeout 2s\n" +
		"defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" +
		"frontend fe\n    bind 127.0.0.1:" + port + "\n    default_backend be\n" + feLines +
		"backend be\n    server s1 127.0.0.1:1 weight 10\n    server s2 127.0.0.1:2\n" + sections
	path := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(path, []byte(text), 0o644)
	var d config.Diags
	cfg := model.Build(config.Load([]string{path}, func(string) (string, bool) { return "", false }, &d), &d)
	if cfg == nil {
		t.Fatal("config refused")
	}
	rt, err = stream.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	api, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	api.Serve(&stats.Source{RT: rt, Name: "dhproxy", Version: "t", Start: time.Now()})
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	return sock, rt
}

func send(t testing.TB, sock, input string) string {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, input)
	out, _ := io.ReadAll(c)
	return string(out)
}

func TestCommandsAndErrors(t *testing.T) {
	sock, rt := start(t, "admin")
	for _, c := range []struct{ in, want string }{
		{"get weight be/s1\n", "10 (initial 10)\n\n"},
		{"set weight be/s1 50%\n", "\n"},
		{"get weight be/s1\n", "5 (initial 10)\n\n"},
		{"set server be/s1 weight 300\n", "Absolute weight can only be between 0 and 256 inclusive.\n\n"},
		{"set server be/s1 weight 10; get weight be/s1\n", "\n10 (initial 10)\n\n"},
		{"disable server be\n", "Require 'backend/server'.\n\n"},
		{"disable server nope/s1\n", "No such backend.\n\n"},
		{"disable server be/nope\n", "No such server.\n\n"},
		{"show servers state nope\n", "Can't find backend.\n\n"},
		{"set server be/s1\n", setServerUsage + "\n"},
		{"show cli level\n", "admin\n\n"},
		{"operator; show cli level; disable server be/s1\n", "\noperator\n\nPermission denied\n\n"},
	} {
		if got := send(t, sock, c.in); got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
	s1 := rt.FindServer("be", "s1")
	send(t, sock, "set server be/s1 state maint\n")
	if s1.Up() || s1.AdminState()&backend.AdminMaint == 0 {
		t.Errorf("maint: up %v admin %x", s1.Up(), s1.AdminState())
	}
	if got := send(t, sock, "show servers state be\n"); !strings.Contains(got, "\n3 be 1 s1 127.0.0.1 0 1 10 10 ") {
		t.Errorf("show servers state after maint:\n%s", got)
	}
	send(t, sock, "set server be/s1 state drain\n")
	if !s1.Up() || !s1.Draining() {
		t.Errorf("drain: up %v draining %v", s1.Up(), s1.Draining())
	}
	send(t, sock, "set server be/s1 state ready\n")
	if !s1.Up() || s1.Draining() || s1.AdminState() != 0 {
		t.Errorf("ready: up %v draining %v admin %x", s1.Up(), s1.Draining(), s1.AdminState())
	}
	if got := send(t, sock, "show stat -1 4 -1\n"); strings.Count(got, "\nbe,s") != 2 || strings.Contains(got, "FRONTEND") {
		t.Errorf("show stat servers only:\n%s", got)
	}
	if got := send(t, sock, "show stat be 2 -1 typed\n"); !strings.HasPrefix(got, "B.3.0.0.pxname.1:KNS:str:be\n") {
		t.Errorf("show stat typed backend:\n%.200s", got)
	}
	send(t, sock, "disable server be/s2; enable server be/s2\n")
	if got := send(t, sock, "operator; clear counters all\n"); got != "\nPermission denied\n\n" {
		t.Errorf("operator clear counters all: %q", got)
	}
	rt.FindServer("be", "s2").Stats.Stot.Store(5)
	rt.FindServer("be", "s2").Stats.Smax.Store(3)
	send(t, sock, "clear counters\n")
	if st := &rt.FindServer("be", "s2").Stats; st.Smax.Load() != 0 || st.Stot.Load() != 5 {
		t.Errorf("clear counters: smax %d stot %d, want 0 and 5", st.Smax.Load(), st.Stot.Load())
	}
	send(t, sock, "clear counters all\n")
	if st := &rt.FindServer("be", "s2").Stats; st.Stot.Load() != 0 {
		t.Errorf("clear counters all: stot %d", st.Stot.Load())
	}
	if got := send(t, sock, "frobnicate\n"); !strings.HasPrefix(got, "Unknown command") {
		t.Errorf("unknown command: %q", got)
	}
}

func TestUserLevel(t *testing.T) {
	sock, _ := start(t, "user")
	if got := send(t, sock, "disable server be/s1\n"); got != "Permission denied\n\n" {
		t.Errorf("user level disable: %q", got)
	}
	if got := send(t, sock, "help\n"); strings.Contains(got, "disable server") || !strings.Contains(got, "show stat") {
		t.Errorf("user level help lists admin commands or misses show stat:\n%s", got)
	}
}

// TestPrompt: interactive mode keeps the connection, prints "> " after each
// reply, and quit ends it.
func TestPrompt(t *testing.T) {
	sock, _ := start(t, "admin")
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	io.WriteString(c, "prompt\n")
	expect := func(want string) {
		t.Helper()
		buf := make([]byte, len(want))
		if _, err := io.ReadFull(r, buf); err != nil || string(buf) != want {
			t.Fatalf("got %q (%v), want %q", buf, err, want)
		}
	}
	expect("\n> ")
	io.WriteString(c, "show cli level\n")
	expect("admin\n\n> ")
	io.WriteString(c, "get weight be/s2\n")
	expect("1 (initial 1)\n\n> ")
	io.WriteString(c, "quit\n")
	if rest, _ := io.ReadAll(r); len(rest) != 0 {
		t.Errorf("after quit: %q", rest)
	}
}

func TestSplitCommands(t *testing.T) {
	got := splitCommands(`show stat; get weight be/s1\;x;help`)
	want := []string{"show stat", " get weight be/s1;x", "help"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// FuzzCommands runs arbitrary command lines through a live session: no
// input may crash the process.
func FuzzCommands(f *testing.F) {
	for _, s := range []string{"show stat", "show stat 1 2 3 typed", "set server be/s1 weight 5%", "set weight be/s2 -1",
		"disable server be/s1;enable server be/s1", "set server be/s1 state drain", "show servers state be", "show info typed",
		"set server be/s1 health down", "get weight /", "show stat x y z", "prompt;quit", `a\;b`} {
		f.Add(s)
	}
	sock, _ := start(f, "admin")
	f.Fuzz(func(t *testing.T, line string) {
		line = strings.ReplaceAll(line, "\n", " ")
		send(t, sock, line+"\n")
	})
}

// FuzzCommandsObjects runs commands against a configuration that has the
// objects they act on (maps, ACL files, a stick table, a cache, resolvers,
// a backend taking dynamic servers), so that mutations reach past the
// "no such ..." answers.
func FuzzCommandsObjects(f *testing.F) {
	for _, s := range []string{"show map", "show map #0", "add map #0 k v", "set map #0 k w", "del map #0 k", "clear map #0",
		"show acl", "add acl #1 10.0.0.0/8", "del acl #1 #0", "show table st", "show table st data.gpc0 gt 0",
		"clear table st key 10.0.0.1", "show table st key 127.0.0.1", "add server dyn/n 127.0.0.1:4 weight 3",
		"del server dyn/n", "set server dyn/d1 addr 127.0.0.2 port 5", "set server dyn/d1 fqdn x", "show cache",
		"show resolvers", "show sess", "shutdown session 0", "show errors", "show events", "set maxconn frontend fe 3",
		"set rate-limit connections global 5", "show activity", "enable health dyn/d1", "show table"} {
		f.Add(s)
	}
	dir := f.TempDir()
	mapFile, aclFile := filepath.Join(dir, "m.map"), filepath.Join(dir, "a.acl")
	os.WriteFile(mapFile, []byte("example.com be\n# c\nk v\n"), 0o644)
	os.WriteFile(aclFile, []byte("127.0.0.1\n192.168.0.0/16\n"), 0o644)
	sock, _ := startWith(f, "admin",
		"    http-request set-var(txn.m) req.hdr(host),map("+mapFile+")\n"+
			"    http-request deny if { src -f "+aclFile+" }\n"+
			"    http-request track-sc0 src table st\n"+
			"    http-request cache-use c\n",
		"backend dyn\n    server d1 127.0.0.1:3\n"+
			"backend st\n    stick-table type ip size 100 expire 10s store gpc0,http_req_rate(10s),conn_cnt\n"+
			"cache c\n    total-max-size 1\n"+
			"resolvers r\n    nameserver ns 127.0.0.1:53\n")
	f.Fuzz(func(t *testing.T, line string) {
		line = strings.ReplaceAll(line, "\n", " ")
		send(t, sock, line+"\n")
	})
}
