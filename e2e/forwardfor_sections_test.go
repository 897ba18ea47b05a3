package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestForwardForSectionsAsHAProxy: with "option forwardfor" in a frontend,
// its backend or both, the header goes as haproxy 2.6 adds it: either
// section's option adds it, the backend's header name wins, the client must
// be outside both sections' "except" networks, and "if-none" holds only when
// no section adds it always.
func TestForwardForSectionsAsHAProxy(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "xff=%q x-be=%q", r.Header.Values("X-Forwarded-For"), r.Header.Values("X-Be"))
	}))
	defer echo.Close()
	srv := strings.TrimPrefix(echo.URL, "http://")
	got := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		ports := []int{freePort(t), freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)}
		p := startBinary(t, path, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend both_names
    bind 127.0.0.1:%d
    option forwardfor header X-FE
    default_backend named
frontend fe_except
    bind 127.0.0.1:%d
    option forwardfor except 127.0.0.1 header X-FE
    default_backend named
frontend be_only
    bind 127.0.0.1:%d
    default_backend except
frontend be_except
    bind 127.0.0.1:%d
    option forwardfor
    default_backend except
frontend ifnone
    bind 127.0.0.1:%d
    option forwardfor if-none
    default_backend plain
frontend ifnone_be_always
    bind 127.0.0.1:%d
    option forwardfor if-none
    default_backend named
backend named
    option forwardfor header X-BE
    server s %s
backend except
    option forwardfor except 127.0.0.1
    server s %s
backend plain
    server s %s
`, ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], srv, srv, srv), ports[0])
		for _, port := range ports {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
			req.Header.Set("X-Forwarded-For", "9.9.9.9")
			req.Header.Set("X-BE", "8.8.8.8")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got[path] = append(got[path], string(body))
		}
		p.stop()
	}
	if strings.Join(got[bin], "\n") != strings.Join(got[haproxyBin], "\n") {
		t.Errorf("servers saw through dhproxy\n%s\nthrough haproxy\n%s", strings.Join(got[bin], "\n"), strings.Join(got[haproxyBin], "\n"))
	}
	if got[bin][0] != `xff=["9.9.9.9"] x-be=["8.8.8.8" "127.0.0.1"]` {
		t.Errorf("the backend's header name did not win: %s", got[bin][0])
	}
}
