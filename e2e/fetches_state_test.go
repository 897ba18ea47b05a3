package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The proxy-state and constant fetches answer what haproxy 2.6 answers on
// the same configuration: weights before and after "set weight", free
// connection slots (-1 for a server without maxconn, backups left out
// while an active server is up), a frontend's connections, its default
// backend (none for a listen section), timeouts (cur_* only once a server
// connection exists), constants, address checks, the connections' own
// ends and TCP_INFO counters.
func TestStateFetchesAsHAProxy(t *testing.T) {
	web, _ := startHTTPBackend(t, "web")
	answers := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		fe, li := freePort(t), freePort(t)
		startBinary(t, path, fmt.Sprintf(`global
    nbthread 1
    stats socket %s level admin
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain lf-string "w=%%[srv_weight(be/s)] iw=%%[srv_iweight(be/s)] uw=%%[srv_uweight(be/s)] w2=%%[srv_weight(be/t)] cf=%%[srv_conn_free(be/s)] cf2=%%[srv_conn_free(be/t)] bcf=%%[be_conn_free(be)] bcf2=%%[be_conn_free(bz)] bcf3=%%[be_conn_free(bq)] fc=%%[fe_conn] fc2=%%[fe_conn(li)] defbe=%%[fe_defbe] ct=%%[fe_client_timeout] pr=%%[proc] th=%%[thread] ip4=%%[ipv4(10.1.2.3)] ip6=%%[ipv6(::ffff:1.2.3.4)] ip6b=%%[ipv6(2001:db8::1)] bin=%%[bin(414243)] hn=%%[hostname] sl=%%[src_is_local] dl=%%[dst_is_local] du=%%[date_us,bool] fs=%%[fe_sess_rate,bool] fr=%%[fe_req_rate] sr=%%[srv_sess_rate(be/s)] fcs=%%[fc_src] fcd=%%[fc_dst]:%%[fc_dst_port] fcsp=%%[fc_src_port,bool] fsl=%%[fc_src_is_local] fdl=%%[fc_dst_is_local] rtt=%%[fc_rtt(us),bool] rttv=%%[fc_rttvar(us),bool] tcp=%%[fc_unacked]/%%[fc_sacked]/%%[fc_retrans]/%%[fc_fackets]/%%[fc_lost]/%%[fc_reordering]"
    default_backend be
listen li
    bind 127.0.0.1:%d
    http-request set-var(txn.cur) cur_server_timeout
    http-request set-var(txn.be) be_server_timeout
    http-response set-header X-Got "defbe=%%[fe_defbe] be=%%[var(txn.be)] bt=%%[be_tunnel_timeout] cur=%%[var(txn.cur)] cur2=%%[cur_server_timeout] curt=%%[cur_tunnel_timeout] bc=%%[bc_src]-%%[bc_dst]:%%[bc_dst_port] bcsp=%%[bc_src_port,bool]"
    timeout server 7s
    timeout tunnel 9s
    server s 127.0.0.1:%d
backend be
    server s 127.0.0.1:1 weight 20 maxconn 30
    server t 127.0.0.1:1 weight 5
backend bq
    server s 127.0.0.1:1 maxconn 30
backend bz
    server s 127.0.0.1:1 maxconn 30 maxqueue 5
    server t 127.0.0.1:1 maxconn 10 backup
`, sock, fe, li, web), fe)
		waitPort(t, li, 5*time.Second)
		var got []string
		for _, step := range []string{"", "set weight be/s 50%"} {
			if step != "" {
				cliCmd(t, sock, step)
			}
			out, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", fe))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			got = append(got, strings.ReplaceAll(out, fmt.Sprint(fe), "FE"))
		}
		out, err := curl(t, "-sS", "-D", "-", "-o", "/dev/null", fmt.Sprintf("http://127.0.0.1:%d/", li))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, l := range strings.Split(out, "\r\n") {
			if name, v, ok := strings.Cut(l, ": "); ok && strings.EqualFold(name, "x-got") {
				got = append(got, v)
			}
		}
		answers[path] = got
	}
	h, d := answers[haproxyBin], answers[bin]
	if strings.Join(h, "\n") != strings.Join(d, "\n") {
		t.Errorf("answers differ\nhaproxy: %q\ndhproxy: %q", h, d)
	}
	if len(d) != 3 || !strings.Contains(d[1], "w=10 iw=20 uw=10 ") {
		t.Errorf("dhproxy answers %q, want 3 with the weight halved in the second", d)
	}
}
