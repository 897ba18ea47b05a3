package backend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A state file written by "show servers state" gives each listed server of
// the backends that load it its saved state; bad lines are skipped.
func TestReadServerStates(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "state"), []byte(`1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 be 1 a 10.0.0.7 2 1 5 1 12 1 0 2 0 0 0 0 a.example 80 - 0 0 - - 0
3 be 2 b 127.0.0.1 2 8 1 1 12 1 0 2 0 0 0 0 - 80 - 0 0 - - 0
3 be 3 c not-an-ip 2 1 1 1 12 1 0 2 0 0 0 0 - 80 - 0 0 - - 0
3 be 4 d 127.0.0.1 2 1
3 other 1 a 127.0.0.1 2 1 1 1 12 1 0 2 0 0 0 0 - 80 - 0 0 - - 0
`), 0o644)
	cfg := buildConfig(t, `global
    server-state-base `+dir+`
    server-state-file state
backend be
    load-server-state-from-file global
    server a a.example:80 init-addr last,none
    server b 127.0.0.1:80
    server c 127.0.0.1:80
    server d 127.0.0.1:80
backend none
    server a 127.0.0.1:80
`)
	states := ReadServerStates(cfg)
	be := cfg.Proxy("be")
	if len(states) != 2 {
		t.Fatalf("states %v", states)
	}
	if st := states[be.Servers[0]]; st.Admin != 1 || st.UWeight != 5 || st.IWeight != 1 || st.FQDN != "a.example" {
		t.Errorf("a: %+v", st)
	}
	if ip, ok := states.LastAddr(be.Servers[0]); !ok || ip.String() != "10.0.0.7" {
		t.Errorf("a's last address %v %v", ip, ok)
	}
	unresolved, err := ResolveServers(cfg, states)
	if err != nil || len(unresolved) != 0 || be.Servers[0].Addr != "10.0.0.7:80" {
		t.Errorf("init-addr last: %v %v %s", unresolved, err, be.Servers[0].Addr)
	}
	if st := states[be.Servers[1]]; st.Admin != 8 {
		t.Errorf("b: %+v", st)
	}
}

func FuzzParseStateLine(f *testing.F) {
	f.Add("3 be 1 a 10.0.0.7 2 1 5 1 12 1 0 2 0 0 0 0 a.example 80 - 0 0 - - 0")
	f.Add("3 be 1 a - 2 300 5 1 12 1 0 2 0 0 0 0 - 80 -")
	f.Fuzz(func(t *testing.T, line string) {
		st, err := parseStateLine(strings.Fields(line))
		if err == nil && (st.UWeight > 256 || st.IWeight > 256) {
			t.Fatalf("weights out of range accepted: %+v", st)
		}
	})
}
