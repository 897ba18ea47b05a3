package stats

import (
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/config"
	"dhproxy/internal/lvs"
	"dhproxy/internal/model"
	"dhproxy/internal/stream"
	"dhproxy/internal/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected output of golden tests")

// startRuntime builds and runs cfgText (binds on 127.0.0.1:0 are fine).
func startRuntime(t *testing.T, cfgText string) *Source {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "haproxy.cfg")
	// "PORT" in a bind line becomes a free port for each occurrence.
	for strings.Contains(cfgText, "127.0.0.1:PORT") {
		cfgText = strings.Replace(cfgText, "127.0.0.1:PORT", "127.0.0.1:"+freePort(t), 1)
	}
	os.WriteFile(path, []byte(cfgText), 0o644)
	var d config.Diags
	secs := config.Load([]string{path}, func(string) (string, bool) { return "", false }, &d)
	cfg := model.Build(secs, &d)
	if cfg == nil {
		var b strings.Builder
		d.Write(&b, 0)
		t.Fatalf("config refused:\n%s", b.String())
	}
	rt, err := stream.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return &Source{RT: rt, Name: "dhproxy", Version: "1.0", ReleaseDate: "2026/11/25", Start: time.Now()}
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// lastchg counts seconds since start: masked, it may tick during a run.
var lastchgTyped = regexp.MustCompile(`(?m)^(\w\.\d+\.\d+\.23\.lastchg\.1:\w+:\w+:).*$`)

var lastchgJSON = regexp.MustCompile(`("name":"lastchg"[^}]*\}[^}]*\},"value":\{"type":"u32","value":)\d+`)

func maskLastchg(csv string) string {
	lines := strings.Split(csv, "\n")
	for i := 1; i < len(lines); i++ {
		if f := strings.Split(lines[i], ","); len(f) > 23 && f[23] != "" {
			f[23] = "*"
			lines[i] = strings.Join(f, ",")
		}
	}
	return strings.Join(lines, "\n")
}

// volatile masks the values that depend on time and the process.
var volatile = regexp.MustCompile(`(?m)^(\d+\.(Pid|Uptime|Uptime_sec|Start_time_sec|Ulimit-n|Maxsock|Nbthread|node|Listeners|Jobs|PoolAlloc_MB|PoolUsed_MB|PoolAlloc_bytes|PoolUsed_bytes|Tasks|Idle_pct)\.1:\w+:\w+:).*$`)

// TestGoldenOutputs renders "show stat", "show stat typed", "show info
// typed" and the Prometheus scope=backend of each testdata/*.txtar's
// haproxy.cfg, before any traffic, and compares them with the archive.
func TestGoldenOutputs(t *testing.T) {
	archives, _ := filepath.Glob("testdata/*.txtar")
	if len(archives) == 0 {
		t.Fatal("no golden files")
	}
	for _, path := range archives {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			a := txtar.Parse(string(raw))
			cfg, _ := a.Get("haproxy.cfg")
			src := startRuntime(t, cfg)
			jsonProxy := "be"
			// virtual.json: the virtual servers' snapshot, as the LVS
			// control socket answers "stats".
			virtual, hasVirtual := a.Get("virtual.json")
			if hasVirtual {
				var svcs []lvs.ServiceStats
				if err := json.Unmarshal([]byte(virtual), &svcs); err != nil {
					t.Fatalf("virtual.json: %v", err)
				}
				src.Virtual = func() ([]lvs.ServiceStats, error) { return svcs, nil }
				jsonProxy = svcs[0].Name
			}
			got := map[string]string{
				"show-stat":       maskLastchg(src.CSV(All)),
				"show-stat-typed": lastchgTyped.ReplaceAllString(src.Typed(All), "$1*"),
				"show-info-typed": volatile.ReplaceAllString(src.InfoText(true), "$1*"),
				"prometheus":      src.Prometheus("scope=backend&scope=server"),
				"show-stat-json":  lastchgJSON.ReplaceAllString(src.JSON(Filter{Proxy: jsonProxy, IID: -1, Types: -1, SID: -1}), "$1*"),
			}
			if *update {
				out := txtar.Archive{Comment: a.Comment, Files: []txtar.File{{Name: "haproxy.cfg", Data: cfg}}}
				if hasVirtual {
					out.Files = append(out.Files, txtar.File{Name: "virtual.json", Data: virtual})
				}
				for _, n := range []string{"show-stat", "show-stat-typed", "show-stat-json", "show-info-typed", "prometheus"} {
					out.Files = append(out.Files, txtar.File{Name: n, Data: got[n]})
				}
				os.WriteFile(path, []byte(out.Format()), 0o644)
				return
			}
			for name, g := range got {
				if want, _ := a.Get(name); g != want {
					t.Errorf("%s differs (rerun with -update to accept)\n--- got\n%s--- want\n%s", name, g, want)
				}
			}
		})
	}
}

// TestHeaderIsHAProxy26 pins the column order to haproxy 2.6.12's (Debian's
// build, with the h1 module).
func TestHeaderIsHAProxy26(t *testing.T) {
	want := "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-," +
		"ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams," +
		"h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\n"
	if got := Header(); got != want {
		t.Errorf("header\n got %s\nwant %s", got, want)
	}
	for _, c := range append(Columns[:len(Columns):len(Columns)], ModuleColumns...) {
		if len(c.Tags) != 3 || c.Type == "" {
			t.Errorf("column %s: tags %q type %q", c.Name, c.Tags, c.Type)
		}
	}
}

func TestCSVQuote(t *testing.T) {
	for in, want := range map[string]string{"plain": "plain", "a,b": `"a,b"`, `say "hi"`: `"say ""hi"""`} {
		if got := csvQuote(in); got != want {
			t.Errorf("csvQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
