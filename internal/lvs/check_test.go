package lvs

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
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
