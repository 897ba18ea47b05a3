package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMapAndACLActionsAsHAProxy: http-request add-acl/del-acl/set-map/
// del-map and http-response set-map edit the files the ACLs and map
// converters loaded, as the runtime API's "show map|acl" and the next
// requests see them, as in haproxy 2.6; a file nothing loads is not
// created. Both binaries get the same requests and commands.
func TestMapAndACLActionsAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	answers := map[string][]string{}
	var order []string
	for _, path := range []string{haproxyBin, bin} {
		dir := t.TempDir()
		sock, mapFile, aclFile := filepath.Join(dir, "api.sock"), filepath.Join(dir, "hosts.map"), filepath.Join(dir, "blocked.lst")
		os.WriteFile(mapFile, []byte("a.example be_a\n"), 0o644)
		os.WriteFile(aclFile, nil, 0o644) // empty, as haproxy's manual suggests
		bePort, _ := startHTTPBackend(t, "srv")
		fePort := freePort(t)
		startBinary(t, path, adminSocketHead(sock)+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    acl blocked req.hdr(host) -f %[2]s
    http-request deny if blocked
    http-request add-acl(%[2]s) %%[req.hdr(x-block)] if { req.hdr(x-block) -m found }
    http-request del-acl(%[2]s) %%[req.hdr(x-unblock)] if { req.hdr(x-unblock) -m found }
    http-request set-map(%[3]s) %%[req.hdr(x-key)] %%[req.hdr(x-val)] if { req.hdr(x-key) -m found }
    http-request del-map(%[3]s) %%[req.hdr(x-del)] if { req.hdr(x-del) -m found }
    http-request set-map(%[4]s/nothing.map) %%[req.hdr(host)] x
    http-request return status 200 content-type text/plain lf-string "%%[req.hdr(host),map(%[3]s,none)]" if { path /get }
    http-response set-map(%[3]s) seen.%%[res.hdr(x-seen-uri)] %%[res.hdr(x-backend)]
    http-response del-acl(%[2]s) %%[res.hdr(x-seen-host)]
    default_backend be

backend be
    server s1 127.0.0.1:%[5]d
`, fePort, aclFile, mapFile, dir, bePort), fePort)
		var got []string
		order = order[:0]
		norm := strings.NewReplacer(mapFile, "MAP", aclFile, "ACL", dir, "DIR")
		ask := func(cmd string) {
			order = append(order, cmd)
			got = append(got, refLines(norm.Replace(cliCmd(t, sock, strings.NewReplacer("MAP", mapFile, "ACL", aclFile, "DIR", dir).Replace(cmd)))))
		}
		request := func(host, p string, hdrs ...string) {
			args := []string{"-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: " + host}
			if strings.HasPrefix(p, "/get") {
				args = []string{"-s", "-w", " %{http_code}", "-H", "Host: " + host}
			}
			for _, h := range hdrs {
				args = append(args, "-H", h)
			}
			out, _ := curl(t, append(args, fmt.Sprintf("http://127.0.0.1:%d%s", fePort, p))...)
			order = append(order, fmt.Sprint("GET ", host, p, hdrs))
			got = append(got, out)
		}
		request("a.example", "/get")
		request("b.example", "/get", "X-Key: b.example", "X-Val: be_b")
		request("a.example", "/get", "X-Key: a.example", "X-Val: be_a2")
		request("a.example", "/get", "X-Key: a.example", "X-Val: be_a2") // unchanged
		ask("show map MAP")
		request("c.example", "/get", "X-Del: a.example")
		request("a.example", "/get")
		request("c.example", "/get", "X-Block: bad.example")
		request("c.example", "/get", "X-Block: bad.example") // once only
		request("bad.example", "/get")
		ask("show acl ACL")
		ask("add acl ACL worse.example")
		request("worse.example", "/get")
		request("c.example", "/get", "X-Unblock: worse.example")
		request("worse.example", "/get")
		request("c.example", "/page")                    // http-response set-map
		request("bad.example", "/get")                   // still blocked
		request("d.example", "/x", "X-Block: d.example") // the deny ran first; http-response del-acl removes it
		request("d.example", "/get")
		ask("show map MAP")
		ask("show acl ACL")
		ask("show map DIR/nothing.map")
		ask("show map")
		answers[path] = got
	}
	for i, cmd := range order {
		if got, want := answers[bin][i], answers[haproxyBin][i]; got != want {
			t.Errorf("%q: got\n%s\nhaproxy answers\n%s", cmd, got, want)
		}
	}
}
