package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// cookieBackend answers with its name; /login sets the application's
// cookie NAME=VALUE; every answer reports the Cookie header it received.
func cookieBackend(t *testing.T, name, setName, setValue string) (port int, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		w.Header().Set("X-Seen-Cookie", r.Header.Get("Cookie"))
		if r.URL.Query().Get("cacheable") != "" {
			w.Header().Set("Cache-Control", "public, max-age=60")
		}
		if r.URL.Path == "/login" && setName != "" {
			w.Header().Add("Set-Cookie", setName+"="+setValue+"; Path=/")
		}
		fmt.Fprint(w, name)
	})}
	go srv.Serve(l)
	stop = func() { srv.Close() }
	t.Cleanup(stop)
	return l.Addr().(*net.TCPAddr).Port, stop
}

func cookieGet(t *testing.T, url, cookie string) *http.Response {
	t.Helper()
	return cookieDo(t, "GET", url, cookie)
}

// The tutorial's "cookie SERVERID rewrite": the server sets SERVERID, the
// proxy rewrites its value to the server's cookie, requests carrying it
// stick to that server, and move (with redispatch) when it is gone.
func TestCookieRewritePersistence(t *testing.T) {
	b1, stop1 := cookieBackend(t, "web1", "SERVERID", "whatever")
	b2, _ := cookieBackend(t, "web2", "SERVERID", "whatever")
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`defaults
    mode http
    option redispatch
    retries 3
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    cookie SERVERID rewrite
    balance roundrobin
    server web1 127.0.0.1:%d cookie a1i1
    server web2 127.0.0.1:%d cookie a1i2
`, port, b1, b2), port)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	resp := cookieGet(t, url+"/login", "")
	set := resp.Header.Get("Set-Cookie")
	want := map[string]string{"web1": "SERVERID=a1i1; Path=/", "web2": "SERVERID=a1i2; Path=/"}[resp.Header.Get("X-Backend")]
	if set != want {
		t.Fatalf("Set-Cookie %q from %s, want %q", set, resp.Header.Get("X-Backend"), want)
	}
	cookie := strings.SplitN(set, ";", 2)[0]
	first := resp.Header.Get("X-Backend")
	for i := range 10 {
		if got := cookieGet(t, url+"/", cookie+"; other=1").Header.Get("X-Backend"); got != first {
			t.Fatalf("request %d with %s went to %s, want %s", i, cookie, got, first)
		}
	}
	// The server named by the cookie goes away: redispatch moves the client.
	if first == "web1" {
		stop1()
		for i := range 5 {
			if got := cookieGet(t, url+"/", cookie).Header.Get("X-Backend"); got != "web2" {
				t.Fatalf("after web1 stopped, request %d went to %q", i, got)
			}
		}
	}
}

// insert indirect nocache: the proxy adds the cookie; servers never see it.
func TestCookieInsertIndirect(t *testing.T) {
	b1, _ := cookieBackend(t, "s1", "", "")
	b2, _ := cookieBackend(t, "s2", "", "")
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    cookie SRV insert indirect nocache httponly
    server s1 127.0.0.1:%d cookie c1
    server s2 127.0.0.1:%d cookie c2
`, port, b1, b2), port)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	resp := cookieGet(t, url, "")
	be := resp.Header.Get("X-Backend")
	want := map[string]string{"s1": "SRV=c1; path=/; HttpOnly", "s2": "SRV=c2; path=/; HttpOnly"}[be]
	if got := resp.Header.Get("Set-Cookie"); got != want {
		t.Fatalf("Set-Cookie %q from %s, want %q", got, be, want)
	}
	// nocache marks only cacheable responses private (HAProxy does the same);
	// this one declares nothing.
	if cc := resp.Header.Get("Cache-Control"); cc != "" {
		t.Fatalf("Cache-Control %q on a response that did not ask for caching", cc)
	}
	if cc := cookieGet(t, url+"?cacheable=1", "").Header.Values("Cache-Control"); len(cc) != 2 || cc[1] != "private" {
		t.Fatalf("cacheable response with nocache: Cache-Control %q, want the server's plus private", cc)
	}
	cookie := strings.SplitN(want, ";", 2)[0]
	for i := range 6 {
		r := cookieGet(t, url, "app=7; "+cookie)
		if r.Header.Get("X-Backend") != be {
			t.Fatalf("request %d went to %s, want %s", i, r.Header.Get("X-Backend"), be)
		}
		if seen := r.Header.Get("X-Seen-Cookie"); seen != "app=7" {
			t.Fatalf("server saw Cookie %q, want the persistence cookie removed (indirect)", seen)
		}
		if sc := r.Header.Get("Set-Cookie"); sc != "" {
			t.Fatalf("client already has the cookie, yet got Set-Cookie %q", sc)
		}
	}
}

// prefix: the server's own session cookie carries the server's value in
// front; the server gets it back without the prefix.
func TestCookiePrefix(t *testing.T) {
	b1, _ := cookieBackend(t, "s1", "JSESSIONID", "abc")
	b2, _ := cookieBackend(t, "s2", "JSESSIONID", "abc")
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    cookie JSESSIONID prefix
    server s1 127.0.0.1:%d cookie p1
    server s2 127.0.0.1:%d cookie p2
`, port, b1, b2), port)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	resp := cookieGet(t, url+"/login", "")
	be := resp.Header.Get("X-Backend")
	val := map[string]string{"s1": "p1", "s2": "p2"}[be]
	if got := resp.Header.Get("Set-Cookie"); got != "JSESSIONID="+val+"~abc; Path=/" {
		t.Fatalf("Set-Cookie %q from %s", got, be)
	}
	for i := range 6 {
		r := cookieGet(t, url+"/", "JSESSIONID="+val+"~abc")
		if r.Header.Get("X-Backend") != be || r.Header.Get("X-Seen-Cookie") != "JSESSIONID=abc" {
			t.Fatalf("request %d: to %s seeing %q, want %s seeing JSESSIONID=abc", i, r.Header.Get("X-Backend"), r.Header.Get("X-Seen-Cookie"), be)
		}
	}
}

