package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestStatsHTTPRequestRules: "stats http-request allow|deny|auth [realm]
// [if|unless COND]" decide as haproxy 2.6's (the first rule whose
// condition holds; none: the page), with the same statuses, realms and
// bodies; "stats auth" together with them is refused as haproxy refuses it.
func TestStatsHTTPRequestRules(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	cases := [][]string{
		{"deny if TRUE"}, {"auth realm Foo if TRUE"}, {"allow if TRUE"}, {"deny if { path_end /x }"}, {"auth"},
		{"auth if { path_end /x }", "allow if TRUE"}, {"deny unless { path_beg /st/ok }"},
	}
	for _, rules := range cases {
		answers := map[string]string{}
		for _, path := range []string{haproxyBin, bin} {
			port := freePort(t)
			cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /st
`, port)
			for _, r := range rules {
				cfg += "    stats http-request " + r + "\n"
			}
			startBinary(t, path, cfg, port)
			var got []string
			for _, p := range []string{"/st", "/st/x", "/st/ok"} {
				resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, p))
				if err != nil {
					t.Fatal(err)
				}
				body := make([]byte, 200)
				n, _ := resp.Body.Read(body)
				resp.Body.Close()
				b := string(body[:n])
				if resp.StatusCode == 200 {
					b = "(page)"
				}
				got = append(got, fmt.Sprintf("%s: %d %q %s", p, resp.StatusCode, resp.Header.Get("Www-Authenticate"), b))
			}
			answers[path] = strings.Join(got, "\n")
		}
		if got, want := answers[bin], answers[haproxyBin]; got != want {
			t.Errorf("%v:\ngot\n%s\nhaproxy\n%s", rules, got, want)
		}
	}
	_, stderr, code := runCheck(t, `defaults
    mode http
listen stats
    bind 127.0.0.1:1
    stats auth admin:secret
    stats http-request allow if TRUE
`)
	if code == 0 || !strings.Contains(stderr, "stats 'auth'/'realm' and 'http-request' can't be used at the same time") {
		t.Errorf("stats auth with stats http-request: exit %d, %s", code, stderr)
	}
}
