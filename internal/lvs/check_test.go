package lvs

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/config/keepalived"
)

func realAt(t *testing.T, addr string) *Real {
	ap := netip.MustParseAddrPort(addr)
	return &Real{Name: Trio(ap.Addr(), "tcp", ap.Port()), Addr: ap, Weight: 1}
}

func tcpCheck(retry int) *keepalived.Check {
	return &keepalived.Check{Kind: "TCP_CHECK", ConnectTimeout: time.Second, Retry: retry, DelayBeforeRetry: 7 * time.Millisecond}
}

// TestTCPCheckRetries: a failure is retried `retry` times (after
// delay_before_retry) before the checker goes down; one success brings it
// back, with keepalived's log lines.
func TestTCPCheckRetries(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ck := newChecker(tcpCheck(2), realAt(t, addr), "tcp", 50*time.Millisecond, false)
	ctx := context.Background()
	d, tr := ck.step(ctx)
	if tr == nil || !tr.up || tr.log != "TCP connection to ["+strings.Replace(addr, ":", "]:tcp:", 1)+" success." || d != 50*time.Millisecond {
		t.Fatalf("first success: %v %+v", d, tr)
	}
	if _, tr := ck.step(ctx); tr != nil {
		t.Fatalf("still up: no transition, got %+v", tr)
	}
	l.Close()
	for i := range 2 {
		d, tr := ck.step(ctx)
		if tr != nil || d != 7*time.Millisecond {
			t.Fatalf("failure %d must be retried after delay_before_retry: %v %+v", i+1, d, tr)
		}
	}
	d, tr = ck.step(ctx)
	want := fmt.Sprintf("TCP_CHECK on service %s failed after 2 retries.", ck.name)
	if tr == nil || tr.up || tr.log != want || tr.alert != "=> TCP CHECK failed on service <=" || d != 50*time.Millisecond {
		t.Fatalf("third failure: %v %+v, want %q", d, tr, want)
	}
}

// TestHTTPGetCheck: status_code ranges and the MD5 digest of the body.
func TestHTTPGetCheck(t *testing.T) {
	body := "hello from web1\n"
	sum := md5.Sum([]byte(body))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") != "KeepAliveClient" {
			w.WriteHeader(400)
		}
		if r.URL.Path == "/missing" {
			w.WriteHeader(404)
		}
		fmt.Fprint(w, body)
	})}
	go srv.Serve(l)
	defer srv.Close()
	rs := realAt(t, l.Addr().String())
	for _, c := range []struct {
		url  keepalived.URL
		ok   bool
		line string
	}{
		{keepalived.URL{Path: "/", StatusCodes: [][2]int{{200, 299}}}, true, "HTTP status code success to"},
		{keepalived.URL{Path: "/missing", StatusCodes: [][2]int{{200, 299}}}, false, "HTTP_CHECK on service"},
		{keepalived.URL{Path: "/missing", StatusCodes: [][2]int{{404, 404}}}, true, "HTTP status code success to"},
		{keepalived.URL{Path: "/", Digest: hex.EncodeToString(sum[:])}, true, "MD5 digest success to"},
		{keepalived.URL{Path: "/", Digest: strings.Repeat("0", 32)}, false, "HTTP_CHECK on service"},
	} {
		conf := &keepalived.Check{Kind: "HTTP_GET", ConnectTimeout: time.Second, URLs: []keepalived.URL{c.url}}
		_, tr := newChecker(conf, rs, "tcp", time.Second, false).step(context.Background())
		if tr == nil || tr.up != c.ok || !strings.HasPrefix(tr.log, c.line) {
			t.Errorf("%+v: got %+v, want up=%v %q", c.url, tr, c.ok, c.line)
		}
	}
}

// TestMiscCheck: exit 0 up, 1 down, 2..255 up with weight exit-2 under
// misc_dynamic; a script past misc_timeout is killed and counts as down.
func TestMiscCheck(t *testing.T) {
	rs := realAt(t, "127.0.0.1:80")
	for _, c := range []struct {
		path    string
		dynamic bool
		up      bool
		weight  int
		log     string
	}{
		{"/bin/true", false, true, -1, "Misc check to [127.0.0.1] for [/bin/true] succeeded."},
		{"/bin/false", false, false, -1, "Misc check to [127.0.0.1] for [/bin/false] failed (exited with status 1)."},
		{"/bin/sh -c 'exit 7'", true, true, 5, "Misc check to [127.0.0.1] for [/bin/sh] succeeded."},
		{"/bin/sh -c 'exit 7'", false, false, -1, "Misc check to [127.0.0.1] for [/bin/sh] failed (exited with status 7)."},
		{"/bin/sleep 5", false, false, -1, "Misc check to [127.0.0.1] for [/bin/sleep] timed out."},
	} {
		conf := &keepalived.Check{Kind: "MISC_CHECK", MiscPath: c.path, MiscDynamic: c.dynamic, MiscTimeout: 300 * time.Millisecond}
		start := time.Now()
		_, tr := newChecker(conf, rs, "tcp", time.Second, false).step(context.Background())
		if tr == nil || tr.up != c.up || tr.weight != c.weight || tr.log != c.log {
			t.Errorf("%s: got %+v, want up=%v weight=%d %q", c.path, tr, c.up, c.weight, c.log)
		}
		if time.Since(start) > 3*time.Second {
			t.Errorf("%s: misc_timeout not enforced (%v)", c.path, time.Since(start))
		}
	}
}

