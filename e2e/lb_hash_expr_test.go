package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// Balancing on a sample expression ("balance hash <expr>"), on the RDP
// cookie and on the source of unix-socket clients, compared server for
// server with the real haproxy.

// lbReq is one request: target, extra header lines and the loopback
// source address (empty: 127.0.0.1).
type lbReq struct {
	uri, src string
	hdrs     [][2]string
}

// lbServers sends each request on its own connection and returns the name
// of the server that answered.
func lbServers(t *testing.T, port int, reqs []lbReq) []string {
	t.Helper()
	out := make([]string, len(reqs))
	for i, r := range reqs {
		d := net.Dialer{Timeout: 5 * time.Second}
		if r.src != "" {
			d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(r.src)}
		}
		tr := &http.Transport{DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := d.DialContext(ctx, network, addr)
				if tc, ok := c.(*net.TCPConn); ok {
					tc.SetLinger(0) // no TIME_WAIT pile-up from hundreds of requests
				}
				return c, err
			}}
		req, err := http.NewRequest("GET", h1URL(port, r.uri), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range r.hdrs {
			req.Header.Add(h[0], h[1])
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("GET %s from %q: %v", r.uri, r.src, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: status %d", r.uri, resp.StatusCode)
		}
		out[i] = string(body)
	}
	return out
}

