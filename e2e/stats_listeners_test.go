package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestListenerRowsMatchHAProxy: with "option socket-stats" each bind of a
// frontend has its row after the frontend's in "show stat" (svname the
// bind's name or sock-N, sessions, bytes, request errors, status, ids,
// type 3, address, mode) and in "show stat typed" with the same fields
// as haproxy 2.6.
func TestListenerRowsMatchHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	web, _ := startHTTPBackend(t, "web")
	answers := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		p1, p2 := freePort(t), freePort(t)
		startBinary(t, path, adminSocketHead(sock)+fmt.Sprintf(`
frontend fe
    option socket-stats
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d name second
    default_backend be
backend be
    server web1 127.0.0.1:%d
`, p1, p2, web), p1)
		waitPort(t, p2, 5*time.Second)
		// The readiness probes connected to both sockets: counts are
		// compared from once both were accepted and have ended.
		var before map[string][]string
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			before = listenerRows(t, cliCmd(t, sock, "show stat"), p1, p2)
			settled := before["second"] != nil && before["second"][7] != "0" && before["second"][4] == "0" &&
				before["sock-1"] != nil && before["sock-1"][7] != "0" && before["sock-1"][4] == "0"
			if settled || time.Now().After(deadline) {
				break
			}
		}
		curl(t, "-s", fmt.Sprintf("http://127.0.0.1:%d/", p1))
		curl(t, "-s", fmt.Sprintf("http://127.0.0.1:%d/x", p2))
		curl(t, "-s", fmt.Sprintf("http://127.0.0.1:%d/y", p2))
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p2))
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET / HTTP/1.1\r\nHo st: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		io.Copy(io.Discard, c)
		c.Close()
		// The sessions end after the answers: wait for scur to fall.
		var after map[string][]string
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			after = listenerRows(t, cliCmd(t, sock, "show stat"), p1, p2)
			if after["sock-1"][4] == "0" && after["second"][4] == "0" || time.Now().After(deadline) {
				break
			}
		}
		var b strings.Builder
		for _, name := range []string{"sock-1", "second"} {
			row, old := after[name], before[name]
			if row == nil {
				t.Fatalf("%s: no listener row %s", path, name)
			}
			for _, i := range []int{8, 9} {
				if n, _ := strconv.Atoi(row[i]); n <= 0 {
					t.Errorf("%s: %s %s is %q", path, name, []string{8: "bin", 9: "bout"}[i], row[i])
				}
			}
			for _, i := range []int{7, 12} { // stot, ereq: since before
				n, _ := strconv.Atoi(row[i])
				o, _ := strconv.Atoi(old[i])
				row[i] = "+" + strconv.Itoa(n-o)
			}
			// Byte counts differ by a few header bytes between the two
			// (as on the frontend's row): checked above to be counted.
			row[5], row[8], row[9] = "SMAX", "BIN", "BOUT"
			fmt.Fprintf(&b, "%s\n", strings.Join(row[:100], ","))
		}
		// The typed output's listener fields (the SSL module's after the
		// "-" column left out).
		typed := regexp.MustCompile(`(?m)^L\.\d+\.(\d+)\.(\d+)\.([a-z_]+)\.1:(\w+):(\w+):`).FindAllStringSubmatch(cliCmd(t, sock, "show stat typed"), -1)
		for _, m := range typed {
			if pos, _ := strconv.Atoi(m[2]); pos < 100 {
				fmt.Fprintf(&b, "L.%s.%s.%s %s %s\n", m[1], m[2], m[3], m[4], m[5])
			}
		}
		answers[path] = strings.NewReplacer(strconv.Itoa(p1), "P1", strconv.Itoa(p2), "P2").Replace(b.String())
	}
	if got, want := answers[bin], answers[haproxyBin]; got != want {
		t.Errorf("listener rows:\ngot\n%s\nhaproxy\n%s", got, want)
	}
}

// listenerRows returns the "show stat" rows of the frontend's sockets by
// svname.
func listenerRows(t *testing.T, out string, ports ...int) map[string][]string {
	rows := map[string][]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Split(l, ",")
		if len(f) > 100 && f[0] == "fe" && f[32] == "3" {
			rows[f[1]] = f
		}
	}
	return rows
}

// TestListenerRowsOnPage: the page draws a socket's row after its
// frontend's as haproxy 2.6 does (with and without the legends' tooltip
// giving its address and id: the bind's "id", which names it sock-9 too).
func TestListenerRowsOnPage(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	for _, legends := range []string{"", "    stats show-legends\n"} {
		pages := map[string]string{}
		for _, path := range []string{haproxyBin, bin} {
			p1, p2 := freePort(t), freePort(t)
			startBinary(t, path, `global
    maxconn 500`+defaultsSection("http", "1s", "5s", "5s")+fmt.Sprintf(`
listen fe
    option socket-stats
    bind 127.0.0.1:%d id 9
    bind 127.0.0.1:%d name second
    stats enable
    stats uri /st
%s`, p1, p2, legends), p1)
			waitPort(t, p2, 5*time.Second)
			page := httpGetBody(t, fmt.Sprintf("http://127.0.0.1:%d/st", p1))
			pages[path] = strings.NewReplacer(strconv.Itoa(p1), "P1", strconv.Itoa(p2), "P2").Replace(page)
		}
		if n := strings.Count(pages[bin], "<tr class=socket>"); n != 2 {
			t.Errorf("%d socket rows on the page, want 2", n)
		}
		compareStructure(t, "socket-stats page"+legends, pages[haproxyBin], pages[bin])
		legend := regexp.MustCompile(`<div class=tips>IPv4: 127\.0\.0\.1:P\d, id: \d</div>`)
		if g, w := legend.FindAllString(pages[bin], -1), legend.FindAllString(pages[haproxyBin], -1); strings.Join(g, "") != strings.Join(w, "") {
			t.Errorf("socket legends %q, haproxy's %q", g, w)
		}
	}
}
