package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// adminPage serves the page configuration with "stats admin if COND" on
// the stats proxy; it returns the page URL (with the credentials) and the
// runtime API's socket once the checks settled.
func adminPage(t *testing.T, path, cond string, web, closed int) (statsURL, sock string) {
	t.Helper()
	fePort, statsPort := freePort(t), freePort(t)
	sock = filepath.Join(t.TempDir(), "api.sock")
	cfg := statsPageConfig(sock, fePort, freePort(t), statsPort, web, closed) + "    stats admin if " + cond + "\n"
	startBinary(t, path, cfg, statsPort)
	statsURL = fmt.Sprintf("http://admin:secret@127.0.0.1:%d/stats", statsPort)
	deadline := time.Now().Add(10 * time.Second)
	for page := ""; !strings.Contains(page, `<tr class="backup_down">`) || strings.Contains(page, "<u> INI"); page = httpGetBody(t, statsURL) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: web2 not DOWN on the page after 10s", path)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return statsURL, sock
}

// postForm sends the admin form as a browser does and returns the
// redirect's location.
func postForm(t *testing.T, pageURL string, form url.Values) string {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(pageURL, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 {
		t.Errorf("POST %v: status %d, want 303", form, resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

var (
	adminFormRe = regexp.MustCompile(`Choose the action to perform.*?</form>`)
	bannerRe    = regexp.MustCompile(`<p><div class=\w+><a class=lfsb href="[^"]*" title="Remove this message">\[X\]</a> .*?</div>`)
)

// TestStatsAdminMatchesHAProxy: with "stats admin if TRUE" the page has
// haproxy 2.6's admin form (checkbox column, action list, backend key);
// POSTs of the form are answered with the same 303 and ";st=" codes (done,
// partly done, nothing, invalid), change the servers alike, and the page
// shows the same banner for each code; with "stats admin if FALSE" there
// is no form and a POST is denied.
func TestStatsAdminMatchesHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	web, _ := startHTTPBackend(t, "web")
	closed := freePort(t)
	pages := map[string]string{}
	answers := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		pageURL, sock := adminPage(t, path, "TRUE", web, closed)
		page := httpGetBody(t, pageURL)
		pages[path] = page
		var got []string
		got = append(got, adminFormRe.FindString(page))
		b := regexp.MustCompile(`name="b" value="(#\d+)"`).FindStringSubmatch(page)
		if b == nil {
			t.Fatalf("%s: no backend key in the form", path)
		}
		for _, form := range []url.Values{
			{"s": {"nope"}, "action": {"maint"}, "b": {b[1]}},
			{"s": {"nope", "web3"}, "action": {"drain"}, "b": {b[1]}},
			{"action": {"maint"}, "b": {b[1]}},
			{"s": {"web1"}, "action": {"bogus"}, "b": {b[1]}},
			{"s": {"web1"}, "action": {"maint"}, "b": {"#99"}},
			{"s": {"web1"}, "action": {"maint"}, "b": {b[1]}},
		} {
			got = append(got, postForm(t, pageURL, form))
		}
		got = append(got, statusColumns(cliCmd(t, sock, "show stat")))
		for _, code := range []string{"DONE", "PART", "NONE", "DENY", "ERRP", "EXCD", "XXXX"} {
			got = append(got, bannerRe.FindString(httpGetBody(t, pageURL+";st="+code)))
		}
		got = append(got, postForm(t, pageURL, url.Values{"s": {"web1", "web3"}, "action": {"ready"}, "b": {b[1]}}))
		// Back from maintenance, haproxy shows the checked web1 "UP 1/3"
		// until its next checks, dhproxy "UP": the state is compared.
		got = append(got, regexp.MustCompile(`UP \d+/\d+`).ReplaceAllString(statusColumns(cliCmd(t, sock, "show stat")), "UP"))
		answers[path] = got

		denyURL, _ := adminPage(t, path, "FALSE", web, closed)
		if p := httpGetBody(t, denyURL); strings.Contains(p, `<form method="post">`) {
			t.Errorf("%s: a form without the admin right", path)
		}
		answers[path] = append(answers[path], postForm(t, denyURL, url.Values{"s": {"web1"}, "action": {"maint"}, "b": {b[1]}}))
	}
	compareStructure(t, "admin page", pages[haproxyBin], pages[bin])
	for i := range answers[haproxyBin] {
		if got, want := answers[bin][i], answers[haproxyBin][i]; got != want {
			t.Errorf("answer %d: got\n%s\nhaproxy\n%s", i, got, want)
		}
	}
}

// TestStatsAdminScreenshot drives the admin page as an operator does, in
// headless Chromium: logged in, the page is screenshotted; web1 goes to
// maintenance through the form's POST (the request the browser sends for
// the checkbox and "Set state to MAINT"); the page the redirect leads to
// shows web1's row in the maintenance colour and the success banner. The
// screenshots are kept (DHPROXY_ARTIFACTS).
func TestStatsAdminScreenshot(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium (Debian package chromium):", err)
	}
	web, _ := startHTTPBackend(t, "web")
	closed := freePort(t)
	dir := t.TempDir()
	pageURL, _ := adminPage(t, bin, "TRUE", web, closed)
	before := filepath.Join(dir, "stats-admin.png")
	screenshot(t, chromium, pageURL+";norefresh", before)
	img := checkScreenshot(t, before, "titre", "pxname", "active_up", "backup_down", "no_check")
	maintain := pageColours["maintain"]
	was := countColour(img, maintain)
	b := regexp.MustCompile(`name="b" value="(#\d+)"`).FindStringSubmatch(httpGetBody(t, pageURL))
	if b == nil {
		t.Fatal("no admin form on the page")
	}
	loc := postForm(t, pageURL, url.Values{"s": {"web1"}, "action": {"maint"}, "b": {b[1]}})
	if !strings.HasSuffix(loc, ";st=DONE") {
		t.Fatalf("POST redirected to %q", loc)
	}
	u, _ := url.Parse(pageURL)
	after := filepath.Join(dir, "stats-admin-maint.png")
	screenshot(t, chromium, "http://admin:secret@"+u.Host+loc+";norefresh", after)
	if n := countColour(checkScreenshot(t, after, "titre", "pxname", "maintain", "backup_down", "no_check"), maintain); n < was+5000 {
		t.Errorf("web1 in maintenance through the form: %d pixels of the maintenance colour, %d before", n, was)
	}
	for _, f := range []string{before, after} {
		keepArtefact(t, f)
	}
	t.Logf("%s %s", before, after)
}

// TestStatsAdminCheckSwitchesMatchHAProxy: the form's "Health: disable|
// enable checks" and "Agent: disable|enable checks" (and the agent's force
// UP/DOWN) answer with haproxy 2.6's codes, NONE when the action applies
// to none of the checked servers (no check, no agent), ERRP when only
// unknown names remain, DONE or PART otherwise, and leave the same check
// states in "show servers state".
func TestStatsAdminCheckSwitchesMatchHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	web, _ := startHTTPBackend(t, "web")
	closed := freePort(t)
	answers := map[string][]string{}
	var order []string
	for _, path := range []string{haproxyBin, bin} {
		pageURL, sock := adminPage(t, path, "TRUE", web, closed)
		b := regexp.MustCompile(`name="b" value="(#\d+)"`).FindStringSubmatch(httpGetBody(t, pageURL))
		if b == nil {
			t.Fatalf("%s: no backend key in the form", path)
		}
		order = order[:0]
		var got []string
		for _, f := range []struct {
			action  string
			servers []string
		}{
			{"dhlth", []string{"web3"}},
			{"ehlth", []string{"web3"}},
			{"dhlth", []string{"nope", "web3"}},
			{"dhlth", []string{"web1"}},
			{"dhlth", []string{"web1", "web3"}},
			{"dhlth", []string{"web1", "nope"}},
			{"ehlth", []string{"web1", "web2"}},
			{"dagent", []string{"web1"}},
			{"eagent", []string{"web1", "web3"}},
			{"arunn", []string{"web1"}},
			{"adown", []string{"web1"}},
			{"adown", []string{"nope"}},
			{"dhlth", []string{"web2"}},
		} {
			order = append(order, f.action+" "+strings.Join(f.servers, ","))
			loc := postForm(t, pageURL, url.Values{"s": f.servers, "action": {f.action}, "b": {b[1]}})
			got = append(got, loc[strings.LastIndex(loc, ";st="):])
			order = append(order, "check states after "+f.action)
			got = append(got, checkStates(cliCmd(t, sock, "show servers state be")))
		}
		answers[path] = got
	}
	for i, what := range order {
		if got, want := answers[bin][i], answers[haproxyBin][i]; got != want {
			t.Errorf("%s: got %q, haproxy %q", what, got, want)
		}
	}
}

// checkStates keeps the server name, op state, admin state and the check
// and agent state columns of "show servers state" lines.
func checkStates(out string) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 20 && !strings.HasPrefix(l, "#") {
			fmt.Fprintf(&b, "%s op=%s admin=%s chk=%s agent=%s\n", f[3], f[5], f[6], f[13], f[14])
		}
	}
	return b.String()
}
