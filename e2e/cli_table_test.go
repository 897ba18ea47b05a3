package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var (
	tableEntryID  = regexp.MustCompile(`(?m)^0x[0-9a-f]+: `)
	tableEntryExp = regexp.MustCompile(` exp=\d+`)
)

// TestRuntimeTablesMatchHAProxy: "show table" and "clear table" answer as
// haproxy 2.6's for the same entries: the list of tables (newest first),
// one table's entries, by key, under one to four data conditions, what
// clearing by key or by condition leaves, and every error (unknown table,
// data type, operator, value, extra words, usage, levels); the
// table-only backend's status is UP in "show stat".
func TestRuntimeTablesMatchHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	cmds := []string{
		"show table", "show table nope", "show table fe", "show table fe key 127.0.0.2", "show table fe key",
		"show table fe data.http_req_cnt gt 1", "show table fe data.http_req_cnt gt -1",
		"show table fe data.http_req_cnt ge 1 data.gpc0 eq 0",
		"show table fe data.http_req_cnt gt 0 data.gpc0 eq 0 data.gpc0 eq 0 data.gpc0 eq 0 data.gpc0 eq 0",
		"show table fe data.nope gt 0", "show table fe data.gpc1 gt 0", "show table fe data.http_req_cnt zz 0",
		"show table fe data.http_req_cnt gt x", "show table fe data.http_req_cnt gt", "show table fe data.http_req_cnt gt 0 data.gpc0",
		"show table fe foo", "show table be", "user; show table", "user; show table fe",
		"clear table", "clear table nope", "clear table fe foo", "clear table fe key", "clear table fe key 10.9.9.9",
		"clear table fe data.gpc0 eq 0 key 127.0.0.1", "show table fe",
		"operator; clear table fe key 127.0.0.2", "show table fe",
		"clear table fe data.http_req_cnt gt 1", "show table fe",
		"clear table fe", "show table",
	}
	answers := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		fePort := freePort(t)
		startBinary(t, path, adminSocketHead(sock)+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 1k expire 30s store http_req_cnt,gpc0,conn_cur
    http-request track-sc0 src
    http-request return status 200
backend be
    stick-table type string len 32 size 10 store gpc0
`, fePort), fePort)
		// 127.0.0.1 (the harness's probe included) and 127.0.0.2, two
		// requests each and one.
		url := fmt.Sprintf("http://127.0.0.1:%d/", fePort)
		curl(t, "-s", "-o", "/dev/null", url)
		curl(t, "-s", "-o", "/dev/null", url)
		curl(t, "-s", "-o", "/dev/null", "--interface", "127.0.0.2", url)
		var got []string
		for _, cmd := range cmds {
			out := cliCmd(t, sock, cmd)
			got = append(got, tableEntryExp.ReplaceAllString(tableEntryID.ReplaceAllString(out, "ID: "), " exp=E"))
		}
		// A backend that only holds a table, no server, is UP.
		got = append(got, statusColumns(cliCmd(t, sock, "show stat")))
		answers[path] = got
	}
	for i, cmd := range append(cmds, "show stat (status)") {
		if got, want := answers[bin][i], answers[haproxyBin][i]; got != want {
			t.Errorf("%q: got\n%s\nhaproxy answers\n%s", cmd, got, want)
		}
	}
}
