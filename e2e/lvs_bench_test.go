package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procCPU is a process's user+system CPU time.
func procCPU(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces): state is 3rd.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
}

// systemCPU is the busy time of every CPU (user, nice, system, irq,
// softirq): the kernel's forwarding shows up there, not in any process.
func systemCPU(t *testing.T) time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
	var sum int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		sum += v
	}
	return time.Duration(sum) * 10 * time.Millisecond
}

type loadResult struct {
	line            string
	cps             float64
	proxyCPU, sysCP time.Duration
}

// TestLVSBenchNATvsModeTCP measures new connections per second and CPU
// through nftables NAT and through dhproxy's own `mode tcp` proxy on the
// same namespaces, backends and client (bounded: 3000 requests each, one
// connection per request, 8 at a time, then 200 x 1 MiB).
func TestLVSBenchNATvsModeTCP(t *testing.T) {
	l := natLab(t)
	l.web("web1")
	l.web("web2")
	lvs, _ := l.startLVS("lb1", strings.Replace(natConf, "    sorry_server 10.213.0.5 80\n", "", 1), "-datapath", "nftables")
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, lvs, "HTTP status code success to [10.213.0.4]:tcp:80 url(/)", 10*time.Second)
	// maxconn 4000: its descriptors (8000+) fit the usual 20000 hard limit,
	// which a refused start would not (the load runs 8 at a time).
	cfg := l.writeFile("haproxy.cfg", `
global
    maxconn 4000`+defaultsSection("tcp", "5s", "30s", "30s")+`
listen vip8080
    bind 10.213.9.100:8080
    balance roundrobin
    server web1 10.213.0.3:80
    server web2 10.213.0.4:80
`)
	tcpProxy := l.start("lb1", bin, "-db", "-f", cfg)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(l.sh("lb1", "ss -Hltn 'sport = :8080'"), ":8080") {
		if time.Now().After(deadline) || tcpProxy.exited() {
			t.Fatalf("mode tcp proxy not listening: %s", tcpProxy.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	probe := lvsProbe(t)
	measure := func(url, n, c string, proxy *proc) loadResult {
		p0, s0 := procCPU(t, proxy.cmd.Process.Pid), systemCPU(t)
		out := strings.TrimSpace(l.run("client", probe, "load", url, n, c))
		r := loadResult{line: out, proxyCPU: procCPU(t, proxy.cmd.Process.Pid) - p0, sysCP: systemCPU(t) - s0}
		if !strings.HasPrefix(out, "ok="+n+" fail=0 ") {
			t.Fatalf("%s: %s", url, out)
		}
		fmt.Sscanf(out[strings.Index(out, "cps=")+4:], "%f", &r.cps)
		return r
	}
	for _, run := range []struct{ name, url string }{
		{"conns", "/"},
		{"1MiB", "/big"},
	} {
		n, c := "3000", "8"
		if run.name == "1MiB" {
			n, c = "200", "4"
		}
		nft := measure("http://10.213.9.100:80"+run.url, n, c, lvs)
		usr := measure("http://10.213.9.100:8080"+run.url, n, c, tcpProxy)
		t.Logf("%s nftables NAT:   %s  dhproxy lvs CPU %v, machine CPU %v", run.name, nft.line, nft.proxyCPU, nft.sysCP)
		t.Logf("%s mode tcp proxy: %s  dhproxy CPU %v, machine CPU %v", run.name, usr.line, usr.proxyCPU, usr.sysCP)
		if nft.proxyCPU > usr.proxyCPU {
			t.Errorf("%s: the nftables path cost the dhproxy process more CPU (%v) than proxying in userspace (%v)", run.name, nft.proxyCPU, usr.proxyCPU)
		}
	}
}
