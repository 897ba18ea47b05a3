package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestQueuePriorityAsHAProxy: requests queued on a full server are served
// by their set-priority-class, then by arrival shifted by their
// set-priority-offset; prio_class and prio_offset read them back, kept
// within haproxy's bounds; wait-for-handshake and set-nice load. Both
// binaries get the same requests.
func TestQueuePriorityAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	answers := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		bePort, _ := startHTTPBackend(t, "srv")
		fePort := freePort(t)
		startBinary(t, path, defaultsSection("http", "1s", "10s", "10s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request wait-for-handshake
    http-request set-nice 10 if { path /nice }
    http-request set-priority-class req.hdr(x-class) if { req.hdr(x-class) -m found }
    http-request set-priority-offset req.hdr(x-offset) if { req.hdr(x-offset) -m found }
    http-request return status 200 content-type text/plain lf-string "c=%%[prio_class] o=%%[prio_offset]" if { path /prio }
    default_backend be

backend be
    timeout queue 10s
    server s1 127.0.0.1:%d maxconn 1
`, fePort, bePort), fePort)
		var got []string
		get := func(p string, hdrs ...string) string {
			args := []string{"-s"}
			for _, h := range hdrs {
				args = append(args, "-H", h)
			}
			out, err := curl(t, append(args, fmt.Sprintf("http://127.0.0.1:%d%s", fePort, p))...)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		got = append(got, get("/prio"), get("/prio", "X-Class: -3", "X-Offset: 250"), get("/prio", "X-Class: 5000", "X-Offset: -9999999"),
			get("/prio", "X-Class: abc"), get("/nice"))
		// s1 busy for 600ms; then five requests queue in turn, 60ms apart
		var mu sync.Mutex
		var order []string
		var wg sync.WaitGroup
		send := func(name string, hdrs ...string) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/slow?ms=100", fePort), nil)
				for _, h := range hdrs {
					k, v, _ := strings.Cut(h, ": ")
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(name, err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			get("/slow?ms=600")
		}()
		time.Sleep(100 * time.Millisecond)
		for _, r := range []struct{ name, class, offset string }{
			{"low", "5", "0"}, {"plain", "0", "0"}, {"late", "0", "5000"}, {"high", "-5", "0"}, {"early", "0", "-5000"},
		} {
			send(r.name, "X-Class: "+r.class, "X-Offset: "+r.offset)
			time.Sleep(60 * time.Millisecond)
		}
		wg.Wait()
		got = append(got, strings.Join(order, " "))
		answers[path] = strings.Join(got, "\n")
	}
	if got, want := answers[bin], answers[haproxyBin]; got != want {
		t.Errorf("got\n%s\nhaproxy answers\n%s", got, want)
	}
	if want := "high early plain late low"; !strings.HasSuffix(answers[bin], want) {
		t.Errorf("served in the order %q, want %q", answers[bin][strings.LastIndex(answers[bin], "\n")+1:], want)
	}
}

// TestQueuePriorityTCPAsHAProxy: tcp-request content set-priority-class
// and set-priority-offset order the queue in mode tcp too (here by the
// port the client came to), as in haproxy; set-nice loads there.
func TestQueuePriorityTCPAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	answers := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		bePort, _ := startHTTPBackend(t, "srv")
		low, high, early, plain := freePort(t), freePort(t), freePort(t), freePort(t)
		startBinary(t, path, defaultsSection("tcp", "1s", "10s", "10s")+fmt.Sprintf(`
listen li
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d
    tcp-request content set-priority-class int(5) if { dst_port %[1]d }
    tcp-request content set-priority-class int(-5) if { dst_port %[2]d }
    tcp-request content set-priority-offset int(-3000) if { dst_port %[3]d }
    tcp-request content set-nice 3
    timeout queue 10s
    server s1 127.0.0.1:%[5]d maxconn 1
`, low, high, early, plain, bePort), plain)
		for _, p := range []int{low, high, early} {
			waitPort(t, p, 5*time.Second)
		}
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		var mu sync.Mutex
		var order []string
		var wg sync.WaitGroup
		send := func(name string, port, ms int) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/slow?ms=%d", port, ms))
				if err != nil {
					t.Error(name, err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
			}()
		}
		send("first", plain, 600)
		time.Sleep(100 * time.Millisecond)
		for _, r := range []struct {
			name string
			port int
		}{{"low", low}, {"plain", plain}, {"high", high}, {"early", early}} {
			send(r.name, r.port, 100)
			time.Sleep(60 * time.Millisecond)
		}
		wg.Wait()
		answers[path] = strings.Join(order, " ")
	}
	if got, want := answers[bin], answers[haproxyBin]; got != want {
		t.Errorf("served in the order %q, haproxy %q", got, want)
	}
	if want := "first high early plain low"; answers[bin] != want {
		t.Errorf("served in the order %q, want %q", answers[bin], want)
	}
}
