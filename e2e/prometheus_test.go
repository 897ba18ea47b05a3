package e2e

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape fetches url and parses it with Prometheus' own text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s: status %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("%s: not parsed by Prometheus: %v", url, err)
	}
	return families
}

// series names each sample of a family by its labels.
func series(f *dto.MetricFamily) []string {
	var out []string
	for _, m := range f.Metric {
		var labels []string
		for _, l := range m.Label {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(labels)
		out = append(out, "{"+strings.Join(labels, ",")+"}")
	}
	sort.Strings(out)
	return out
}

// checkState tells whether server's haproxy_server_check_status is 1 for
// state.
func checkState(families map[string]*dto.MetricFamily, server, state string) bool {
	f := families["haproxy_server_check_status"]
	if f == nil {
		return false
	}
	for _, m := range f.Metric {
		var sv, st string
		for _, l := range m.Label {
			switch l.GetName() {
			case "server":
				sv = l.GetValue()
			case "state":
				st = l.GetValue()
			}
		}
		if sv == server && st == state && m.GetGauge().GetValue() == 1 {
			return true
		}
	}
	return false
}

// TestPrometheusMatchesHAProxy scrapes haproxy 2.6's built-in exporter and
// dhproxy's for the same configuration, parses both with Prometheus'
// parser and compares them family by family: names, types, and each
// family's series (label sets). Values are not compared.
func TestPrometheusMatchesHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	web, _ := startHTTPBackend(t, "web")
	closed := freePort(t)
	scrapes := map[string]map[string]*dto.MetricFamily{}
	urls := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		port := freePort(t)
		startBinary(t, path, `global
    maxconn 200`+defaultsSection("http", "1s", "5s", "5s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend be
backend be
    server web1 127.0.0.1:%d check inter 200ms
    server web2 127.0.0.1:%d maxconn 10
    server web3 127.0.0.1:%d check inter 200ms backup
`, port, web, web, closed), port)
		for i := 0; i < 5; i++ {
			httpGetBody(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
		}
		// Scrape once the checks have a result: web3's L4CON.
		url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
		urls[path] = url
		deadline := time.Now().Add(10 * time.Second)
		for {
			scrapes[path] = scrape(t, url)
			if checkState(scrapes[path], "web3", "L4CON") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: web3's check never reported L4CON", path)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	want, got := scrapes[haproxyBin], scrapes[bin]
	var names []string
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w := want[name]
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: missing", name)
			continue
		}
		if w.GetType() != g.GetType() {
			t.Errorf("%s: type %v, haproxy's %v", name, g.GetType(), w.GetType())
		}
		// haproxy 2.6 announces haproxy_server_http_responses_total but
		// writes no sample of it; dhproxy writes the servers' counts.
		if name == "haproxy_server_http_responses_total" {
			continue
		}
		// The version is each product's own.
		if name == "haproxy_process_build_info" {
			continue
		}
		if ws, gs := series(w), series(g); !slices.Equal(ws, gs) {
			t.Errorf("%s: series\n%v\nhaproxy's\n%v", name, gs, ws)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: not in haproxy's exporter", name)
		}
	}
	t.Logf("%d families compared", len(names))

	// The scope query parameters select the same families.
	for _, q := range []string{"scope=global", "scope=frontend", "scope=backend&scope=server", "scope=server&no-maint", "scope="} {
		w, g := familyNames(scrape(t, urls[haproxyBin]+"?"+q)), familyNames(scrape(t, urls[bin]+"?"+q))
		if !slices.Equal(w, g) {
			t.Errorf("?%s: families\n%v\nhaproxy's\n%v", q, g, w)
		}
	}
}

func familyNames(families map[string]*dto.MetricFamily) []string {
	var out []string
	for name := range families {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
