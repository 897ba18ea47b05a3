package model

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestResolversSection(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(conf, []byte("search lan\nnameserver 10.0.0.53\nnameserver ::1\n"), 0o644)
	old := resolvConf
	resolvConf = conf
	t.Cleanup(func() { resolvConf = old })
	cfg := buildText(t, `resolvers dns
    nameserver ns1 127.0.0.1:5353
    parse-resolv-conf
    hold valid 2s
    hold obsolete 1s
    resolve_retries 2
    timeout retry 200ms
    accepted_payload_size 8192
resolvers plain
    nameserver ns1 127.0.0.1:53
backend be
    server a app.example:80 resolvers dns resolve-prefer ipv4 resolve-net 10.0.0.0/8 resolve-opts allow-dup-ip,ignore-weight init-addr none
    server b 127.0.0.1:80 resolvers dns
    server-template web 2-3 web.example:8080 resolvers plain init-addr none
    server-template srv 2 _http._tcp.svc.example resolvers dns
`)
	r := cfg.ResolversSection("dns")
	want := []Nameserver{{Name: "ns1", Addr: "127.0.0.1:5353"}, {Name: "resolvconf1", Addr: "10.0.0.53:53"}, {Name: "resolvconf2", Addr: "[::1]:53"}}
	if len(r.Nameservers) != len(want) {
		t.Fatalf("nameservers %+v", r.Nameservers)
	}
	for i, ns := range r.Nameservers {
		if ns.Name != want[i].Name || ns.Addr != want[i].Addr {
			t.Errorf("nameserver %d: %s %s, want %s %s", i, ns.Name, ns.Addr, want[i].Name, want[i].Addr)
		}
	}
	if r.HoldValid != 2*time.Second || r.HoldObsolete != time.Second || r.HoldNX != 30*time.Second || r.ResolveRetries != 2 ||
		r.TimeoutRetry != 200*time.Millisecond || r.TimeoutResolve != time.Second || r.AcceptedPayloadSize != 8192 {
		t.Errorf("settings %+v", r)
	}
	if p := cfg.ResolversSection("plain"); p.HoldValid != 10*time.Second || p.AcceptedPayloadSize != 512 || p.ResolveRetries != 3 {
		t.Errorf("defaults %+v", p)
	}
	be := cfg.Proxy("be")
	var names []string
	for _, s := range be.Servers {
		names = append(names, s.Name)
	}
	if got := names; len(got) != 6 || got[2] != "web2" || got[3] != "web3" || got[4] != "srv1" || got[5] != "srv2" {
		t.Fatalf("servers %v", got)
	}
	a := be.Servers[0]
	if a.ResolversRef != r || a.FQDN != "app.example" || a.ResolvePrefer != "ipv4" || !a.ResolveAllowDup || !a.ResolveIgnoreWeight ||
		len(a.ResolveNets) != 1 || a.ResolveNets[0] != netip.MustParsePrefix("10.0.0.0/8") {
		t.Errorf("server a %+v", a)
	}
	if b := be.Servers[1]; b.FQDN != "" || b.ResolversRef != r {
		t.Errorf("an IP server follows no name: %+v", b)
	}
	if w := be.Servers[2]; w.FQDN != "web.example" || w.Template != "web" || w.Addr != "web.example:8080" || w.SRV != "" {
		t.Errorf("template server %+v", w)
	}
	if s := be.Servers[5]; s.SRV != "_http._tcp.svc.example" || s.FQDN != "" || s.ID != 6 {
		t.Errorf("SRV template server %+v", s)
	}
}
