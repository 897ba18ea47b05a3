package check

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"dhproxy/internal/model"
)

// fakeRedis reads the request, records it, answers reply and closes, or
// keeps the connection open when hold is set.
func fakeRedis(t *testing.T, reply string, hold bool, got chan<- string) string {
	return rawServer(t, func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 64)
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := io.ReadAtLeast(c, buf, 14)
		if got != nil {
			got <- string(buf[:n])
		}
		c.Write([]byte(reply))
		if hold {
			c.SetReadDeadline(time.Time{})
			io.Copy(io.Discard, c)
		}
	})
}

// Results as haproxy 2.6 reports them for the same fake servers.
func TestRedisCheck(t *testing.T) {
	sent := make(chan string, 1)
	cases := []struct {
		name   string
		addr   string
		status Status
		info   string
	}{
		{"pong", fakeRedis(t, "+PONG\r\n", false, sent), StatusL7OK, "Redis server is ok"},
		{"pong, kept open", fakeRedis(t, "+PONG\r\n", true, nil), StatusL7OK, "Redis server is ok"},
		{"noauth", fakeRedis(t, "-NOAUTH Authentication required.\r\n", false, nil), StatusL7STS, "-NOAUTH Authentication required."},
		{"truncated", fakeRedis(t, "+PO", false, nil), StatusL7STS, "+PO"},
		{"empty", fakeRedis(t, "", false, nil), StatusL7STS, "TCPCHK got an empty response at step 2"},
		{"error, kept open", fakeRedis(t, "-ERR x\r\n", true, nil), StatusL7TOUT, ""},
		{"refused", closedPort(t), StatusL4CON, "Connection refused"},
	}
	be := &model.Proxy{Options: map[string]bool{"redis-check": true}, Check: model.CheckOpts{Kind: "redis-check"}}
	for i, c := range cases {
		res, ok := compile(be, false).run(context.Background(), c.addr, timing{inter: 300 * time.Millisecond}, runEnv{})
		if !ok || res.Status != c.status || res.Code != 0 || res.Info != c.info {
			t.Errorf("%s: %v code %d info %q, want %v info %q", c.name, res.Status, res.Code, res.Info, c.status, c.info)
		}
		if i == 0 {
			if got := <-sent; got != "*1\r\n$4\r\nPING\r\n" {
				t.Errorf("request %q", got)
			}
		}
	}
}
