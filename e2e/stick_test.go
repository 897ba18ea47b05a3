package e2e

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Stick tables: "stick on src" keeps each client on one server across
// connections, moves it when that server goes DOWN, and keeps it on the new
// server afterwards (the entry follows the client). Valid for haproxy too.

// fromSrc sends a request from a given loopback source and returns the
// answering server.
func fromSrc(t *testing.T, port int, src string, hdrs ...[2]string) string {
	t.Helper()
	return lbServers(t, port, []lbReq{{uri: "/", src: src, hdrs: hdrs}})[0]
}

func TestStickOnSrc(t *testing.T) {
	backs := []*hcBackend{hcStartBackend(t, "k1", nil), hcStartBackend(t, "k2", nil), hcStartBackend(t, "k3", nil)}
	port := freePort(t)
	var srv strings.Builder
	for _, b := range backs {
		fmt.Fprintf(&srv, "    server %s 127.0.0.1:%d check inter %d rise %d fall %d\n", b.name, b.port, hcInter.Milliseconds(), hcRise, hcFall)
	}
	cfg := defaultsSection("http", "1s", "10s", "10s") + fmt.Sprintf(`
listen l
    bind 127.0.0.1:%d
    balance roundrobin
    stick-table type ip size 100 expire 10m
    stick on src
%s`, port, srv.String())
	p := startProxy(t, cfg, port)
	hcSettle()
	srcs := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"}
	home := map[string]string{}
	used := map[string]bool{}
	for round := range 4 {
		for _, s := range srcs {
			got := fromSrc(t, port, s)
			if round == 0 {
				home[s] = got
				used[got] = true
			} else if got != home[s] {
				t.Fatalf("round %d: client %s went to %s, it sticks to %s", round, s, got, home[s])
			}
		}
	}
	if len(used) != 3 {
		t.Fatalf("first requests went to %v: round robin should have spread them", home)
	}
	// The server of the first client goes down: its clients move, the
	// others stay.
	victim := home[srcs[0]]
	var vb *hcBackend
	for _, b := range backs {
		if b.name == victim {
			vb = b
		}
	}
	vb.stop()
	hcWaitStderr(t, p, `Server l/`+victim+` is DOWN`, 10*time.Second)
	moved := map[string]string{}
	for _, s := range srcs {
		got := fromSrc(t, port, s)
		if got == victim {
			t.Fatalf("client %s sent to %s, which is DOWN", s, victim)
		}
		if home[s] != victim && got != home[s] {
			t.Errorf("client %s of a live server moved from %s to %s", s, home[s], got)
		}
		moved[s] = got
	}
	// Back UP: moved clients stay where their entry now points.
	vb.start(t)
	hcWaitStderr(t, p, `Server l/`+victim+` is UP`, 10*time.Second)
	for _, s := range srcs {
		if got := fromSrc(t, port, s); got != moved[s] {
			t.Errorf("after %s came back, client %s went to %s, its entry points to %s", victim, s, got, moved[s])
		}
	}
}

func TestStickMatchAndStoreInTableBackend(t *testing.T) {
	// The table lives in its own backend; cookies are stored by one rule
	// and matched by another, and a server marked non-stick is never
	// stored.
	p1, _ := startHTTPBackend(t, "m1")
	p2, _ := startHTTPBackend(t, "m2")
	p3, _ := startHTTPBackend(t, "m3")
	port := freePort(t)
	cfg := h1Simple(port, "", h1Server("m1", p1), h1Server("m2", p2), h1Server("m3", p3, "non-stick")) + `
    stick match req.cook(SID) table sessions
    stick store-request req.cook(SID) table sessions
backend sessions
    stick-table type string len 16 size 1k expire 1m
`
	startProxy(t, cfg, port)
	home := map[string]string{}
	for round := range 3 {
		for i := range 6 {
			sid := fmt.Sprintf("SID=user%d", i)
			got := fromSrc(t, port, "", [2]string{"Cookie", sid})
			switch {
			case round == 0:
				home[sid] = got
			case home[sid] == "m3":
				// never stored: balanced again each time
			case got != home[sid]:
				t.Fatalf("round %d: %s went to %s, it sticks to %s", round, sid, got, home[sid])
			}
		}
	}
	// Requests without the cookie are simply balanced.
	seen := map[string]bool{}
	for range 6 {
		seen[fromSrc(t, port, "")] = true
	}
	if len(seen) < 2 {
		t.Errorf("cookieless requests all went to %v", seen)
	}
}

func TestStickOnSrcModeTCP(t *testing.T) {
	var srv []string
	for _, n := range []string{"t1", "t2", "t3"} {
		srv = append(srv, fmt.Sprintf("    server %s 127.0.0.1:%d", n, startNameServer(t, n)))
	}
	port := freePort(t)
	cfg := defaultsSection("tcp", "1s", "10s", "10s") + fmt.Sprintf(`
listen l
    bind 127.0.0.1:%d
    balance roundrobin
    stick-table type ip size 1k expire 1m
    stick on src
%s
`, port, strings.Join(srv, "\n"))
	startProxy(t, cfg, port)
	ask := func(src string) string {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", h1Addr(port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "hello")
		b, _ := io.ReadAll(c)
		name, _, _ := strings.Cut(string(b), " ")
		return name
	}
	home := map[string]string{}
	used := map[string]bool{}
	for round := range 3 {
		for i := 2; i < 8; i++ {
			src := fmt.Sprintf("127.0.1.%d", i)
			got := ask(src)
			if round == 0 {
				home[src], used[got] = got, true
			} else if got != home[src] {
				t.Fatalf("round %d: %s went to %s, it sticks to %s", round, src, got, home[src])
			}
		}
	}
	if len(used) != 3 {
		t.Errorf("first connections went to %v: round robin should spread them", home)
	}
}
