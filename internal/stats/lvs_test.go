package stats

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"dhproxy/internal/lvs"
	"dhproxy/internal/model"
	"dhproxy/internal/txtar"
)

// virtualSource is the runtime and virtual servers of testdata/lvs.txtar.
func virtualSource(t *testing.T) *Source {
	raw, err := os.ReadFile("testdata/lvs.txtar")
	if err != nil {
		t.Fatal(err)
	}
	a := txtar.Parse(string(raw))
	cfg, _ := a.Get("haproxy.cfg")
	virtual, _ := a.Get("virtual.json")
	var svcs []lvs.ServiceStats
	if err := json.Unmarshal([]byte(virtual), &svcs); err != nil {
		t.Fatal(err)
	}
	src := startRuntime(t, cfg)
	src.Virtual = func() ([]lvs.ServiceStats, error) { return svcs, nil }
	return src
}

// svnames lists the pxname/svname of the CSV's rows.
func svnames(csv string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(csv), "\n")[1:] {
		f := strings.SplitN(l, ",", 3)
		out = append(out, f[0]+"/"+f[1])
	}
	return strings.Join(out, " ")
}

// TestVirtualFilters: "show stat <proxy|iid> <type> <sid>" and "up" select
// virtual server rows as they do the proxies'.
func TestVirtualFilters(t *testing.T) {
	src := virtualSource(t)
	const vs = "[10.0.0.100]:tcp:80"
	for _, c := range []struct {
		f    Filter
		want string
	}{
		{Filter{Proxy: vs, IID: -1, Types: 4, SID: -1}, vs + "/[10.0.0.2]:tcp:80 " + vs + "/[10.0.0.3]:tcp:80 " + vs + "/[10.0.0.4]:tcp:8080 " + vs + "/[10.0.0.5]:tcp:80 " + vs + "/[10.0.0.9]:tcp:80"},
		{Filter{IID: 4, Types: -1, SID: -1}, "FWM 7/[10.0.1.2]:udp:53 FWM 7/BACKEND"},
		{Filter{IID: -1, Types: 2, SID: -1}, "be/BACKEND " + vs + "/BACKEND FWM 7/BACKEND"},
		{Filter{IID: -1, Types: 4, SID: 1}, "be/s1 " + vs + "/[10.0.0.2]:tcp:80 FWM 7/[10.0.1.2]:udp:53"},
		{Filter{IID: 3, Types: 4, SID: -1, OnlyUp: true}, vs + "/[10.0.0.2]:tcp:80 " + vs + "/[10.0.0.4]:tcp:8080 " + vs + "/[10.0.0.5]:tcp:80 " + vs + "/[10.0.0.9]:tcp:80"},
	} {
		if got := svnames(src.CSV(c.f)); got != c.want {
			t.Errorf("%+v\n got %s\nwant %s", c.f, got, c.want)
		}
	}
	if got := src.Typed(Filter{IID: 4, Types: 2, SID: -1}); !strings.HasPrefix(got, "B.4.0.0.pxname.1:KNS:str:FWM 7\nB.4.0.1.svname.1:KNS:str:BACKEND\n") {
		t.Errorf("typed backend of the fwmark service:\n%s", got)
	}
}

// TestVirtualPage: the HTML page has a table per virtual server, with the
// row classes and anchors of haproxy's page.
func TestVirtualPage(t *testing.T) {
	src := virtualSource(t)
	page := src.HTML(&model.Proxy{}, PageOptions{})
	for _, want := range []string{
		`<tr class="active_up"><td class=ac><a name="[10.0.0.100]:tcp:80/[10.0.0.2]:tcp:80"></a><a class=lfsb href="#[10.0.0.100]:tcp:80/[10.0.0.2]:tcp:80">[10.0.0.2]:tcp:80</a></td>`,
		`<tr class="active_down"><td class=ac><a name="[10.0.0.100]:tcp:80/[10.0.0.3]:tcp:80"></a>`,
		`<tr class="active_going_down"><td class=ac><a name="[10.0.0.100]:tcp:80/[10.0.0.4]:tcp:8080"></a>`,
		`<tr class="backup_no_check"><td class=ac><a name="[10.0.0.100]:tcp:80/[10.0.0.9]:tcp:80"></a>`,
		`<a name="FWM 7"></a><a class=px href="#FWM 7">FWM 7</a></th>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

// TestVirtualUnreachable: without an answer from the virtual servers the
// proxies' rows are still reported.
func TestVirtualUnreachable(t *testing.T) {
	src := virtualSource(t)
	src.Virtual = func() ([]lvs.ServiceStats, error) { return nil, errors.New("no socket") }
	if got := svnames(src.CSV(All)); got != "fe/FRONTEND be/s1 be/BACKEND" {
		t.Errorf("rows: %s", got)
	}
}
