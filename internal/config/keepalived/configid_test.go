package keepalived

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dhproxy/internal/config"
)

// condConf is one keepalived.conf for a pair of nodes, "high" and "low",
// in the shape of keepalived's sample keepalived.conf.conditional_conf:
// '@ID' and '@^ID' lines, indented or not, blank or tab after the id, in
// the main file and in an included one, on an include line, a block
// opener and a definition.
const condConf = `@high $PRIO=170
@low  $PRIO=85
global_defs {
@high	router_id lb_high
@^high	router_id lb_other
}
@high include high.inc
vrrp_script chk {
@high	script "/bin/true high"
@low	script "/bin/true low"
	interval 1
}
vrrp_instance VI_0 {
	interface eth0
	virtual_router_id 1
	priority $PRIO
	track_script {
		chk
	}
	virtual_ipaddress {
		10.1.0.254/32
	}
	include vips.inc
}
`

const condVIPs = `  @low virtual_ipaddress {
  @low   10.1.0.1/32
  @low }
	@^low virtual_ipaddress_excluded {
	@^low   10.1.0.2/32
	@^low }
`

// condHigh is only read with id "high": an '@' line opening a block.
const condHigh = `@high vrrp_instance VI_H {
	interface eth1
	virtual_router_id 2
	virtual_ipaddress {
		10.1.0.3/32
	}
}
`

func loadCond(t *testing.T, id string, files map[string]string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var d config.Diags
	var c *Config
	if id == "" {
		c = Load(filepath.Join(dir, "keepalived.conf"), &d)
	} else {
		c = LoadWithID(filepath.Join(dir, "keepalived.conf"), id, &d)
	}
	var diags bytes.Buffer
	d.Write(&diags, 0)
	if c == nil {
		return "(no config)", diags.String()
	}
	return dump(c), diags.String()
}

// TestConfigID: the config id selects lines as keepalived's -i does.
func TestConfigID(t *testing.T) {
	files := map[string]string{"keepalived.conf": condConf, "vips.inc": condVIPs, "high.inc": condHigh}
	cases := []struct {
		id      string
		want    []string
		notWant []string
	}{
		{"high", []string{"router_id=lb_high ", `vrrp_script chk "/bin/true high"`, "VI_0 BACKUP if=eth0 vrid=1 prio=170", "evip 10.1.0.2/32", "vrrp_instance VI_H BACKUP if=eth1 vrid=2"},
			[]string{"lb_other", "10.1.0.1/32", "true low"}},
		{"low", []string{"router_id=lb_other ", `vrrp_script chk "/bin/true low"`, "prio=85", "vip 10.1.0.1/32"},
			[]string{"lb_high", "10.1.0.2/32", "VI_H", "true high"}},
	}
	for _, c := range cases {
		got, diags := loadCond(t, c.id, files)
		if diags != "" {
			t.Errorf("-i %s: diagnostics:\n%s", c.id, diags)
		}
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("-i %s: no %q in\n%s", c.id, w, got)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(got, w) {
				t.Errorf("-i %s: %q in\n%s", c.id, w, got)
			}
		}
	}
	// Another id gets neither script line: keepalived drops the script.
	if got, diags := loadCond(t, "other", files); !strings.Contains(diags, "keepalived.conf:8") || !strings.Contains(diags, "no 'script' line") {
		t.Errorf("-i other: want the scriptless vrrp_script at keepalived.conf:8, got\n%s\n%s", diags, got)
	}
}

// TestConfigIDDefault: without -i the id is the host name up to its
// first dot, as keepalived's default (uname's node name).
func TestConfigIDDefault(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	short, _, _ := strings.Cut(host, ".")
	if got := DefaultConfigID(); got != short {
		t.Fatalf("DefaultConfigID() = %q, want %q", got, short)
	}
	conf := "vrrp_instance VI_0 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.1.0.254\n }\n@" + short + " priority 201\n@^" + short + " priority 202\n}\n"
	got, diags := loadCond(t, "", map[string]string{"keepalived.conf": conf})
	if !strings.Contains(got, "prio=201") || diags != "" {
		t.Errorf("Load on %s: want prio=201\n%s\n%s", host, got, diags)
	}
}

// TestConfigIDBlankAfterAt: '@' or '@^' with a blank before the id is
// keepalived's empty id: the line is never used, or always used, and a
// warning names it.
func TestConfigIDBlankAfterAt(t *testing.T) {
	conf := "vrrp_instance VI_0 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.1.0.254\n }\n @ priority 201\n @^ nopreempt\n@high\n@^\n}\n"
	got, diags := loadCond(t, "high", map[string]string{"keepalived.conf": conf})
	if !strings.Contains(got, "prio=100 ") || !strings.Contains(got, "nopreempt=true") {
		t.Errorf("want priority 100 (the '@ ' line skipped) and nopreempt (the '@^ ' line used):\n%s", got)
	}
	for _, w := range []string{"keepalived.conf:7] : '@' is not followed by a config id", "keepalived.conf:8] : '@^' is not followed by a config id", "keepalived.conf:10] : '@^' is not"} {
		if !strings.Contains(diags, w) {
			t.Errorf("no %q in\n%s", w, diags)
		}
	}
	if strings.Contains(diags, "ALERT") || strings.Contains(diags, ":9]") {
		t.Errorf("want warnings only, none for the lone '@high':\n%s", diags)
	}
}
