package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// userlist, http_auth, http_auth_group and http-request auth. Passes
// against haproxy 2.6 too (DHPROXY_BIN).
func TestUserlistAuth(t *testing.T) {
	port, port2 := freePort(t), freePort(t)
	page401File := filepath.Join(t.TempDir(), "401.http")
	os.WriteFile(page401File, []byte("HTTP/1.1 401 Unauthorized\r\nContent-Length: 5\r\nX-E: 1\r\n\r\nauth\n"), 0o644)
	// hashes from "openssl passwd -5|-6|-1"
	p := startProxy(t, `
global
    log stdout format raw local0`+defaultsSection("http", "5s", "30s", "30s", "log global", "option httplog")+fmt.Sprintf(`
userlist L1
    group admins users alice
    group ops
    user alice password $5$saltsalt$i1q2ZQzc.tl/BQ6CHiENAcVDvEY6nJ1OWlWXKh94b1.
    user bob password $6$abcdefgh$AmG/p6USYTDnD0i9OnzSKPHywtVj65aAr9wlivj4RTvOTk7KtUVA.oTYWoSPriFBc8/GpWmBT82/SO.3ziVE2/ groups ops
    user carol password $1$xyz$unEmvaPYTZ4OLu3M.GO.z1 groups admins,ops
    user dave insecure-password plain
frontend fe
    bind 127.0.0.1:%d
    acl authed http_auth(L1)
    acl admin http_auth_group(L1) admins
    http-request auth realm "My Realm" if { path /a } !authed
    http-request auth if { path /b } !authed
    http-request deny if { path /admin } !admin
    http-request return status 200 content-type text/plain lf-string "ok %%[http_auth_group(L1)]" if { path /admin }
    http-request return status 200 content-type text/plain string "ok"
backend with_page
    errorfile 401 %s
    http-request auth realm R
frontend fe2
    bind 127.0.0.1:%d
    default_backend with_page
`, port, page401File, port2), port, port2)
	const page401 = "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n"
	ask := func(realm string) string {
		return "HTTP/1.1 401 Unauthorized\r\ncontent-length: 112\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nwww-authenticate: Basic realm=\"" + realm + "\"\r\n\r\n" + page401 + "<open>"
	}
	ok := func(body string) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\ncontent-length: %d\r\ncontent-type: text/plain\r\n\r\n%s<open>", len(body), body)
	}
	deny := "HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n<open>"
	for _, c := range []struct{ path, cred, want string }{
		{"/a", "", ask("My Realm")},
		{"/b", "", ask("fe")},
		{"/a", "alice:s3cret", ok("ok")},
		{"/a", "alice:s3cret", ok("ok")}, // a second time: from the cache
		{"/a", "alice:bad", ask("My Realm")},
		{"/a", "bob:pw6", ok("ok")},
		{"/a", "carol:pw1", ok("ok")},
		{"/a", "dave:plain", ok("ok")},
		{"/a", "dave:plainx", ask("My Realm")},
		{"/a", "nobody:x", ask("My Realm")},
		{"/admin", "alice:s3cret", ok("ok alice")},
		{"/admin", "carol:pw1", ok("ok carol")},
		{"/admin", "bob:pw6", deny},
		{"/admin", "", deny},
	} {
		req := "GET " + c.path + " HTTP/1.1\r\nHost: h\r\n"
		if c.cred != "" {
			req += "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(c.cred)) + "\r\n"
		}
		if got := rawExchange(t, port, req+"\r\n"); got != c.want {
			t.Errorf("%s as %q:\n got %q\nwant %q", c.path, c.cred, got, c.want)
		}
	}
	// an errorfile 401 replaces the page, the header is added to it
	if got, want := rawExchange(t, port2, get("/")), "HTTP/1.1 401 Unauthorized\r\ncontent-length: 5\r\nx-e: 1\r\nwww-authenticate: Basic realm=\"R\"\r\n\r\nauth\n<open>"; got != want {
		t.Errorf("auth with errorfile 401:\n got %q\nwant %q", got, want)
	}
	// logged as haproxy logs them
	waitLog(t, p, ` fe fe/<NOSRV> \d+/-1/-1/-1/\d+ 401 253 - - LR-- .* "GET /a HTTP/1.1"`)
	waitLog(t, p, ` fe fe/<NOSRV> \d+/-1/-1/-1/\d+ 401 247 - - LR-- .* "GET /b HTTP/1.1"`)
}

func TestUserlistChecks(t *testing.T) {
	cases := []struct{ lines, want string }{
		{"    user a insecure-password x groups nope", "no such group 'nope'"},
		{"    group g users nobody", "no such user 'nobody'"},
	}
	if !isHAProxy() {
		// haproxy leaves hashes to the C library's crypt(3) and accepts
		// any string; dhproxy refuses the schemes it cannot check
		cases = append(cases, struct{ lines, want string }{"    user a password $2y$10$abcdefghijklmnopqrstuv", "unsupported password hash"})
	}
	for _, c := range cases {
		_, stderr, code := runCheck(t, "userlist L\n"+c.lines+"\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend fe\n    bind 127.0.0.1:1\n    http-request auth unless { http_auth(L) }\n")
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want %q", c.lines, code, stderr, c.want)
		}
	}
}
