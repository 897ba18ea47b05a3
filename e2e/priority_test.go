package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
		answers[path] = tcpQueueOrder(t, path)
	}
	if got, want := answers[bin], answers[haproxyBin]; got != want {
		t.Errorf("served in the order %q, haproxy %q", got, want)
	}
	if want := "first high early plain low"; answers[bin] != want {
		t.Errorf("served in the order %q, want %q", answers[bin], want)
	}
}

// tcpQueueOrder runs TestQueuePriorityTCPAsHAProxy's proxy with the binary
// at path: "first" holds the server (maxconn 1) while low, plain, high and
// early queue in that order; it returns the order in which the server got
// them. No step depends on timing: the server records arrivals (with
// maxconn 1, the order the proxy dequeues in), "first" is held until the
// queue holds all four, and each is sent once the one before is queued.
func tcpQueueOrder(t *testing.T, path string) string {
	t.Helper()
	var mu sync.Mutex
	var order []string
	held, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Query().Get("name"))
		mu.Unlock()
		if r.URL.Path == "/hold" {
			close(held)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(be.Close)
	sock := filepath.Join(t.TempDir(), "api.sock")
	low, high, early, plain, ready := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	// The readiness probes go to a frontend of their own that rejects
	// them: a probe that connects and closes at once on a port of li
	// becomes a session aborted in li's queue, after which haproxy 2.6.12
	// now and then leaves the next arrival in the backend queue with s1
	// idle (show stat: BACKEND qcur 1, s1 scur 0) until "timeout queue",
	// and then closes every client of the test.
	startBinary(t, path, fmt.Sprintf("global\n    stats socket %s level admin", sock)+defaultsSection("tcp", "1s", "10s", "10s")+fmt.Sprintf(`
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
    server s1 %[5]s maxconn 1

frontend ready
    bind 127.0.0.1:%[6]d
    tcp-request connection reject
`, low, high, early, plain, be.Listener.Addr(), ready), ready)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(name string, port int, p string) error {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s?name=%s", port, p, name))
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return err
	}
	// One whole exchange through each port, one after the other, so that
	// all of li's listeners are up (haproxy may bind them after ready's).
	for _, port := range []int{low, high, early, plain} {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			err := get("warm-up", port, "/")
			if err == nil {
				break
			}
			if !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
				t.Fatal(path, err)
			}
		}
	}
	mu.Lock()
	order = nil
	mu.Unlock()
	var wg sync.WaitGroup
	send := func(name string, port int, p string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := get(name, port, p); err != nil {
				t.Error(path, name, err)
			}
		}()
	}
	send("first", plain, "/hold")
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal(path, ": the first request never reached the server")
	}
	for i, r := range []struct {
		name string
		port int
	}{{"low", low}, {"plain", plain}, {"high", high}, {"early", early}} {
		send(r.name, r.port, "/")
		waitQueued(t, sock, i+1)
	}
	releaseOnce.Do(func() { close(release) })
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return strings.Join(order, " ")
}

// waitQueued polls show stat until li's backend queue holds n connections.
func waitQueued(t *testing.T, sock string, n int) {
	t.Helper()
	want := strconv.Itoa(n)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got := statField(t, sock, "li", "BACKEND", "qcur")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("li's queue holds %s connections, want %s", got, want)
		}
	}
}
