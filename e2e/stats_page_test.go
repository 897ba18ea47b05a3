package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// statsPageConfig is the configuration both haproxy and dhproxy serve for
// the page comparison: an active server that is up, a backup whose port
// is closed (DOWN), an unchecked one, a mode tcp proxy, and a stats
// listener with legends.
func statsPageConfig(sock string, fePort, tcpPort, statsPort, web, closed int) string {
	return fmt.Sprintf(`global
    maxconn 500
    stats socket %s level admin`, sock) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    maxconn 200
    default_backend be
backend be
    server web1 127.0.0.1:%d check inter 200ms
    server web2 127.0.0.1:%d check inter 200ms backup
    server web3 127.0.0.1:%d
listen tcpsvc
    mode tcp
    bind 127.0.0.1:%d
    balance leastconn
    server t1 127.0.0.1:%d check inter 200ms weight 20
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
    stats refresh 10s
    stats show-legends
    stats auth admin:secret
`, fePort, web, closed, web, tcpPort, web, statsPort)
}

// servedPage runs path (haproxy or dhproxy) on the page configuration,
// waits until its checks took the backup down, sends some traffic and
// returns the stats page, its URL (with the credentials) and the runtime
// API's socket.
func servedPage(t *testing.T, path string, web, closed int) (page, statsURL, sock string) {
	t.Helper()
	fePort, statsPort := freePort(t), freePort(t)
	sock = filepath.Join(t.TempDir(), "api.sock")
	startBinary(t, path, statsPageConfig(sock, fePort, freePort(t), statsPort, web, closed), statsPort)
	waitPort(t, fePort, 5*time.Second)
	statsURL = fmt.Sprintf("http://admin:secret@127.0.0.1:%d/stats", statsPort)
	// Compare settled pages: the backup's checks took it down and every
	// check has a result.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(page, `<tr class="backup_down">`) || strings.Contains(page, "<u> INI") {
		if time.Now().After(deadline) {
			t.Fatalf("%s: web2 not DOWN on the page after 10s:\n%s", path, page)
		}
		time.Sleep(100 * time.Millisecond)
		page = httpGetBody(t, statsURL)
	}
	for i := 0; i < 20; i++ {
		httpGetBody(t, fmt.Sprintf("http://127.0.0.1:%d/", fePort))
	}
	return httpGetBody(t, statsURL), statsURL, sock
}

func httpGetBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	tipsRe   = regexp.MustCompile(`<div class=tips>.*?</div>`)
	rlsRe    = regexp.MustCompile(`<span class="rls">(\d)</span>`)
	digitsRe = regexp.MustCompile(`\d+`)
	cellRe   = regexp.MustCompile(`<(td|th)([^>]*)>(.*?)</(?:td|th)>`)
	trRe     = regexp.MustCompile(`(?s)<tr([^>]*)>(.*?)</tr>`)
	tableRe  = regexp.MustCompile(`(?s)<table class="tbl" width="100%">(.*?)</table>`)
)

// pageStructure reduces a stats page to what must match haproxy's: per
// table, per row, the row's class and each cell's tag, attributes and
// text, with tooltips dropped and every number written N (the values
// differ between two processes; the forms must not: "N s UP",
// " L4OK in Nms", "Y", "-", "N/N").
func pageStructure(page string) []string {
	var out []string
	page = tipsRe.ReplaceAllString(page, "")
	for _, tbl := range tableRe.FindAllStringSubmatch(page, -1) {
		for _, tr := range trRe.FindAllStringSubmatch(tbl[1], -1) {
			var cells []string
			for _, c := range cellRe.FindAllStringSubmatch(tr[2], -1) {
				text := rlsRe.ReplaceAllString(c[3], "$1")
				// haproxy marks a check in progress "* L4OK"; dhproxy does
				// not know when one is.
				text = strings.Replace(text, "<u> * ", "<u> ", 1)
				text = digitsRe.ReplaceAllString(text, "N")
				// The ids and anchors name proxies whose numbers differ.
				cells = append(cells, c[1]+c[2]+"|"+text)
			}
			out = append(out, "tr"+tr[1]+": "+strings.Join(cells, " · "))
		}
	}
	return out
}

// displayOptions lists the links of the "Display option" block.
func displayOptions(page string) []string {
	i := strings.Index(page, "<b>Display option:</b>")
	if i < 0 {
		return nil
	}
	block := page[i:]
	block = block[:strings.Index(block, "</ul>")]
	links := regexp.MustCompile(`<a href="[^"]*">[^<]*</a>`).FindAllString(block, -1)
	// dhproxy serves no JSON schema (haproxy's "show schema json"), so it
	// offers no link to one.
	return slices.DeleteFunc(links, func(l string) bool { return strings.Contains(l, ";json-schema") })
}