// compareWithHAProxy runs cfg through haproxy, then dhproxy, with the same
// requests, and fails on any request that lands on another server.
func compareWithHAProxy(t *testing.T, cfg string, port int, send func() []string) {
	t.Helper()
	hp := startBinary(t, haproxyBin, cfg, port)
	want := send()
	hp.stop()
	for canDial(port) {
		time.Sleep(10 * time.Millisecond)
	}
	startBinary(t, bin, cfg, port)
	got := send()
	seen := map[string]int{}
	bad := 0
	for i := range want {
		seen[want[i]]++
		if got[i] != want[i] {
			if bad < 10 {
				t.Errorf("request %d: haproxy chose %s, dhproxy %s", i, want[i], got[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d requests went to another server than with haproxy\nconfig:\n%s", bad, len(want), cfg)
	}
	if len(seen) < 2 {
		t.Errorf("haproxy used only %v: the keys do not spread, the comparison proves little", seen)
	}
}

func needHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
}

func TestBalanceHashExprMatchesHAProxy(t *testing.T) {
	needHAProxy(t)
	names := []string{"s1", "s2", "s3", "s4"}
	ports := make([]int, len(names))
	for i, n := range names {
		ports[i], _ = startHTTPBackend(t, n)
	}
	reqs := make([]lbReq, 60)
	for i := range reqs {
		reqs[i] = lbReq{
			uri: fmt.Sprintf("/d%d/obj-%d.html?v=%d&id=user%d", i%7, i*31, i%3, i),
			src: fmt.Sprintf("127.%d.%d.%d", i%3, i*7%256, i%250+1),
			hdrs: [][2]string{
				{"X-Key", fmt.Sprintf("first%d", i%5)},
				{"X-Key", fmt.Sprintf("a%d, b%d", i, i*3)}, // hdr() takes the last value
				{"Cookie", fmt.Sprintf("SID=old%d; theme=dark; SID=sess%d", i%4, i)},
			},
		}
	}
	for _, c := range []struct{ balance, hashType string }{
		{"balance hash src", ""},
		{"balance hash src", "hash-type consistent"},
		{"balance hash path", "hash-type map-based djb2"},
		{"balance hash url", "hash-type consistent wt6"},
		{"balance hash hdr(X-Key)", ""},
		{"balance hash req.hdr(x-key)", "hash-type consistent crc32 avalanche"},
		{"balance hash url_param(id)", ""},
		{"balance hash urlp(v)", "hash-type consistent"},
		{"balance hash req.cook(SID)", ""},
		{"balance hash cook(SID)", "hash-type consistent djb2 avalanche"},
		// converters, through the sample registry
		{"balance hash req.hdr(x-key),upper", ""},
		{"balance hash src,ipmask(16)", "hash-type consistent"},
		{"balance hash path,field(2,/)", ""},
		{"balance hash url_param(id),regsub(user,u)", "hash-type consistent sdbm"},
		{"balance hash req.cook(SID),crc32", ""}, // an integer, hashed as its 8 bytes
	} {
		t.Run(strings.ReplaceAll(c.balance+" "+c.hashType, " ", "_"), func(t *testing.T) {
			port := freePort(t)
			var srv []string
			for i, n := range names {
				srv = append(srv, h1Server(n, ports[i], fmt.Sprintf("weight %d", i+1)))
			}
			cfg := h1Simple(port, "", srv...) + "    " + c.balance + "\n    " + c.hashType + "\n"
			compareWithHAProxy(t, cfg, port, func() []string { return lbServers(t, port, reqs) })
		})
	}
}

// rdpRequest is an RDP connection request as mstsc sends it: TPKT and
// X.224 headers, the routing cookie, then the RDP negotiation request.
func rdpRequest(cookie string) []byte {
	body := "Cookie: " + cookie + "\r\n"
	n := 11 + len(body) + 8
	b := []byte{3, 0, byte(n >> 8), byte(n), byte(n - 5), 0xe0, 0, 0, 0, 0, 0}
	b = append(b, body...)
	return append(b, 1, 0, 8, 0, 3, 0, 0, 0)
}

// startNameServer is a TCP server that, once it has read a client's first
// bytes, answers its name followed by the bytes it got, and closes.
func startNameServer(t *testing.T, name string) int {
	t.Helper()
	return h1StartRawBackend(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		n, _ := c.Read(buf)
		fmt.Fprintf(c, "%s %x", name, buf[:n])
	})
}

// rdpServers opens one connection per cookie, sends the request in two
// parts (the proxy must wait for the whole cookie), and returns the server
// that answered each, after checking it received every byte.
func rdpServers(t *testing.T, port int, cookies []string) []string {
	t.Helper()
	out := make([]string, len(cookies))
	for i, ck := range cookies {
		c, err := net.DialTimeout("tcp", h1Addr(port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		req := rdpRequest(ck)
		c.Write(req[:14])
		time.Sleep(5 * time.Millisecond)
		c.Write(req[14:])
		b, err := io.ReadAll(c)
		c.Close()
		name, data, _ := strings.Cut(string(b), " ")
		if err != nil || data != fmt.Sprintf("%x", req) {
			t.Fatalf("cookie %q: server %q got %q (%v), want the whole request", ck, name, data, err)
		}
		out[i] = name
	}
	return out
}

func TestBalanceRDPCookieMatchesHAProxy(t *testing.T) {
	needHAProxy(t)
	var srv []string
	for i, n := range []string{"r1", "r2", "r3", "r4"} {
		srv = append(srv, fmt.Sprintf("    server %s 127.0.0.1:%d weight %d", n, startNameServer(t, n), i%2+1))
	}
	cookies := make([]string, 80)
	for i := range cookies {
		cookies[i] = fmt.Sprintf("mstshash=user%d", i*13)
		if i%10 == 9 {
			cookies[i] = fmt.Sprintf("msts=other%d", i) // another name: round robin
		}
	}
	for _, c := range []struct{ balance, hashType string }{
		{"balance rdp-cookie", ""},
		{"balance rdp-cookie(mstshash)", "hash-type consistent"},
	} {
		t.Run(strings.ReplaceAll(c.balance+" "+c.hashType, " ", "_"), func(t *testing.T) {
			port := freePort(t)
			cfg := defaultsSection("tcp", "5s", "30s", "30s") + fmt.Sprintf(`
listen rdp
    bind 127.0.0.1:%d
    tcp-request inspect-delay 2s
    tcp-request content accept if RDP_COOKIE
    %s
    %s
%s
`, port, c.balance, c.hashType, strings.Join(srv, "\n"))
			compareWithHAProxy(t, cfg, port, func() []string {
				got := rdpServers(t, port, cookies)
				for i := range got {
					if i%10 == 9 {
						got[i] = "any" // round robin fallbacks depend on order
					}
				}
				return got
			})
		})
	}
}

func TestBalanceSourceOnUnixSocketFallsBackToRoundRobin(t *testing.T) {
	p1, _ := startHTTPBackend(t, "u1")
	p2, _ := startHTTPBackend(t, "u2")
	port := freePort(t)
	sock := t.TempDir() + "/fe.sock"
	cfg := defaultsSection("http", "5s", "30s", "30s") + fmt.Sprintf(`
listen l
    bind 127.0.0.1:%d
    bind unix@%s
    balance source
    server u1 127.0.0.1:%d
    server u2 127.0.0.1:%d
`, port, sock, p1, p2)
	startProxy(t, cfg, port)
	seen := map[string]int{}
	for range 6 {
		body, err := curl(t, "--unix-socket", sock, "http://x/")
		if err != nil {
			t.Fatal(err)
		}
		seen[body]++
	}
	if seen["u1"] != 3 || seen["u2"] != 3 {
		t.Errorf("unix-socket clients went %v; HAProxy round-robins them (no address to hash)", seen)
	}
}

func TestURLParamCheckPostMatchesHAProxy(t *testing.T) {
	needHAProxy(t)
	names := []string{"p1", "p2", "p3"}
	var srv []string
	for _, n := range names {
		p, _ := startHTTPBackend(t, n)
		srv = append(srv, h1Server(n, p))
	}
	port := freePort(t)
	cfg := h1Simple(port, "", srv...) + "    balance url_param uid check_post\n"
	send := func() []string {
		var out []string
		// Each request twice in a row: round robin would alternate.
		for k := range 120 {
			i := k / 2
			body := fmt.Sprintf("a=%d&uid=user%d&z=1", i%3, i*7)
			uri := "/form"
			if i%6 == 5 {
				uri = fmt.Sprintf("/form?uid=q%d", i) // the query string wins
			}
			tr := &http.Transport{DisableKeepAlives: true}
			req, _ := http.NewRequest("POST", h1URL(port, uri), strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
			if err != nil {
				t.Fatalf("POST %d: %v", i, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			if resp.StatusCode != 200 || resp.Header.Get("X-Seen-Content-Length") != fmt.Sprint(len(body)) {
				t.Fatalf("POST %d: status %d, server saw a %s-byte body, sent %d", i, resp.StatusCode, resp.Header.Get("X-Seen-Content-Length"), len(body))
			}
			got := resp.Header.Get("X-Backend")
			if k%2 == 1 {
				if got != out[len(out)-1] {
					t.Fatalf("POST %d went to %s, then to %s: not hashed", i, out[len(out)-1], got)
				}
				continue
			}
			out = append(out, got)
		}
		return out
	}
	compareWithHAProxy(t, cfg, port, send)
}

func TestURLParamCheckPostWaitsForTheBody(t *testing.T) {
	var srv []string
	for _, n := range []string{"w1", "w2", "w3"} {
		p, _ := startHTTPBackend(t, n)
		srv = append(srv, h1Server(n, p))
	}
	port := freePort(t)
	startProxy(t, h1Simple(port, "", srv...)+"    balance url_param uid check_post\n", port)
	// The body comes 100 ms after the head: the server is chosen only
	// once it is there, so the same uid always lands on the same server.
	seen := map[string]map[string]bool{}
	for k := range 12 {
		uid := fmt.Sprintf("u%d", k%3)
		body := "x=1&uid=" + uid
		c, r := h1Dial(t, port)
		fmt.Fprintf(c, "POST /slowbody HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", len(body))
		time.Sleep(100 * time.Millisecond)
		io.WriteString(c, body)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if seen[uid] == nil {
			seen[uid] = map[string]bool{}
		}
		seen[uid][resp.Header.Get("X-Backend")] = true
	}
	for uid, s := range seen {
		if len(s) != 1 {
			t.Errorf("uid %s went to %v: the body was not waited for", uid, s)
		}
	}
}
