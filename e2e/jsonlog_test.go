package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jsonLogFormat is a JSON line per request with haproxy 2.6's means: the
// json converter escapes the client's text (kept in variables: request
// fetches are not available when the line is written), numbers stay bare.
const jsonLogFormat = `'{"client":"%ci","fe":"%f","be":"%b","status":%ST,"bytes":%B,"method":"%[var(txn.method),json(utf8s)]","path":"%[var(txn.path),json(utf8s)]","ua":"%[var(txn.ua),json(utf8s)]"}'`

// TestJSONLogLines: a log-format writing JSON lines gives the same lines
// from haproxy 2.6 and dhproxy (on stdout, format raw), each a valid JSON
// object with the client's quotes, backslashes and control characters
// escaped; dhproxy's file@ target writes the same lines to a file.
func TestJSONLogLines(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	web, _ := startHTTPBackend(t, "web")
	paths := []string{"/plain", `/q"uo\te`, "/%E2%82%AC"}
	uas := []string{"curl-ish", "tab\there \"quoted\" back\\slash", "caf\u00e9 <ü>"}
	lines := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		fePort := freePort(t)
		logFile := filepath.Join(t.TempDir(), "access.json")
		extra := ""
		fileLog := path == bin && !isHAProxy() // file@ is dhproxy's
		if fileLog {
			extra = "    log file@" + logFile + " len 4096 format raw local0 info\n"
		}
		p := startBinary(t, path, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    log stdout len 4096 format raw local0 info
%s    http-request set-var(txn.method) method
    http-request set-var(txn.path) path
    http-request set-var(txn.ua) req.hdr(user-agent)
    log-format %s
    default_backend be
backend be
    server web1 127.0.0.1:%d
`, fePort, extra, jsonLogFormat, web), fePort)
		for i := range paths {
			curl(t, "-s", "--path-as-is", "-A", uas[i], fmt.Sprintf("http://127.0.0.1:%d%s", fePort, paths[i]))
		}
		var got []string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			got = got[:0]
			for _, l := range strings.Split(p.Stdout(), "\n") {
				if strings.HasPrefix(l, "{") && strings.Contains(l, `"be":"be"`) {
					got = append(got, l)
				}
			}
			if len(got) >= len(paths) || time.Now().After(deadline) {
				break
			}
		}
		if len(got) != len(paths) {
			t.Fatalf("%s: %d JSON lines on stdout:\n%s", path, len(got), p.Stdout())
		}
		for i, l := range got {
			var v map[string]any
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Errorf("%s: line %q is not JSON: %v", path, l, err)
				continue
			}
			if v["path"] != paths[i] || v["ua"] != uas[i] || v["status"] != float64(200) {
				t.Errorf("%s: line %q: path %q ua %q status %v", path, l, v["path"], v["ua"], v["status"])
			}
		}
		lines[path] = got
		if fileLog {
			var file []string
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				data, _ := os.ReadFile(logFile)
				file = nil
				for _, l := range strings.Split(string(data), "\n") {
					if strings.HasPrefix(l, "{") && strings.Contains(l, `"be":"be"`) {
						file = append(file, l)
					}
				}
				if len(file) >= len(paths) || time.Now().After(deadline) {
					break
				}
			}
			if strings.Join(file, "\n") != strings.Join(got, "\n") {
				t.Errorf("file@ lines differ from stdout's:\n%s\n%s", strings.Join(file, "\n"), strings.Join(got, "\n"))
			}
		}
	}
	// The clients' ports and the byte counts aside, the lines are
	// haproxy's.
	for i := range paths {
		norm := func(l string) string {
			var v map[string]any
			json.Unmarshal([]byte(l), &v)
			delete(v, "bytes")
			b, _ := json.Marshal(v)
			return string(b)
		}
		if g, w := norm(lines[bin][i]), norm(lines[haproxyBin][i]); g != w {
			t.Errorf("line %d: got %s, haproxy %s", i, g, w)
		}
	}
}
