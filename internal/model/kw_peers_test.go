package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dhproxy/internal/config"
)

func buildPeers(t *testing.T, cfg, local string) (*Config, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(path, []byte(cfg), 0o644)
	var d config.Diags
	c := Build(config.Load([]string{path}, nil, &d), &d)
	if c != nil {
		c.ResolvePeers(local, &d)
	}
	var b strings.Builder
	d.Write(&b, 0)
	return c, b.String()
}

func TestPeersSection(t *testing.T) {
	c, out := buildPeers(t, `global
    localpeer ignored
peers mesh
    peer a 127.0.0.1:10001
    peer b 127.0.0.1:10002
    table keys type string len 16 size 10 expire 1m store http_req_cnt
peers srv
    bind 127.0.0.1:10003
    default-server
    server a
    server c 127.0.0.1:10004
frontend fe
    mode http
    bind 127.0.0.1:8080
    stick-table type ip size 10 peers mesh
    http-request track-sc0 src
    http-request track-sc1 hdr(host) table mesh/keys
    default_backend be
backend be
    mode http
    server s 127.0.0.1:8081
`, "a")
	if c == nil || out != "" {
		t.Fatalf("diagnostics:\n%s", out)
	}
	mesh, srv := c.PeersSection("mesh"), c.PeersSection("srv")
	if mesh.Local == nil || mesh.Local.Name != "a" || mesh.ListenAddr() != "127.0.0.1:10001" || len(mesh.Tables) != 1 {
		t.Errorf("mesh: %+v", mesh)
	}
	if srv.Local == nil || srv.ListenAddr() != "127.0.0.1:10003" {
		t.Errorf("srv: %+v", srv)
	}
	if c.Global.LocalPeer != "ignored" || c.Proxies[0].StickTable.PeersSection != mesh || mesh.Tables[0].StickTable.Len != 16 {
		t.Errorf("tables not linked to their section")
	}
}

func TestPeersErrors(t *testing.T) {
	for _, c := range []struct{ cfg, want string }{
		{"peers p\n    shards 2\n", "haproxy.cfg:2] : unknown keyword 'shards' in 'peers' section"},
		{"peers p\n    enable\n", "unknown keyword 'enable'"},
		{"peers p\n    peer a\n", "'peer a' needs an address"},
		{"peers p\n    peer a 127.0.0.1:1\n    peer a 127.0.0.1:2\n", "peer 'a' is already declared"},
		{"peers p\n    peer a 127.0.0.1:1 ssl\n", "haproxy.cfg:2"},
		{"peers p\n    default-server ssl verify none\n", "not supported by dhproxy yet"},
		{"peers p\n    server a 127.0.0.1:1\n", "no address was expected for it"},
		{"peers p\n    server a\n", "has no 'bind' line"},
		{"peers p\n    peer a 127.0.0.1:1\n    peer b 127.0.0.1:2\n", ""},
		{"peers p\n    peer zz 127.0.0.1:1\n", "Removing incomplete section 'peers p' (no peer named 'a')"},
		{"backend x\n    stick-table type ip size 10 peers nope\n", "Proxy 'x': unable to find sync peers 'nope'"},
		{"peers p\n    peer a 127.0.0.1:1\n    table t type ip size 1 peers p\n", "a table of a peers section is shared by that section"},
		{"peers p\n    peer a 127.0.0.1:1\n    table t type ip\n", "needs a 'size'"},
	} {
		_, out := buildPeers(t, c.cfg, "a")
		if c.want == "" && out != "" || !strings.Contains(out, c.want) {
			t.Errorf("%q:\n%s\nwant %q", c.cfg, out, c.want)
		}
	}
}