func cookieDo(t *testing.T, method, url, cookie string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// postonly: the persistence cookie is only inserted into answers to POST.
func TestCookiePostOnly(t *testing.T) {
	b1, _ := cookieBackend(t, "s1", "", "")
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    cookie SRV insert postonly indirect
    server s1 127.0.0.1:%d cookie c1
`, port, b1), port)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for _, m := range []string{"GET", "HEAD", "PUT"} {
		if sc := cookieDo(t, m, url, "").Header.Get("Set-Cookie"); sc != "" {
			t.Fatalf("%s answered with Set-Cookie %q under postonly", m, sc)
		}
	}
	if sc := cookieDo(t, "POST", url, "").Header.Get("Set-Cookie"); sc != "SRV=c1; path=/" {
		t.Fatalf("POST: Set-Cookie %q, want SRV=c1; path=/", sc)
	}
}

// cookieDate writes a Unix date the way HAProxy dates its cookies: 4-second
// units rounded up, 30 bits as 5 base64 digits, most significant first.
func cookieDate(unix int64) string {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	v := (unix + 3) >> 2
	var b [5]byte
	for i := range b {
		b[i] = digits[(v>>(24-6*i))&0x3f]
	}
	return string(b[:])
}

// maxidle/maxlife: the inserted cookie carries last-seen and first-seen
// dates; a fresh one is left alone, a passed last-seen date is refreshed
// keeping the first-seen one, and a cookie idle or alive too long is
// ignored: the client is balanced again and gets new dates.
func TestCookieMaxIdleMaxLife(t *testing.T) {
	b1, _ := cookieBackend(t, "s1", "", "")
	b2, _ := cookieBackend(t, "s2", "", "")
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    balance roundrobin
    cookie SRV insert indirect maxidle 30 maxlife 1m
    server s1 127.0.0.1:%d cookie c1
    server s2 127.0.0.1:%d cookie c2
`, port, b1, b2), port)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	// Start just after a 4-second boundary: a date written now then stays
	// current for the next requests, at both proxies.
	for time.Now().Unix()%4 != 1 {
		time.Sleep(50 * time.Millisecond)
	}
	now := time.Now().Unix()
	resp := cookieGet(t, url, "")
	be := resp.Header.Get("X-Backend")
	val := map[string]string{"s1": "c1", "s2": "c2"}[be]
	if want := "SRV=" + val + "|" + cookieDate(now) + "|" + cookieDate(now) + "; path=/"; resp.Header.Get("Set-Cookie") != want {
		t.Fatalf("first answer from %s: Set-Cookie %q, want %q", be, resp.Header.Get("Set-Cookie"), want)
	}
	fresh := strings.SplitN(resp.Header.Get("Set-Cookie"), ";", 2)[0]
	r := cookieGet(t, url, fresh)
	if r.Header.Get("X-Backend") != be || r.Header.Get("Set-Cookie") != "" || r.Header.Get("X-Seen-Cookie") != "" {
		t.Fatalf("fresh cookie: to %s, Set-Cookie %q, server saw %q; want %s, none, none",
			r.Header.Get("X-Backend"), r.Header.Get("Set-Cookie"), r.Header.Get("X-Seen-Cookie"), be)
	}
	// Seen 12 s ago: still valid, refreshed, first-seen date kept.
	old := "SRV=" + val + "|" + cookieDate(now-12) + "|" + cookieDate(now-50)
	r = cookieGet(t, url, old)
	if want := "SRV=" + val + "|" + cookieDate(now) + "|" + cookieDate(now-50) + "; path=/"; r.Header.Get("X-Backend") != be || r.Header.Get("Set-Cookie") != want {
		t.Fatalf("cookie idle 12 s: to %s with Set-Cookie %q, want %s with %q", r.Header.Get("X-Backend"), r.Header.Get("Set-Cookie"), be, want)
	}
	// Idle 40 s (> maxidle), or first seen 70 s ago (> maxlife): ignored.
	for _, stale := range []string{
		"SRV=" + val + "|" + cookieDate(now-40) + "|" + cookieDate(now-50),
		"SRV=" + val + "|" + cookieDate(now) + "|" + cookieDate(now-70),
	} {
		moved := false
		for range 4 {
			r := cookieGet(t, url, stale)
			got := r.Header.Get("X-Backend")
			moved = moved || got != be
			want := "SRV=" + map[string]string{"s1": "c1", "s2": "c2"}[got] + "|" + cookieDate(now) + "|" + cookieDate(now) + "; path=/"
			if r.Header.Get("Set-Cookie") != want {
				t.Fatalf("stale %s: Set-Cookie %q from %s, want %q", stale, r.Header.Get("Set-Cookie"), got, want)
			}
		}
		if !moved {
			t.Fatalf("stale %s kept all requests on %s: it was not ignored", stale, be)
		}
	}
}

