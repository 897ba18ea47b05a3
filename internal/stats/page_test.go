package stats

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestU2H(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0", 999: "999",
		9984:    `<span class="rls">9</span>984`,
		11085:   `1<span class="rls">1</span>085`,
		1246069: `<span class="rls">1</span>24<span class="rls">6</span>069`,
	} {
		if got := u2h(n); got != want {
			t.Errorf("u2h(%d) = %s, want %s", n, got, want)
		}
	}
}

// TestHumanTime: haproxy's human_time, at most two units, zero units
// skipped.
func TestHumanTime(t *testing.T) {
	for s, want := range map[int64]string{
		-1: "?", 0: "0s", 5: "5s", 60: "1m", 63: "1m3s", 3601: "1h1s", 3660: "1h1m", 7384: "2h3m",
		86400: "1d", 90061: "1d1h", 86401: "1d1s",
	} {
		if got := humanTime(s); got != want {
			t.Errorf("humanTime(%d) = %q, want %q", s, got, want)
		}
	}
}

func TestParsePageOptions(t *testing.T) {
	for rest, want := range map[string]PageOptions{
		"":                                  {},
		";up":                               {HideDown: true},
		";up;norefresh":                     {HideDown: true, NoRefresh: true},
		"?scope=web":                        {Scope: "web"},
		";norefresh?scope=be&x=1":           {NoRefresh: true, Scope: "be"},
		"?scope=abcdefghijklmnopqrstuvwxyz": {Scope: "abcdefghijklmnopqrst"},
		"?xscope=be":                        {},
	} {
		if got := ParsePageOptions(rest); got != want {
			t.Errorf("%q: %+v, want %+v", rest, got, want)
		}
	}
}

func FuzzParsePageOptions(f *testing.F) {
	for _, s := range []string{"", ";up", ";norefresh?scope=x", "scope=", "?scope=<script>", ";csv;up"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if o := ParsePageOptions(s); len(o.Scope) > scopeMaxLen {
			t.Errorf("%q: scope %q longer than %d", s, o.Scope, scopeMaxLen)
		}
	})
}

const pageCfg = `
global
    node edge-1
    description front tier
frontend fe
    mode http
    bind 127.0.0.1:PORT
    default_backend be
backend be
    mode http
    server s1 127.0.0.1:9 check
    server s2 127.0.0.1:9 backup
listen stats
    mode http
    bind 127.0.0.1:PORT
    stats enable
    stats uri /st
    stats refresh 5s
    stats hide-version
    stats show-node
    stats show-desc
    stats scope be
    stats scope .
`

// TestPageSettings: hide-version, show-node, show-desc (defaulting to the
// global node and description), stats scope (with "." for the serving
// proxy) and the scope box shape the page as they do haproxy's.
func TestPageSettings(t *testing.T) {
	src := startRuntime(t, pageCfg)
	sp := src.RT.Config().Proxy("stats")
	page := src.HTML(sp, PageOptions{})
	for _, want := range []string{
		"<title>Statistics Report for dhproxy on edge-1</title>",
		`<h1><a href="/st" style="text-decoration: none;">dhproxy</a></h1>`,
		"<h2>Statistics Report for pid ",
		" on edge-1: front tier</h2>",
		`<a name="be"></a>`, `<a name="stats"></a>`,
		`<li><a href="/st;norefresh">Disable refresh</a><br>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, `<a name="fe"></a>`) || strings.Contains(page, "version") {
		t.Error("page shows fe (out of 'stats scope') or the version (hidden)")
	}
	page = src.HTML(sp, PageOptions{Scope: "ST", HideDown: true})
	if strings.Contains(page, `<a name="be"></a>`) || !strings.Contains(page, `<a name="stats"></a>`) ||
		!strings.Contains(page, `<li><a href="/st?scope=ST">Show all servers</a><br>`) {
		t.Errorf("scope ST, ;up:\n%s", page)
	}
	csv := src.CSV(src.pageFilter(sp, PageOptions{}))
	if strings.Contains(csv, "\nfe,") || !strings.Contains(csv, "\nbe,BACKEND,") {
		t.Errorf("the CSV export ignores 'stats scope':\n%s", csv)
	}
}

// TestInfoConnRate: the process's connection rate is the frontends' sum.
func TestInfoConnRate(t *testing.T) {
	src := startRuntime(t, pageCfg)
	var addr string
	for _, p := range src.RT.Config().Proxies {
		if p.Name == "fe" {
			addr = p.Binds[0].Addr
		}
	}
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		defer c.Close()
	}
	// The rate covers the last second: poll shortly for the sessions.
	var rates map[string]int64
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		rates = map[string]int64{}
		for _, f := range src.Info() {
			if f.Name == "ConnRate" || f.Name == "SessRate" {
				rates[f.Name] = f.Value.N
			}
		}
		if rates["ConnRate"] >= 3 && rates["SessRate"] >= 3 {
			return
		}
	}
	t.Errorf("after 3 connections: %v", rates)
}
