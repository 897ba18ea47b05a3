package lvs

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"dhproxy/internal/config/keepalived"
)

// acceptLog accepts connections on 127.0.0.1, records each peer address and
// closes the connection.
func acceptLog(t *testing.T) (addr string, peers func() []string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	var seen []string
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			seen = append(seen, c.RemoteAddr().String())
			mu.Unlock()
			c.Close()
		}
	}()
	return l.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestCheckBindOptions: bindto and bind_port set the probe's source,
// bind_if its interface (an unknown one fails the check).
func TestCheckBindOptions(t *testing.T) {
	addr, peers := acceptLog(t)
	// A free source port: bind one, note it, release it.
	pl, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	srcPort := netip.MustParseAddrPort(pl.Addr().String()).Port()
	pl.Close()

	conf := tcpCheck(0)
	conf.BindTo = netip.MustParseAddr("127.0.0.2")
	conf.BindPort = srcPort
	conf.BindIf = "lo"
	if _, tr := newChecker(conf, realAt(t, addr), "tcp", time.Second, false).step(context.Background()); tr == nil || !tr.up {
		t.Fatalf("check with bindto/bind_port/bind_if lo: %+v", tr)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(peers()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p := peers(); len(p) != 1 || p[0] != netip.AddrPortFrom(conf.BindTo, srcPort).String() {
		t.Fatalf("server saw %v, want the probe from 127.0.0.2:%d", p, srcPort)
	}

	bad := tcpCheck(0)
	bad.BindIf = "nosuchif0"
	_, tr := newChecker(bad, realAt(t, addr), "tcp", time.Second, false).step(context.Background())
	if tr == nil || tr.up || !strings.Contains(tr.log, "TCP_CHECK on service") {
		t.Fatalf("bind_if to a missing interface must fail the check: %+v", tr)
	}
}

// TestLogAllFailures: every failed attempt is logged while the checker is
// up, not only the final state change.
func TestLogAllFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for _, all := range []bool{false, true} {
		conf := tcpCheck(2)
		conf.LogAllFailures = all
		ck := newChecker(conf, realAt(t, addr), "tcp", time.Second, false)
		var notes []string
		ck.note = func(s string) { notes = append(notes, s) }
		var tr *transition
		for tr == nil {
			_, tr = ck.step(context.Background())
		}
		want := 0
		if all {
			want = 3
		}
		if len(notes) != want || want > 0 && notes[0] != "TCP connection to "+ck.name+" failed." {
			t.Fatalf("log_all_failures=%v: notes %q, want %d lines", all, notes, want)
		}
		if tr.up || tr.log != "TCP_CHECK on service "+ck.name+" failed." {
			t.Fatalf("final: %+v", tr)
		}
	}
}

// rawHTTP answers every request with body and records the request heads.
func rawHTTP(t *testing.T, body string) (addr string, heads func() []string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	var seen []string
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				var head strings.Builder
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					head.WriteString(line)
					if line == "\r\n" {
						break
					}
				}
				mu.Lock()
				seen = append(seen, head.String())
				mu.Unlock()
				c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + body))
			}()
		}
	}()
	return l.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestHTTPProtocolAndVirtualhost: the request line and Connection header
// of http_protocol 1.0, 1.0C and 1.1, and the Host header chosen from the
// url's virtualhost, else the checker's, else the real/virtual server's.
func TestHTTPProtocolAndVirtualhost(t *testing.T) {
	addr, heads := rawHTTP(t, "ok")
	rs := realAt(t, addr)
	for i, c := range []struct {
		proto, urlHost, ckHost, svcHost string
		want                            string
	}{
		{"1.0", "", "", "", "GET /p HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: " + addr + "\r\n\r\n"},
		{"1.0C", "", "", "vs.example", "GET /p HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: vs.example\r\n\r\n"},
		{"1.1", "", "ck.example", "vs.example", "GET /p HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: ck.example\r\n\r\n"},
		{"1.1", "url.example", "ck.example", "vs.example", "GET /p HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: url.example\r\n\r\n"},
	} {
		conf := &keepalived.Check{Kind: "HTTP_GET", ConnectTimeout: time.Second, HTTPProtocol: c.proto, VirtualHost: c.ckHost,
			URLs: []keepalived.URL{{Path: "/p", VirtualHost: c.urlHost, StatusCodes: [][2]int{{200, 299}}}}}
		ck := newChecker(conf, rs, "tcp", time.Second, false)
		ck.vhost = c.svcHost
		if _, tr := ck.step(context.Background()); tr == nil || !tr.up {
			t.Fatalf("%d: %+v", i, tr)
		}
		if h := heads(); len(h) != i+1 || h[i] != c.want {
			t.Fatalf("%d: request %q, want %q", i, h[len(h)-1], c.want)
		}
	}
}

// TestHTTPRegex: regex must match the body (regex_no_match: must not),
// with regex_options and the offsets of the match.
func TestHTTPRegex(t *testing.T) {
	addr, _ := rawHTTP(t, "0123456789 Status: HEALTHY\nload 3\n")
	rs := realAt(t, addr)
	for _, c := range []struct {
		u    keepalived.URL
		up   bool
		line string
	}{
		{keepalived.URL{Regex: "Status: HEALTHY"}, true, "Regex match success to"},
		{keepalived.URL{Regex: "status: healthy"}, false, "HTTP_CHECK on service"},
		{keepalived.URL{Regex: "status: healthy", RegexOptions: []string{"caseless"}}, true, "Regex match success to"},
		{keepalived.URL{Regex: "^load [0-9]$", RegexOptions: []string{"multiline"}}, true, "Regex match success to"},
		{keepalived.URL{Regex: "^load [0-9]$"}, false, "HTTP_CHECK on service"},
		{keepalived.URL{Regex: "DOWN", RegexNoMatch: true}, true, "Regex match success to"},
		{keepalived.URL{Regex: "HEALTHY", RegexNoMatch: true}, false, "HTTP_CHECK on service"},
		{keepalived.URL{Regex: "Status", RegexMinOffset: 11, RegexMaxOffset: 11, RegexMaxSet: true}, true, "Regex match success to"},
		{keepalived.URL{Regex: "Status", RegexMinOffset: 12}, false, "HTTP_CHECK on service"},
		{keepalived.URL{Regex: "Status", RegexMaxOffset: 10, RegexMaxSet: true}, false, "HTTP_CHECK on service"},
		{keepalived.URL{Regex: "a.b", RegexOptions: []string{"literal"}}, false, "HTTP_CHECK on service"},
	} {
		c.u.Path = "/"
		c.u.StatusCodes = [][2]int{{200, 299}}
		conf := &keepalived.Check{Kind: "HTTP_GET", ConnectTimeout: time.Second, URLs: []keepalived.URL{c.u}}
		_, tr := newChecker(conf, rs, "tcp", time.Second, false).step(context.Background())
		if tr == nil || tr.up != c.up || !strings.HasPrefix(tr.log, c.line) {
			t.Errorf("%+v: got %+v, want up=%v %q", c.u, tr, c.up, c.line)
		}
	}
}