// dynamic: servers without a "cookie" value get one hashed from
// dynamic-cookie-key, their address and port. The same configuration runs
// through the real haproxy, and every server must get the same cookie.
func TestCookieDynamicMatchesHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	b1, _ := cookieBackend(t, "s1", "", "")
	b2, _ := cookieBackend(t, "s2", "", "")
	b3, _ := cookieBackend(t, "s3", "", "")
	cfg := func(port, noKeyPort int) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    balance roundrobin
    cookie SRV insert indirect dynamic
    dynamic-cookie-key this-is-the-shared-secret
    server s1 127.0.0.1:%d
    server s2 127.0.0.1:%d
    server s3 127.0.0.1:%d cookie fixed
listen nokey
    bind 127.0.0.1:%d
    cookie SRV insert dynamic
    server s1 127.0.0.1:%d
`, port, b1, b2, b3, noKeyPort, b1)
	}
	cookies := func(port int) map[string]string {
		got := map[string]string{}
		for range 6 {
			r := cookieGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port), "")
			got[r.Header.Get("X-Backend")] = r.Header.Get("Set-Cookie")
		}
		return got
	}
	hpPort, hpNoKey := freePort(t), freePort(t)
	hp := startBinary(t, haproxyBin, cfg(hpPort, hpNoKey), hpPort)
	want := cookies(hpPort)
	hp.stop()
	port, noKey := freePort(t), freePort(t)
	startProxy(t, cfg(port, noKey), port, noKey)
	got := cookies(port)
	if len(want) != 3 || want["s3"] != "SRV=fixed; path=/" || want["s1"] == want["s2"] {
		t.Fatalf("haproxy's cookies are not as expected: %q", want)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: Set-Cookie %q, haproxy sent %q", name, got[name], w)
		}
	}
	// The dynamic cookie persists like a configured one.
	c1 := strings.SplitN(got["s1"], ";", 2)[0]
	for i := range 4 {
		if be := cookieGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port), c1).Header.Get("X-Backend"); be != "s1" {
			t.Fatalf("request %d with %s went to %s", i, c1, be)
		}
	}
	// Without a key the server has no cookie: as for any cookie-less
	// server in insert mode, the client is told to drop the one it has.
	want1970 := "SRV=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/"
	if sc := cookieGet(t, fmt.Sprintf("http://127.0.0.1:%d/", noKey), "SRV=x").Header.Get("Set-Cookie"); sc != want1970 {
		t.Fatalf("no dynamic-cookie-key: Set-Cookie %q, want %q", sc, want1970)
	}
}
