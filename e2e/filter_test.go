package e2e

import (
	"fmt"
	"net/http"
	"testing"
)

// "filter compression" declares the compression among other filters
// ("filter trace" here, which dhproxy accepts with a warning): the
// response is compressed as without filters, by haproxy and dhproxy.
func TestFilterCompressionAsHAProxy(t *testing.T) {
	needHAProxy(t)
	srv := startCompBackend(t)
	for _, path := range []string{haproxyBin, bin} {
		fe := freePort(t)
		p := startBinary(t, path, defaultsSection("http", "2s", "10s", "10s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    filter trace name t quiet
    filter compression
    compression algo gzip
    compression type text/html
    default_backend be
backend be
    server s 127.0.0.1:%d
`, fe, srv), fe)
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/html", fe), nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Content-Encoding"); resp.StatusCode != 200 || got != "gzip" {
			t.Errorf("%s: status %d, Content-Encoding %q, want 200 gzip", path, resp.StatusCode, got)
		}
		p.stop()
	}
}
