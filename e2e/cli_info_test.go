package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// infoValues parses "show info" into name → value.
func infoValues(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			m[k] = v
		}
	}
	return m
}

// TestShowInfoCountsAsHAProxy: "show info" counts the runtime API as
// haproxy 2.6 does (its socket among the Listeners, its connection among
// the Jobs, its connections in CumConns and CumReq), and Tasks and the
// pool figures are no longer 0 (dhproxy: goroutines and the Go heap).
func TestShowInfoCountsAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	answers := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		fePort, statsPort := freePort(t), freePort(t)
		startBinary(t, path, runtimeConfig(sock, fePort, statsPort), statsPort)
		// The readiness probe's connection may still be counted after the
		// first answer: wait until a "show info" adds only itself (one
		// connection, one request) before taking the starting point.
		before := infoValues(cliCmd(t, sock, "show info"))
		for range 50 {
			next := infoValues(cliCmd(t, sock, "show info"))
			settled := true
			for _, k := range []string{"CumConns", "CumReq"} {
				a, _ := strconv.Atoi(next[k])
				b, _ := strconv.Atoi(before[k])
				settled = settled && a-b == 1
			}
			before = next
			if settled {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		for range 3 {
			curl(t, "-s", fmt.Sprintf("http://127.0.0.1:%d/", fePort))
		}
		cliCmd(t, sock, "show version")
		after := infoValues(cliCmd(t, sock, "show info"))
		// A client's close may not be counted yet (haproxy too, under
		// load): ask again until no connection is current; each extra
		// "show info" adds one connection and one request.
		extra := 0
		for ; after["CurrConns"] != "0" && extra < 50; extra++ {
			time.Sleep(20 * time.Millisecond)
			after = infoValues(cliCmd(t, sock, "show info"))
		}
		delta := func(k string) int {
			a, _ := strconv.Atoi(after[k])
			b, _ := strconv.Atoi(before[k])
			return a - b - extra
		}
		answers[path] = fmt.Sprintf("Listeners %s Jobs %s CurrConns %s CumConns +%d CumReq +%d",
			after["Listeners"], after["Jobs"], after["CurrConns"], delta("CumConns"), delta("CumReq"))
		for _, k := range []string{"Tasks", "PoolAlloc_bytes", "PoolUsed_bytes"} {
			if n, _ := strconv.Atoi(after[k]); n <= 0 {
				t.Errorf("%s: %s is %q", path, k, after[k])
			}
		}
	}
	if got, want := answers[bin], answers[haproxyBin]; got != want {
		t.Errorf("got %s, haproxy %s", got, want)
	}
}
