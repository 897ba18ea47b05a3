package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	refEntryID = regexp.MustCompile(`(?m)^0x[0-9a-f]+ `)
	refListID  = regexp.MustCompile(`(?m)^\d+ \(`)
	refCfgFile = regexp.MustCompile(`at file '[^']*' line`)
)

// refLines keeps the file-backed lines of "show map|acl" (haproxy also
// lists its inline ACL expressions) with their ids hidden, and hides
// entry ids in dumps.
func refLines(out string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(out, "\n") {
		if strings.Contains(l, " () ") {
			continue
		}
		b.WriteString(l)
	}
	out = refCfgFile.ReplaceAllString(b.String(), "at file 'CFG' line")
	return refListID.ReplaceAllString(refEntryID.ReplaceAllString(out, "ID "), "ID (")
}

// TestRuntimeMapsAndACLs: "show map|acl", "add|set|del|clear map" and
// "add|del|clear acl" answer as haproxy 2.6's (dumps, errors), and each
// edit changes what the next request gets, in both.
func TestRuntimeMapsAndACLs(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	answers := map[string][]string{}
	var order []string
	for _, path := range []string{haproxyBin, bin} {
		dir := t.TempDir()
		sock, mapFile, aclFile := filepath.Join(dir, "api.sock"), filepath.Join(dir, "hosts.map"), filepath.Join(dir, "paths.acl")
		os.WriteFile(mapFile, []byte("# hosts\nexample.com be1\nfoo.org\tbe2\n"), 0o644)
		os.WriteFile(aclFile, []byte("/admin\n/private\n"), 0o644)
		fePort := freePort(t)
		startBinary(t, path, adminSocketHead(sock)+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    acl blocked path_beg -f %s
    http-request deny if blocked
    http-request return status 200 content-type text/plain lf-string "%%[req.hdr(host),lower,map(%s,none)]"
`, fePort, aclFile, mapFile), fePort)
		var got []string
		order = order[:0]
		norm := strings.NewReplacer(mapFile, "MAP", aclFile, "ACL", dir, "DIR")
		ask := func(cmd string) {
			order = append(order, cmd)
			got = append(got, refLines(norm.Replace(cliCmd(t, sock, strings.NewReplacer("MAP", mapFile, "ACL", aclFile).Replace(cmd)))))
		}
		request := func(host, p string) {
			out, _ := curl(t, "-s", "-H", "Host: "+host, "-w", " %{http_code}", fmt.Sprintf("http://127.0.0.1:%d%s", fePort, p))
			if strings.Contains(out, "403") {
				out = "403" // the body of the deny page differs
			}
			order = append(order, "GET "+host+p)
			got = append(got, out)
		}
		request("foo.org", "/")
		request("new.net", "/admin/x")
		for _, cmd := range []string{"show map", "show acl", "show map MAP", "show acl ACL", "show map nope", "show acl nope",
			"add map MAP new.net be3", "add map MAP", "add map MAP k", "set map MAP foo.org bex", "set map MAP nokey v", "set map MAP",
			"show map MAP", "add acl ACL /secret", "add acl ACL", "add acl nope x", "add acl MAP x", "del acl ACL /admin", "del acl ACL /nope",
			"del acl ACL", "del acl nope x", "show acl ACL"} {
			ask(cmd)
		}
		request("foo.org", "/")
		request("new.net", "/admin/x")
		request("new.net", "/secret")
		for _, cmd := range []string{"del map MAP foo.org", "del map MAP foo.org", "del map MAP", "clear map nope", "clear map",
			"clear acl nope", "show map MAP"} {
			ask(cmd)
		}
		request("foo.org", "/")
		// An entry named by its id.
		out := cliCmd(t, sock, "show map "+mapFile)
		id := strings.Fields(out)[0]
		ask("del map MAP #" + id)
		ask("show map MAP")
		ask("clear map MAP")
		ask("clear acl ACL")
		request("example.com", "/secret")
		answers[path] = got
	}
	for i, cmd := range order {
		if got, want := answers[bin][i], answers[haproxyBin][i]; got != want {
			t.Errorf("%q: got\n%s\nhaproxy answers\n%s", cmd, got, want)
		}
	}
}