// TestStatsPageMatchesHAProxy serves the same configuration with
// haproxy 2.6 and dhproxy and compares their stats pages: the tables'
// headers, each row's class and each cell's attributes and form (Status
// "5s UP", LastChk "L4OK in 0ms", Act/Bck "Y"/"-", weights "1/1", digit
// grouping), the process information block and its display options.
func TestStatsPageMatchesHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	web, _ := startHTTPBackend(t, "web")
	closed := freePort(t)
	want, wantURL, wantSock := servedPage(t, haproxyBin, web, closed)
	got, gotURL, gotSock := servedPage(t, bin, web, closed)
	compareStructure(t, "page", want, got)
	// The display options: ";up" hides the DOWN backup, the scope box
	// keeps the proxies whose name holds its text, ";norefresh" drops the
	// Refresh header.
	for _, opt := range []string{";up", ";norefresh", ";up;norefresh?scope=bE", "?scope=stat"} {
		w, g := httpGetBody(t, wantURL+opt), httpGetBody(t, gotURL+opt)
		compareStructure(t, opt, w, g)
		if w, g := strings.Join(displayOptions(w), "\n"), strings.Join(displayOptions(g), "\n"); w != g {
			t.Errorf("%s: display options differ:\nhaproxy:\n%s\ndhproxy:\n%s", opt, w, g)
		}
	}
	for _, opt := range []string{"", ";norefresh"} {
		w, g := refreshHeader(t, wantURL+opt), refreshHeader(t, gotURL+opt)
		if w != g {
			t.Errorf("%s: Refresh header %q, haproxy's %q", opt, g, w)
		}
	}
	// A server in maintenance: its row's class, status and the paused
	// check's empty LastChk.
	for _, sock := range []string{wantSock, gotSock} {
		if out := cliCmd(t, sock, "set server be/web1 state maint"); strings.TrimSpace(out) != "" {
			t.Fatalf("set server: %q", out)
		}
	}
	compareStructure(t, "web1 in maintenance", httpGetBody(t, wantURL), httpGetBody(t, gotURL))
	for _, block := range []string{"<h3>&gt; General process information</h3>", "<b>pid = </b>", "<b>uptime = </b>",
		"<b>system limits:</b> memmax = ", "<b>maxsock = </b>", "current conns = ", "Running tasks: ",
		`<table class="lgd">`, `Note: "NOLB"/"DRAIN" = UP with load-balancing disabled.`} {
		if !strings.Contains(got, block) {
			t.Errorf("dhproxy's page lacks %q", block)
		}
	}
	if w, g := strings.Join(displayOptions(want), "\n"), strings.Join(displayOptions(got), "\n"); w != g {
		t.Errorf("display options differ:\nhaproxy:\n%s\ndhproxy:\n%s", w, g)
	}
}

// compareStructure fails the test where the pages' structures differ.
func compareStructure(t *testing.T, what, want, got string) {
	t.Helper()
	ws, gs := pageStructure(want), pageStructure(got)
	if len(ws) == 0 {
		t.Fatalf("%s: no table rows found in haproxy's page:\n%s", what, want)
	}
	for i := 0; i < max(len(ws), len(gs)); i++ {
		var w, g string
		if i < len(ws) {
			w = ws[i]
		}
		if i < len(gs) {
			g = gs[i]
		}
		if w != g {
			t.Errorf("%s: row %d differs:\nhaproxy: %s\ndhproxy: %s", what, i, w, g)
		}
	}
}

func refreshHeader(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Refresh")
}

// TestStatsPageScreenshots renders both pages in headless Chromium, logged
// in with "stats auth", keeps the screenshots (in the test's temp dir and,
// when DHPROXY_ARTIFACTS is set, there) and checks that each shows the
// page: a sizeable image holding the colours of the title bars and of the
// up, down and unchecked server rows. Then web1 goes to maintenance
// through the runtime API and the next rendering shows its row in the
// maintenance colour.
func TestStatsPageScreenshots(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium (Debian package chromium):", err)
	}
	web, _ := startHTTPBackend(t, "web")
	closed := freePort(t)
	dir := t.TempDir()
	maintain := pageColours["maintain"]
	for _, who := range []struct{ name, path string }{{"haproxy", haproxyBin}, {"dhproxy", bin}} {
		_, url, sock := servedPage(t, who.path, web, closed)
		shot := filepath.Join(dir, "stats-"+who.name+".png")
		screenshot(t, chromium, url+";norefresh", shot)
		img := checkScreenshot(t, shot, "titre", "pxname", "active_up", "backup_down", "no_check")
		// Only the legend's swatch has the maintenance colour yet.
		before := countColour(img, maintain)
		if out := cliCmd(t, sock, "set server be/web1 state maint"); strings.TrimSpace(out) != "" {
			t.Fatalf("%s: set server: %q", who.name, out)
		}
		maint := filepath.Join(dir, "stats-"+who.name+"-maint.png")
		screenshot(t, chromium, url+";norefresh", maint)
		if after := countColour(checkScreenshot(t, maint, "titre", "pxname", "maintain", "backup_down", "no_check"), maintain); after < before+5000 {
			t.Errorf("%s: web1 in maintenance: %d pixels of the maintenance colour, %d before", who.name, after, before)
		}
		for _, f := range []string{shot, maint} {
			keepArtefact(t, f)
		}
		t.Logf("%s: %s %s", who.name, shot, maint)
	}
}

