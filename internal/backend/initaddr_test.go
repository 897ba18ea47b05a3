package backend

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"dhproxy/internal/config"
	"dhproxy/internal/model"
)

func fakeResolver(t *testing.T, names map[string][]netip.Addr) {
	orig := lookupHost
	lookupHost = func(_ context.Context, host string) ([]netip.Addr, error) {
		if a, ok := names[host]; ok {
			return a, nil
		}
		return nil, errors.New("no such host")
	}
	t.Cleanup(func() { lookupHost = orig })
}

func buildConfig(t *testing.T, text string) *model.Config {
	t.Helper()
	path := t.TempDir() + "/h.cfg"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var d config.Diags
	cfg := model.Build(config.Load([]string{path}, nil, &d), &d)
	if cfg == nil || d.HasErrors() {
		t.Fatal("config refused")
	}
	return cfg
}

func TestResolveServersAtStart(t *testing.T) {
	fakeResolver(t, map[string][]netip.Addr{
		"web1.lan": {netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("10.0.0.1")},
		"web6.lan": {netip.MustParseAddr("2001:db8::6")},
	})
	cfg := buildConfig(t, `backend be
    server a web1.lan:80
    server b web6.lan:8080 check
    server c gone.lan:80 init-addr libc,192.0.2.7
    server d gone.lan:80 init-addr last,none
    server e 127.0.0.1:81
    server f web1.lan
`)
	unresolved, err := ResolveServers(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range cfg.Proxy("be").Servers {
		got[s.Name] = s.Addr
	}
	want := map[string]string{"a": "10.0.0.1:80", "b": "[2001:db8::6]:8080", "c": "192.0.2.7:80",
		"d": "gone.lan:80", "e": "127.0.0.1:81", "f": "10.0.0.1:0"}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("server %s: address %q, want %q", n, got[n], w)
		}
	}
	if len(unresolved) != 1 {
		t.Fatalf("unresolved %v, want only d", unresolved)
	}
	for s := range unresolved {
		if s.Name != "d" {
			t.Fatalf("unresolved %s, want d", s.Name)
		}
	}
}

// Without init-addr, a name that does not resolve stops the start, in
// HAProxy's words.
func TestResolveServersFailure(t *testing.T) {
	fakeResolver(t, nil)
	cfg := buildConfig(t, "backend be\n    server s1 nowhere.lan:80\n")
	_, err := ResolveServers(cfg, nil)
	if err == nil {
		t.Fatal("an unresolvable server was accepted")
	}
	if !strings.Contains(err.Error(), "h.cfg:2] : 'server be/s1' : could not resolve address 'nowhere.lan'.") ||
		!strings.HasSuffix(err.Error(), "config : Failed to initialize server(s) addr.") {
		t.Fatalf("error %q", err)
	}
}
