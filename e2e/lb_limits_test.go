package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server limits: slow start after a server comes back UP, maxqueue, and
// the backend queue. Every test holds for haproxy too
// (DHPROXY_BIN=/usr/sbin/haproxy).

// lbGet sends one request on a fresh connection and returns the status,
// the body and how long it took.
func lbGet(t *testing.T, port int, path string, hdrs ...string) (int, string, time.Duration) {
	t.Helper()
	req, err := http.NewRequest("GET", h1URL(port, path), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdrs); i += 2 {
		req.Header.Set(hdrs[i], hdrs[i+1])
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	start := time.Now()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Errorf("GET %s: %v", path, err)
		return 0, "", time.Since(start)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body), time.Since(start)
}

// share sends n requests and returns the fraction that name answered.
func share(t *testing.T, port, n int, name string) float64 {
	t.Helper()
	k := 0
	for range n {
		if _, body, _ := lbGet(t, port, "/"); body == name {
			k++
		}
	}
	return float64(k) / float64(n)
}

func TestSlowStartRampsTrafficUp(t *testing.T) {
	web1 := hcStartBackend(t, "web1", nil)
	web2 := hcStartBackend(t, "web2", nil)
	port := freePort(t)
	const slow = 8 * time.Second
	cfg := defaultsSection("http", "1s", "10s", "10s") + fmt.Sprintf(`
listen l
    bind 127.0.0.1:%d
    balance roundrobin
    server web1 127.0.0.1:%d check inter %d rise %d fall %d slowstart %ds
    server web2 127.0.0.1:%d check inter %d rise %d fall %d
`, port, web1.port, hcInter.Milliseconds(), hcRise, hcFall, int(slow.Seconds()),
		web2.port, hcInter.Milliseconds(), hcRise, hcFall)
	p := startProxy(t, cfg, port)
	hcSettle()
	// At start-up servers are at full weight: no slow start.
	if s := share(t, port, 40, "web1"); s < 0.4 || s > 0.6 {
		t.Fatalf("before any transition web1 took %.0f%%, want half", 100*s)
	}
	web1.stop()
	hcWaitStderr(t, p, hcLine("WARNING", `Server l/web1 is DOWN`)+`|Server l/web1 is DOWN`, 10*time.Second)
	web1.start(t)
	hcWaitStderr(t, p, `Server l/web1 is UP`, 10*time.Second)
	up := time.Now()
	// Right after coming up the weight is 1/16 of web2's: about 6%.
	early := share(t, port, 34, "web1")
	at := time.Since(up)
	if early > 0.25 {
		t.Errorf("web1 took %.0f%% in its first %v of slow start, want a small share", 100*early, at.Round(100*time.Millisecond))
	}
	// Half way the share has grown.
	time.Sleep(slow/2 - time.Since(up))
	mid := share(t, port, 34, "web1")
	// After the slow start period it is back to half.
	time.Sleep(slow + time.Second - time.Since(up))
	late := share(t, port, 40, "web1")
	t.Logf("web1's share: %.0f%% early, %.0f%% half way, %.0f%% after slow start", 100*early, 100*mid, 100*late)
	if !(mid > early && mid < late) {
		t.Errorf("share did not ramp: %.0f%%, %.0f%%, %.0f%%", 100*early, 100*mid, 100*late)
	}
	if late < 0.4 || late > 0.6 {
		t.Errorf("after slow start web1 took %.0f%%, want half", 100*late)
	}
}

// concurrently runs the requests at once, each a little after the previous
// one so that they reach the proxy in order, and returns status, body and
// duration of each.
func concurrently(t *testing.T, port int, gap time.Duration, reqs ...[]string) (status []int, body []string, took []time.Duration) {
	status, body, took = make([]int, len(reqs)), make([]string, len(reqs)), make([]time.Duration, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status[i], body[i], took[i] = lbGet(t, port, r[0], r[1:]...)
		}()
		time.Sleep(gap)
	}
	wg.Wait()
	return
}