func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{"/bin/true", `/bin/sh -c 'exit 3'`, `"a b" c`, `'unterminated`, "  spaced\targs  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range splitCommand(s) {
			if w == "" && !strings.ContainsAny(s, `"'`) {
				t.Fatalf("empty word from %q", s)
			}
		}
	})
}

// TestSSLGetCheck: SSL_GET speaks TLS (without verifying the certificate,
// as keepalived), sends SNI only with enable_sni, and fails on a real
// server that does not answer TLS.
func TestSSLGetCheck(t *testing.T) {
	sni := make(chan string, 4)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sni <- r.TLS.ServerName
		if r.URL.Path == "/missing" {
			w.WriteHeader(404)
		}
		fmt.Fprint(w, "ok\n")
	}))
	defer srv.Close()
	rs := realAt(t, strings.TrimPrefix(srv.URL, "https://"))
	for _, c := range []struct {
		path    string
		sni     bool
		sniName string
		up      bool
		wantSNI string
	}{
		{"/", false, "", true, ""},
		{"/", true, "", true, "www.example.com"},
		{"/", true, "health.example.com", true, "health.example.com"},
		{"/missing", false, "", false, ""},
	} {
		conf := &keepalived.Check{Kind: "SSL_GET", ConnectTimeout: time.Second, EnableSNI: c.sni, SNIName: c.sniName,
			URLs: []keepalived.URL{{Path: c.path, StatusCodes: [][2]int{{200, 299}}}}}
		ck := newChecker(conf, rs, "tcp", time.Second, false)
		ck.vhost = "www.example.com"
		_, tr := ck.step(context.Background())
		if tr == nil || tr.up != c.up {
			t.Errorf("%+v: got %+v", c, tr)
			continue
		}
		if got := <-sni; got != c.wantSNI {
			t.Errorf("%+v: server saw SNI %q, want %q", c, got, c.wantSNI)
		}
	}

	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok\n") }))
	defer plain.Close()
	conf := &keepalived.Check{Kind: "SSL_GET", ConnectTimeout: time.Second, URLs: []keepalived.URL{{Path: "/", StatusCodes: [][2]int{{200, 299}}}}}
	ck := newChecker(conf, realAt(t, strings.TrimPrefix(plain.URL, "http://")), "tcp", time.Second, false)
	if _, tr := ck.step(context.Background()); tr == nil || tr.up {
		t.Fatalf("SSL_GET against a plain HTTP server must fail, got %+v", tr)
	}
}

// TestMiscCheckUser: misc_path runs as the MISC_CHECK's user, and the
// config's user/group are resolved when the services are built.
func TestMiscCheckUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a script as another user needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no 'nobody' account on this machine")
	}
	cfg := fmt.Sprintf(`
virtual_server 127.0.0.1 80 {
    real_server 127.0.0.1 80 {
        MISC_CHECK {
            misc_path "/bin/sh -c 'test $(id -u) = %s'"
            user nobody
        }
    }
    real_server 127.0.0.2 80 {
        MISC_CHECK {
            misc_path "/bin/sh -c 'test $(id -u) = %s'"
        }
    }
}
`, nobody.Uid, nobody.Uid)
	svcs, err := Build(loadConf(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	for i, wantUp := range []bool{true, false} {
		r := svcs[0].Reals[i]
		ck := newChecker(r.Conf.Checks[0], r, "tcp", time.Second, false)
		ck.as = r.CheckAs[0]
		if _, tr := ck.step(context.Background()); tr == nil || tr.up != wantUp {
			t.Errorf("real server %s: got %+v, want up=%v", r.Name, tr, wantUp)
		}
	}

	bad := strings.Replace(cfg, "user nobody", "user no-such-user-here", 1)
	if _, err := Build(loadConf(t, bad)); err == nil || !strings.Contains(err.Error(), "keepalived.conf:4: MISC_CHECK") || !strings.Contains(err.Error(), "'no-such-user-here' does not exist") {
		t.Fatalf("unknown MISC_CHECK user: %v", err)
	}
}

// TestMiscCheckScriptSecurity: root running a misc_path others may write
// is warned about; with enable_script_security the checker is dropped.
func TestMiscCheckScriptSecurity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("script security applies to scripts run by root")
	}
	dir := filepath.Join(t.TempDir(), "open")
	os.Mkdir(dir, 0o777)
	os.Chmod(dir, 0o777)
	script := filepath.Join(dir, "check.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	for _, secure := range []bool{false, true} {
		global := "global_defs {\n    script_user root\n}\n"
		if secure {
			global = "global_defs {\n    script_user root\n    enable_script_security\n}\n"
		}
		svcs, err := Build(loadConf(t, global+"virtual_server 127.0.0.1 80 {\n    real_server 127.0.0.1 80 {\n        MISC_CHECK {\n            misc_path "+script+"\n        }\n    }\n}\n"))
		if err != nil {
			t.Fatal(err)
		}
		var logs []string
		rt := New(svcs, nil, Options{Logf: func(l string) { logs = append(logs, l) }})
		checkers := len(rt.svcs[0].reals[0].checkers)
		text := strings.Join(logs, "\n")
		if !strings.Contains(text, "unsafe permissions found for script") {
			t.Errorf("secure=%v: no warning in %q", secure, text)
		}
		if want := map[bool]int{false: 1, true: 0}[secure]; checkers != want {
			t.Errorf("secure=%v: %d checkers, want %d (%q)", secure, checkers, want, text)
		}
	}
}
