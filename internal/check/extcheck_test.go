package check

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/model"
)

func extTarget(t *testing.T, script string) Target {
	dir := t.TempDir()
	path := filepath.Join(dir, "check.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	be := &model.Proxy{Name: "be", ID: 3, Mode: model.ModeTCP}
	be.Check.Kind, be.Check.ExtCommand, be.Check.ExtPath = "external-check", "check.sh", dir+":/usr/bin:/bin"
	return Target{Proxy: "be", Server: "s1", Backend: be, Conf: &model.Server{Name: "s1", ID: 4, Maxconn: 10}}
}

// Exit status 0 passes, another fails with its code, no exit in time is a
// timeout; the program finds itself through "external-check path".
func TestExternalCheckResults(t *testing.T) {
	for _, c := range []struct {
		script string
		status Status
		code   int
	}{
		{"exit 0\n", StatusPROCOK, 0},
		{"exit 7\n", StatusPROCERR, 7},
		{"exec sleep 5\n", StatusPROCTOUT, 0},
	} {
		e := newExtCheck(extTarget(t, c.script), 300*time.Millisecond)
		start := time.Now()
		r := e.run(context.Background(), "127.0.0.1:80", 2)
		if r.Status != c.status || r.Code != c.code || time.Since(start) > 2*time.Second {
			t.Errorf("%q: %v code %d after %v, want %v code %d", c.script, r.Status, r.Code, time.Since(start), c.status, c.code)
		}
	}
}

// Without a bind the proxy arguments are NOT_USED and their variables
// empty; the server's come from the address checked.
func TestExternalCheckArgsAndEnv(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	e := newExtCheck(extTarget(t, `echo "$0 $*" > `+out+`; env | grep -v '^PWD=' | sort >> `+out+"\n"), time.Second)
	if r := e.run(context.Background(), "[::1]:8080", 2); r.Status != StatusPROCOK {
		t.Fatalf("%+v", r)
	}
	b, _ := os.ReadFile(out)
	want := []string{"check.sh NOT_USED NOT_USED ::1 8080",
		"HAPROXY_PROXY_ADDR=", "HAPROXY_PROXY_ID=3", "HAPROXY_PROXY_NAME=be", "HAPROXY_PROXY_PORT=",
		"HAPROXY_SERVER_ADDR=::1", "HAPROXY_SERVER_CURCONN=2", "HAPROXY_SERVER_ID=4", "HAPROXY_SERVER_MAXCONN=10",
		"HAPROXY_SERVER_NAME=s1", "HAPROXY_SERVER_PORT=8080", "HAPROXY_SERVER_PROTO=tcp", "HAPROXY_SERVER_SSL=0"}
	got := strings.Split(strings.TrimSpace(string(b)), "\n")
	if !strings.HasSuffix(got[0], want[0]) {
		t.Errorf("arguments %q", got[0])
	}
	if strings.Join(got[1:min(len(got), len(want))], "\n") != strings.Join(want[1:], "\n") {
		t.Errorf("environment\n%s", b)
	}
}

// A UNIX socket server's program gets its path, and NOT_USED for its port
// as haproxy 2.6 passes it (the port's variable empty).
func TestExternalCheckUnixSocket(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	e := newExtCheck(extTarget(t, `echo "$3|$4|$HAPROXY_SERVER_ADDR|$HAPROXY_SERVER_PORT" > `+out+"\n"), time.Second)
	if r := e.run(context.Background(), unixPrefix+"/run/app.sock:80", 0); r.Status != StatusPROCOK {
		t.Fatalf("%+v", r)
	}
	if b, _ := os.ReadFile(out); string(b) != "/run/app.sock:80|NOT_USED|/run/app.sock:80|\n" {
		t.Errorf("got %q", b)
	}
}
