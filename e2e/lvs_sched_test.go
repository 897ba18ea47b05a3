package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// holdClient drives `lvsprobe hold` in a lab host: connections opened one
// at a time and held open.
type holdClient struct {
	t   *testing.T
	in  io.WriteCloser
	out chan string
}

func (l *lab) holdClient(t *testing.T, host, addr string) *holdClient {
	cmd := exec.Command("ip", "netns", "exec", l.prefix+"-"+host, lvsProbe(t), "hold", addr)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holdClient{t: t, in: in, out: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.out <- sc.Text()
		}
		close(h.out)
	}()
	t.Cleanup(func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return h
}

// do sends one command and returns the answer line.
func (h *holdClient) do(cmd string) string {
	h.t.Helper()
	fmt.Fprintln(h.in, cmd)
	select {
	case line, ok := <-h.out:
		if !ok || strings.HasPrefix(line, "ERROR") {
			h.t.Fatalf("%s: %q", cmd, line)
		}
		return line
	case <-time.After(5 * time.Second):
		h.t.Fatalf("%s: no answer in 5s", cmd)
	}
	return ""
}

// lvsConns reads `dhproxy lvs list` into ActiveConn and InActConn per real
// server address.
func lvsConns(l *lab, sock string) map[string][2]int {
	out := map[string][2]int{}
	for _, line := range lvsLines(l.run("lb1", bin, "lvs", "list", "-S", sock)) {
		f := strings.Fields(line)
		if len(f) == 6 && f[0] == "->" && f[1] != "RemoteAddress:Port" {
			a, _ := strconv.Atoi(f[4])
			i, _ := strconv.Atoi(f[5])
			out[f[1]] = [2]int{a, i}
		}
	}
	return out
}

// waitConns polls `lvs list` until it shows want: the director has seen
// every connection opened or closed so far (what `ipvsadm -Ln` would show).
func waitConns(t *testing.T, l *lab, sock string, want map[string][2]int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := lvsConns(l, sock)
		same := len(got) == len(want)
		for k, v := range want {
			same = same && got[k] == v
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lvs list shows %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// schedConf is a NAT service over web1 and web2 with scheduler algo and
// the given weights.
func schedConf(algo string, w1, w2 int) string {
	rs := func(addr string, w int) string {
		return fmt.Sprintf(`    real_server %s 80 {
        weight %d
        TCP_CHECK {
            connect_timeout 1
        }
    }
`, addr, w)
	}
	return "virtual_server 10.213.9.100 80 {\n    delay_loop 1\n    lb_algo " + algo + "\n    lb_kind NAT\n    protocol TCP\n" +
		rs("10.213.0.3", w1) + rs("10.213.0.4", w2) + "}\n"
}

// TestLVSNATLeastConnection: lc and wlc on the nftables datapath follow
// IPVS' choice from conntrack counts. Long-lived connections are opened
// one after another (each counted by the director before the next) and
// held; the order is IPVS' (ties to the first real server), and after
// some are closed the next ones go where IPVS would send them. The rr/wrr
// approximation used before fails both second halves.
func TestLVSNATLeastConnection(t *testing.T) {
	for _, c := range leastConnCases {
		t.Run(c.algo, func(t *testing.T) {
			l := natLab(t)
			l.web("web1")
			l.web("web2")
			lvs, sock := l.startLVS("lb1", schedConf(c.algo, c.w1, c.w2), "-datapath", "nftables")
			lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
			lvsWaitLog(t, lvs, "TCP connection to [10.213.0.4]:tcp:80 success.", 10*time.Second)
			if strings.Contains(lvs.Stderr(), "round robin") {
				t.Fatalf("%s must not be approximated on NAT:\n%s", c.algo, lvs.Stderr())
			}
			c.check(t, l, sock, "10.213.9.100:80")
			lvsStopTerm(t, lvs)
			for _, line := range strings.Split(lvs.Stderr(), "\n") {
				if strings.Contains(line, "connection-count scheduling") {
					t.Log(line)
				}
			}
		})
	}
}

// leastConnCase is one lc/wlc run over two real servers, web1 and web2.
type leastConnCase struct {
	algo       string
	w1, w2     int
	first      string // the servers of the held connections, in order
	closeOn    string
	closeN     int
	afterClose string
}

var leastConnCases = []leastConnCase{
	{algo: "lc", w1: 1, w2: 1, first: "121212", closeOn: "web1", closeN: 2, afterClose: "112"},
	{algo: "wlc", w1: 3, w2: 1, first: "12111211", closeOn: "web2", closeN: 2, afterClose: "221"},
}

// check opens long-lived connections to vip one after another (each
// counted by the director, per `lvs list`, before the next) and holds
// them: they must go where IPVS sends them (ties to the first server);
// then closeN of them on closeOn are closed, and the next ones must go
// where IPVS would send them. A closed connection is inactive, as in IPVS
// (TIME_WAIT behind NAT, FIN seen on DR).
func (c leastConnCase) check(t *testing.T, l *lab, sock, vip string) {
	t.Helper()
	addr := map[string]string{"web1": "10.213.0.3:80", "web2": "10.213.0.4:80"}
	count := map[string][2]int{addr["web1"]: {}, addr["web2"]: {}}
	h := l.holdClient(t, "client", vip)
	var got strings.Builder
	open := func(n int) {
		for range n {
			name := h.do("open")
			got.WriteString(strings.TrimPrefix(name, "web"))
			v := count[addr[name]]
			v[0]++
			count[addr[name]] = v
			waitConns(t, l, sock, count)
		}
	}
	open(len(c.first))
	if got.String() != c.first {
		t.Fatalf("%s %d:%d: held connections went to %s, IPVS sends them to %s", c.algo, c.w1, c.w2, got.String(), c.first)
	}
	t.Logf("%s %d:%d: held connections on web%s, lvs list %v", c.algo, c.w1, c.w2, got.String(), count)

	h.do(fmt.Sprintf("close %s %d", c.closeOn, c.closeN))
	v := count[addr[c.closeOn]]
	v[0] -= c.closeN
	v[1] += c.closeN
	count[addr[c.closeOn]] = v
	waitConns(t, l, sock, count)
	got.Reset()
	open(len(c.afterClose))
	if got.String() != c.afterClose {
		t.Fatalf("%s: after closing %d on %s the next went to %s, IPVS sends them to %s", c.algo, c.closeN, c.closeOn, got.String(), c.afterClose)
	}
	t.Logf("%s: after closing %d on %s, the next on web%s, lvs list %v", c.algo, c.closeN, c.closeOn, got.String(), count)
}