// keepArtefact copies a test output to $DHPROXY_ARTIFACTS when it is set.
func keepArtefact(t *testing.T, path string) {
	art := os.Getenv("DHPROXY_ARTIFACTS")
	if art == "" {
		return
	}
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(art, filepath.Base(path)), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// screenshot captures url into out. Under load Chromium sometimes writes
// the frame before the page is painted (a blank white image): such a
// capture is taken again, up to three times.
func screenshot(t *testing.T, chromium, url, out string) {
	t.Helper()
	for try := 1; ; try++ {
		captureOnce(t, chromium, url, out)
		if !blankImage(t, out) || try == 3 {
			return
		}
		t.Logf("%s: blank capture, taking it again", out)
	}
}

func blankImage(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return true
	}
	b := img.Bounds()
	first := img.At(b.Min.X, b.Min.Y)
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			if img.At(x, y) != first {
				return false
			}
		}
	}
	return true
}

func captureOnce(t *testing.T, chromium, url, out string) {
	t.Helper()
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(t.TempDir(), "profile"),
		"--virtual-time-budget=5000", "--screenshot="+out, "--window-size=1600,900", url)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chromium: %v\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("chromium took over 60s\n%s", stderr.String())
	}
}

// pageColours are the colours of haproxy's page the screenshots look for.
var pageColours = map[string][3]uint8{
	"titre": {0x20, 0xd0, 0xd0}, "pxname": {0xb0, 0x00, 0x40}, "active_up": {0xc0, 0xff, 0xc0},
	"backup_down": {0xff, 0x90, 0x90}, "no_check": {0xe0, 0xe0, 0xe0}, "maintain": {0xc0, 0x78, 0x20},
}

// checkScreenshot checks that the PNG shows a stats page: the named
// colours of haproxy's page (title bars, rows) each cover a fair area.
func checkScreenshot(t *testing.T, path string, want ...string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 600 {
		t.Fatalf("%s: %dx%d image", path, b.Dx(), b.Dy())
	}
	for _, name := range want {
		c := pageColours[name]
		if n := countColour(img, c); n < 500 {
			t.Errorf("%s: %d pixels of %s's colour #%02x%02x%02x", path, n, name, c[0], c[1], c[2])
		}
	}
	return img
}

func countColour(img image.Image, c [3]uint8) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == c[0] && uint8(g>>8) == c[1] && uint8(bl>>8) == c[2] {
				n++
			}
		}
	}
	return n
}

// TestStatsCheckINIMatchesHAProxy: before its first check (the second of
// two servers checked every hour waits half an hour for it), a server is
// shown as haproxy shows it: "UP 1/3", check INI, health at rise, its row
// going down, "UP 1/3 &darr;" on the page.
func TestStatsCheckINIMatchesHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	web, _ := startHTTPBackend(t, "web")
	var answers [2]string
	for i, path := range []string{haproxyBin, bin} {
		port := freePort(t)
		startBinary(t, path, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend be
    server s1 127.0.0.1:%d check inter 1h
    server s2 127.0.0.1:%d check inter 1h
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /st
`, web, web, port), port)
		url := fmt.Sprintf("http://127.0.0.1:%d/st", port)
		// s1 is checked at start-up by both (first in the spread), s2 an
		// hour later: wait for s1's first check so only s2 is caught mid-way.
		csv := statusColumns(httpGetBody(t, url+";csv"))
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(csv, "be,s1,UP\n") && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			csv = statusColumns(httpGetBody(t, url+";csv"))
		}
		var b strings.Builder
		b.WriteString(csv)
		for _, tr := range trRe.FindAllStringSubmatch(tipsRe.ReplaceAllString(httpGetBody(t, url), ""), -1) {
			if strings.Contains(tr[2], `name="be/s2"`) {
				b.WriteString(tr[1] + " " + digitsRe.ReplaceAllString(rlsRe.ReplaceAllString(tr[2], "$1"), "N") + "\n")
			}
		}
		answers[i] = b.String()
	}
	if answers[0] != answers[1] {
		t.Errorf("dhproxy:\n%s\nhaproxy:\n%s", answers[1], answers[0])
	}
	if !strings.Contains(answers[1], "be,s2,UP 1/3\n") {
		t.Errorf("s2 before its first check:\n%s", answers[1])
	}
}
