package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// haproxyBin is the reference HAProxy the hash-based balancing is compared with.
const haproxyBin = "/usr/sbin/haproxy"

// startBinary runs `path -db -f cfg` and waits for port, like startProxy but
// for a given binary.
func startBinary(t *testing.T, path, cfg string, port int) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(path, "-db", "-f", writeConfig(t, cfg))
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.WaitDelay = waitDelay
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	deadline := time.Now().Add(10 * time.Second)
	for !canDial(port) {
		if p.exited() {
			t.Fatalf("%s exited (%v) before port %d was up; stderr:\n%s", path, p.err, port, p.Stderr())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: port %d not accepting after 10s; stderr:\n%s", path, port, p.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// hashReq is one request of a comparison: its URI, an optional X-Key header
// and the loopback address the client connects from (empty: 127.0.0.1).
type hashReq struct {
	uri, key, src string
}

// serversFor sends every request through the proxy on port, each on a new
// connection, and returns the name of the server that answered each.
func serversFor(t *testing.T, port int, reqs []hashReq) []string {
	t.Helper()
	lr := make([]lbReq, len(reqs))
	for i, r := range reqs {
		lr[i] = lbReq{uri: r.uri, src: r.src}
		if r.key != "" {
			lr[i].hdrs = [][2]string{{"X-Key", r.key}}
		}
	}
	return lbServers(t, port, lr)
}

// TestHashBalancingMatchesHAProxy runs the same configuration through the
// real haproxy and through dhproxy and checks that every request lands on
// the server of the same name with both.
func TestHashBalancingMatchesHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	names := []string{"s1", "s2", "s3", "s4"}
	ports := make([]int, len(names))
	for i, n := range names {
		ports[i], _ = startHTTPBackend(t, n)
	}

	uris := make([]hashReq, 200)
	for i := range uris {
		uris[i] = hashReq{uri: fmt.Sprintf("/d%d/sub%d/obj-%d.html?v=%d&id=user%d&x=%d", i%7, i%13, i*31, i%3, i, i%5),
			key: fmt.Sprintf("k%d.shop%d.com, other", i%17, i)}
	}
	srcs := make([]hashReq, 200)
	for i := range srcs {
		srcs[i] = hashReq{uri: "/", src: fmt.Sprintf("127.%d.%d.%d", i%3, i*7%256, i%250+1)}
	}

	cases := []struct {
		name, balance, hashType string
		servers                 []string // options per server
		reqs                    []hashReq
	}{
		{"uri map-based", "balance uri", "", nil, uris},
		{"uri map-based weights", "balance uri", "hash-type map-based", []string{"weight 2", "weight 4", "weight 6", "weight 10"}, uris},
		{"uri consistent", "balance uri", "hash-type consistent", nil, uris},
		{"uri map-based one disabled", "balance uri", "", []string{"weight 2", "", "disabled", "weight 3"}, uris},
		{"uri consistent one disabled", "balance uri", "hash-type consistent", []string{"weight 2", "", "disabled", "weight 3"}, uris},
		{"uri consistent weights ids", "balance uri", "hash-type consistent",
			[]string{"weight 3", "id 10", "weight 2", "weight 5 id 2"}, uris},
		{"uri whole djb2 avalanche", "balance uri whole", "hash-type consistent djb2 avalanche", nil, uris},
		{"uri depth len", "balance uri depth 2 len 14", "hash-type map-based wt6", nil, uris},
		{"uri path-only crc32", "balance uri path-only whole", "hash-type consistent crc32", nil, uris},
		{"url_param", "balance url_param id", "hash-type map-based sdbm avalanche", nil, uris},
		{"url_param consistent", "balance url_param id", "hash-type consistent wt6", nil, uris},
		{"hdr", "balance hdr(X-Key)", "", nil, uris},
		{"hdr consistent domain", "balance hdr(x-key) use_domain_only", "hash-type consistent djb2", nil, uris},
		{"source map-based", "balance source", "", nil, srcs},
		{"source consistent", "balance source", "hash-type consistent", []string{"weight 2", "", "weight 3", ""}, srcs},
		{"source mode tcp", "balance source", "", []string{"", "weight 2", "", ""}, srcs},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			port := freePort(t)
			var srv []string
			for i, n := range names {
				opt := ""
				if c.servers != nil {
					opt = c.servers[i]
				}
				srv = append(srv, h1Server(n, ports[i], opt))
			}
			cfg := h1Simple(port, "", srv...)
			if strings.HasSuffix(c.name, "mode tcp") {
				cfg = strings.Replace(cfg, "mode http", "mode tcp", 1)
			}
			cfg += "    " + c.balance + "\n"
			if c.hashType != "" {
				cfg += "    " + c.hashType + "\n"
			}
			hp := startBinary(t, haproxyBin, cfg, port)
			want := serversFor(t, port, c.reqs)
			hp.stop()
			for canDial(port) {
				time.Sleep(10 * time.Millisecond)
			}
			startBinary(t, bin, cfg, port)
			got := serversFor(t, port, c.reqs)
			// The same requests in reverse order must land where they did:
			// a round-robin fallback instead of hashing would not.
			rev := make([]hashReq, len(c.reqs))
			for i, r := range c.reqs {
				rev[len(rev)-1-i] = r
			}
			again := serversFor(t, port, rev)
			for i := range got {
				if again[len(again)-1-i] != got[i] {
					t.Fatalf("request %+v went to %s, then to %s: not sticky", c.reqs[i], got[i], again[len(again)-1-i])
				}
			}

			seen := map[string]int{}
			bad := 0
			for i := range want {
				seen[want[i]]++
				if got[i] != want[i] {
					if bad < 10 {
						t.Errorf("request %+v: haproxy chose %s, dhproxy %s", c.reqs[i], want[i], got[i])
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d requests went to another server than with haproxy\nconfig:\n%s", bad, len(want), cfg)
			}
			if len(seen) < 2 {
				t.Errorf("haproxy used only %v: the keys do not spread, the comparison proves little", seen)
			}
		})
	}
}
