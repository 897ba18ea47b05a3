package e2e

import (
	"fmt"
	"net/http"
	"testing"
)

// tcp-response content rules in a mode http backend run before the
// response is parsed, as haproxy 2.6 runs them: variables they set reach
// the http-response rules, a reject closes the client's connection with
// no answer, HTTP fetches never match there.
func TestTCPResponseContentModeHTTP(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    default_backend b
backend b
    tcp-response content reject if { be_name b } { var(txn.r) -m found }
    tcp-response content set-var(txn.s) str(x) if { src 127.0.0.1 }
    tcp-response content accept if { var(txn.a) -m found }
    tcp-response content set-var(txn.t) str(late)
    tcp-response content reject if { status 200 }
    http-request set-var(txn.r) int(1) if { path /rej }
    http-request set-var(txn.a) int(1) if { path /acc }
    http-response set-header X-S "%%[var(txn.s)] %%[var(txn.t)]"
    server s 127.0.0.1:%d
`, be), port)
	for _, c := range []struct{ path, want string }{
		{"/", "x late"},
		{"/acc", "x"}, // the accept ended the rules
	} {
		c0, br := h1Dial(t, port)
		h1Write(t, c0, "GET "+c.path+" HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, _ := h1ReadResp(t, br, "GET")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-S") != c.want {
			t.Errorf("%s: status %d, X-S %q; want 200 and %q", c.path, resp.StatusCode, resp.Header.Get("X-S"), c.want)
		}
	}
	// the reject: the connection closes, nothing was sent
	c, br := h1Dial(t, port)
	h1Write(t, c, "GET /rej HTTP/1.1\r\nHost: h\r\n\r\n")
	if b, err := br.ReadByte(); err == nil {
		t.Errorf("a rejected response sent %q", b)
	}
}