func TestMaxqueueRefusesAtOnce(t *testing.T) {
	// balance uri always picks the same server for one URI: requests over
	// maxconn wait in its queue, and once maxqueue wait, the next gets a
	// 503 without waiting.
	p1, _ := startHTTPBackend(t, "q1")
	p2, _ := startHTTPBackend(t, "q2")
	port := freePort(t)
	startProxy(t, h1Simple(port, "    timeout queue 5s", h1Server("q1", p1, "maxconn 1 maxqueue 1"), h1Server("q2", p2, "maxconn 1 maxqueue 1"))+"    balance uri\n", port)
	const slow = "/slow?ms=1200"
	status, _, took := concurrently(t, port, 200*time.Millisecond, []string{slow}, []string{slow}, []string{slow})
	if status[0] != 200 || status[1] != 200 {
		t.Errorf("served and queued requests: %v, want 200 200", status[:2])
	}
	if status[2] != 503 || took[2] > 600*time.Millisecond {
		t.Errorf("request over maxqueue: status %d after %v, want a 503 at once", status[2], took[2])
	}
	if took[1] < 1800*time.Millisecond {
		t.Errorf("queued request answered after %v: it did not wait for the slot", took[1])
	}
}

func TestMaxqueueRedispatchesCookiePersistence(t *testing.T) {
	p1, _ := startHTTPBackend(t, "c1")
	p2, _ := startHTTPBackend(t, "c2")
	for _, redispatch := range []bool{true, false} {
		t.Run(fmt.Sprint("redispatch=", redispatch), func(t *testing.T) {
			port := freePort(t)
			extra := "    timeout queue 5s"
			if redispatch {
				extra += "\n    option redispatch"
			}
			cfg := h1Simple(port, extra, h1Server("c1", p1, "cookie a maxconn 1 maxqueue 1"), h1Server("c2", p2, "cookie b")) +
				"    cookie SRV insert indirect nocache\n"
			startProxy(t, cfg, port)
			r := []string{"/slow?ms=1000", "Cookie", "SRV=a"}
			status, body, took := concurrently(t, port, 200*time.Millisecond, r, r, r)
			if body[0] != "c1" || body[1] != "c1" {
				t.Errorf("persistent requests went to %q and %q, want c1 (served, queued)", body[0], body[1])
			}
			if redispatch {
				if status[2] != 200 || body[2] != "c2" {
					t.Errorf("over maxqueue with redispatch: %d %q, want c2", status[2], body[2])
				}
			} else if status[2] != 503 || took[2] > 600*time.Millisecond {
				t.Errorf("over maxqueue without redispatch: %d after %v, want a 503 at once", status[2], took[2])
			}
		})
	}
}

func TestFullServersQueueOnBackend(t *testing.T) {
	// Round robin never picks a full server: with both at maxconn, the
	// third request waits for the first free slot, whichever server.
	p1, _ := startHTTPBackend(t, "b1")
	p2, _ := startHTTPBackend(t, "b2")
	port := freePort(t)
	startProxy(t, h1Simple(port, "    timeout queue 5s", h1Server("b1", p1, "maxconn 1"), h1Server("b2", p2, "maxconn 1")), port)
	status, body, took := concurrently(t, port, 150*time.Millisecond,
		[]string{"/slow?ms=600"}, []string{"/slow?ms=1500"}, []string{"/slow?ms=10"})
	if status[0] != 200 || status[1] != 200 || status[2] != 200 {
		t.Fatalf("statuses %v", status)
	}
	if body[2] != body[0] {
		t.Errorf("queued request went to %s, want %s, the first to free a slot", body[2], body[0])
	}
	if took[2] < 250*time.Millisecond || took[2] > 1200*time.Millisecond {
		t.Errorf("queued request took %v, want about the 300 ms left on the first one", took[2])
	}
}

func TestQueueTimeoutLogsSQ(t *testing.T) {
	// A request that waited "timeout queue" in vain gets a 503 and the
	// log's termination state "sQ", with its time in queue as %Tw.
	p1, _ := startHTTPBackend(t, "t1")
	port := freePort(t)
	cfg := h1Simple(port, "    timeout queue 300ms", h1Server("t1", p1, "maxconn 1")) +
		"    log stderr format raw local0\n    option httplog\n"
	cfg = strings.Replace(cfg, "frontend fe\n", "frontend fe\n    log stderr format raw local0\n    option httplog\n", 1)
	p := startProxy(t, cfg, port)
	status, _, _ := concurrently(t, port, 150*time.Millisecond, []string{"/slow?ms=1500"}, []string{"/"})
	if status[0] != 200 || status[1] != 503 {
		t.Fatalf("statuses %v, want 200 and 503", status)
	}
	hcWaitStderr(t, p, ` fe be/<NOSRV> -?\d+/(2|3)\d\d/-1/-1/\d+ 503 \d+ - - sQ-- `, 5*time.Second)
}
