package lvs

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"dhproxy/internal/alert/smtpsink"
	"dhproxy/internal/config/keepalived"
)

// TestSMTPCheck: a server greeting 220 and answering HELO with 250 is up
// (HELO carries helo_name); a 554 greeting, a refused HELO, a silent
// server and a closed port are down with keepalived's lines.
func TestSMTPCheck(t *testing.T) {
	var mu sync.Mutex
	var helos []string
	mode := "ok"
	sink, err := smtpsink.Start(func(line string) string {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(line, "HELO ") {
			helos = append(helos, line)
		}
		switch {
		case mode == "554" && line == "":
			return "554 no service here"
		case mode == "helo" && strings.HasPrefix(line, "HELO"):
			return "501 go away"
		case mode == "multi" && line == "":
			return "220-first line\r\n220 mx.example ESMTP"
		case mode == "hang" && line == "":
			return "hang"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sink.Port()))
	rs := realAt(t, addr.String())
	srv := "[127.0.0.1]:" + strings.TrimPrefix(addr.String(), "127.0.0.1:")
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := netip.MustParseAddrPort(closed.Addr().String()).Port()
	closed.Close()
	for _, c := range []struct {
		mode  string
		port  uint16
		up    bool
		log   string
		alert string
	}{
		{"ok", 0, true, "Remote SMTP server [127.0.0.1]:tcp:" + strings.TrimPrefix(srv, "[127.0.0.1]:") + " succeed on service.", "=> CHECK succeed on service <="},
		{"multi", 0, true, "Remote SMTP server", "=> CHECK succeed on service <="},
		{"554", 0, false, "SMTP_CHECK Bad greeting banner from server " + srv, "=> CHECK failed on service : Bad greeting banner from server " + srv + " <="},
		{"helo", 0, false, "SMTP_CHECK Bad HELO response from server " + srv, ""},
		{"hang", 0, false, "SMTP_CHECK Read timeout from server " + srv, ""},
		{"ok", closedPort, false, "SMTP_CHECK Error connecting to server [127.0.0.1]:", ""},
	} {
		mu.Lock()
		mode = c.mode
		mu.Unlock()
		conf := &keepalived.Check{Kind: "SMTP_CHECK", ConnectTimeout: 300 * time.Millisecond, HeloName: "lb1.example", ConnectPort: c.port}
		ck := newChecker(conf, rs, "tcp", time.Second, false)
		_, tr := ck.step(context.Background())
		if tr == nil || tr.up != c.up || !strings.HasPrefix(tr.log, c.log) || c.alert != "" && tr.alert != c.alert {
			t.Fatalf("%s: got %+v, want up=%v %q %q", c.mode, tr, c.up, c.log, c.alert)
		}
		wantSt := map[bool]string{true: "L7OK", false: "L7STS"}[c.up]
		switch {
		case c.mode == "hang":
			wantSt = "L7TOUT"
		case c.port != 0:
			wantSt = "L4CON"
		}
		if ck.last.status != wantSt {
			t.Errorf("%s: status %s, want %s", c.mode, ck.last.status, wantSt)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(helos) == 0 || helos[0] != "HELO lb1.example" {
		t.Fatalf("HELO lines %q", helos)
	}
}

// dnsServer answers DNS queries on 127.0.0.1 as mode says: "ok",
// "nxdomain", "servfail", "silent", or "query" (echoes the query, not a
// response, which must be ignored). It records the questions.
func dnsServer(t *testing.T) (addr string, setMode func(string), questions func() []dnsmessage.Question) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var mu sync.Mutex
	mode := "ok"
	var qs []dnsmessage.Question
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var m dnsmessage.Message
			if err := m.Unpack(buf[:n]); err != nil || len(m.Questions) != 1 {
				continue
			}
			mu.Lock()
			md := mode
			qs = append(qs, m.Questions[0])
			mu.Unlock()
			switch md {
			case "silent":
				continue
			case "query":
				pc.WriteTo(buf[:n], from)
				continue
			}
			// A stray datagram with another id comes first: it must be ignored.
			stray := m
			stray.Header.ID++
			stray.Header.Response = true
			stray.Header.RCode = dnsmessage.RCodeRefused
			if b, err := stray.Pack(); err == nil {
				pc.WriteTo(b, from)
			}
			m.Header.Response = true
			switch md {
			case "nxdomain":
				m.Header.RCode = dnsmessage.RCodeNameError
			case "servfail":
				m.Header.RCode = dnsmessage.RCodeServerFailure
			default:
				m.Answers = []dnsmessage.Resource{{
					Header: dnsmessage.ResourceHeader{Name: m.Questions[0].Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
					Body:   &dnsmessage.AResource{A: [4]byte{10, 0, 0, 3}},
				}}
			}
			if b, err := m.Pack(); err == nil {
				pc.WriteTo(b, from)
			}
		}
	}()
	return pc.LocalAddr().String(), func(m string) {
			mu.Lock()
			mode = m
			mu.Unlock()
		}, func() []dnsmessage.Question {
			mu.Lock()
			defer mu.Unlock()
			return append([]dnsmessage.Question(nil), qs...)
		}
}

// TestDNSCheck: a NOERROR response is up; NXDOMAIN, SERVFAIL, silence, a
// query echoed back and a closed port are down, with keepalived's lines.
func TestDNSCheck(t *testing.T) {
	addr, setMode, questions := dnsServer(t)
	rs := realAt(t, addr)
	name := "[127.0.0.1]:udp:" + strings.TrimPrefix(addr, "127.0.0.1:")
	closed, _ := net.ListenPacket("udp", "127.0.0.1:0")
	closedPort := netip.MustParseAddrPort(closed.LocalAddr().String()).Port()
	closed.Close()
	for _, c := range []struct {
		mode   string
		port   uint16
		up     bool
		log    string
		status string
	}{
		{"ok", 0, true, "", "L7OK"},
		{"nxdomain", 0, false, "DNS_CHECK (" + name + ") read error occurred. (rcode = 3)", "L7STS"},
		{"servfail", 0, false, "DNS_CHECK (" + name + ") read error occurred. (rcode = 2)", "L7STS"},
		{"silent", 0, false, "DNS_CHECK (" + name + ") read timeout from socket", "L7TOUT"},
		{"query", 0, false, "DNS_CHECK (" + name + ") read timeout from socket", "L7TOUT"},
		{"ok", closedPort, false, "DNS_CHECK ([127.0.0.1]:udp:", "L4CON"},
	} {
		setMode(c.mode)
		conf := &keepalived.Check{Kind: "DNS_CHECK", ConnectTimeout: 300 * time.Millisecond, DNSType: "A", DNSName: "www.example.com", ConnectPort: c.port}
		ck := newChecker(conf, rs, "udp", time.Second, false)
		_, tr := ck.step(context.Background())
		if tr == nil || tr.up != c.up || !strings.HasPrefix(tr.log, c.log) || ck.last.status != c.status {
			t.Fatalf("%s: got %+v status %s, want up=%v %q %s", c.mode, tr, ck.last.status, c.up, c.log, c.status)
		}
		if !c.up && tr.alert != "=> DNS_CHECK: failed on service <=" || c.up && tr.alert != "=> DNS_CHECK: succeed on service <=" {
			t.Fatalf("%s: alert %q", c.mode, tr.alert)
		}
	}
	qs := questions()
	if len(qs) == 0 || qs[0].Name.String() != "www.example.com." || qs[0].Type != dnsmessage.TypeA || qs[0].Class != dnsmessage.ClassINET {
		t.Fatalf("questions %v", qs)
	}
	// The default query: SOA of the root.
	setMode("ok")
	conf := &keepalived.Check{Kind: "DNS_CHECK", ConnectTimeout: 300 * time.Millisecond, DNSType: "SOA", DNSName: "."}
	if _, tr := newChecker(conf, rs, "udp", time.Second, false).step(context.Background()); tr == nil || !tr.up {
		t.Fatalf("SOA .: %+v", tr)
	}
	if qs := questions(); qs[len(qs)-1].Name.String() != "." || qs[len(qs)-1].Type != dnsmessage.TypeSOA {
		t.Fatalf("default question %v", qs[len(qs)-1])
	}
}

// udpServer answers each datagram with reply(payload); "" = no answer.
func udpServer(t *testing.T, reply func([]byte) []byte) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if r := reply(buf[:n]); r != nil {
				pc.WriteTo(r, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// TestUDPCheck: silence is up without require_reply and down with it; a
// reply must match require_reply's bytes (x nibbles free) and length
// limits; an ICMP port unreachable is down.
func TestUDPCheck(t *testing.T) {
	echo := udpServer(t, func(b []byte) []byte { return append([]byte(nil), b...) })
	silent := udpServer(t, func([]byte) []byte { return nil })
	closed, _ := net.ListenPacket("udp", "127.0.0.1:0")
	closedAddr := closed.LocalAddr().String()
	closed.Close()
	hex := func(s string) ([]byte, []byte) {
		d, m, err := keepalived.ParseHex(s, true)
		if err != nil {
			t.Fatal(err)
		}
		return d, m
	}
	for _, c := range []struct {
		name, addr, payload, reply string
		require                    bool
		minLen, maxLen             int
		up                         bool
		status                     string
	}{
		{"silent, no require_reply", silent, "01", "", false, 0, 255, true, "L4OK"},
		{"silent, require_reply", silent, "01", "", true, 0, 255, false, "L7TOUT"},
		{"closed port", closedAddr, "01", "", false, 0, 255, false, "L4CON"},
		{"echo matches", echo, "0a0b0c", "0a 0b", true, 0, 255, true, "L7OK"},
		{"echo wildcard", echo, "0a0b0c", "0a xb 0c", true, 0, 255, true, "L7OK"},
		{"echo mismatch", echo, "0a0b0c", "0a 0c", true, 0, 255, false, "L7RSP"},
		{"echo too short", echo, "0a0b0c", "0a", true, 4, 255, false, "L7RSP"},
		{"echo too long", echo, "0a0b0c", "0a", true, 0, 2, false, "L7RSP"},
		{"echo, reply without data", echo, "0a", "", true, 0, 255, true, "L7OK"},
	} {
		payload, _ := hex(c.payload)
		conf := &keepalived.Check{Kind: "UDP_CHECK", ConnectTimeout: 300 * time.Millisecond, Payload: payload,
			RequireReply: c.require, MinReplyLen: c.minLen, MaxReplyLen: c.maxLen}
		if c.reply != "" {
			conf.ReplyData, conf.ReplyMask = hex(c.reply)
		}
		ck := newChecker(conf, realAt(t, c.addr), "udp", time.Second, false)
		_, tr := ck.step(context.Background())
		want := "UDP connection to " + ck.name + " success."
		if !c.up {
			want = "UDP_CHECK on service " + ck.name + " failed."
		}
		if tr == nil || tr.up != c.up || tr.log != want || ck.last.status != c.status {
			t.Errorf("%s: got %+v status %s, want %q %s", c.name, tr, ck.last.status, want, c.status)
		}
	}
}

func FuzzDNSVerdict(f *testing.F) {
	q, _ := dnsQuery(0x1234, "example.com", "A")
	f.Add(uint16(0x1234), q)
	r := append([]byte(nil), q...)
	r[2] |= 0x80
	r[3] = 3
	f.Add(uint16(0x1234), r)
	f.Add(uint16(1), []byte{0, 1, 0x80})
	f.Fuzz(func(t *testing.T, id uint16, b []byte) {
		answered, rcode := dnsVerdict(id, b)
		if answered && (len(b) < 12 || uint16(b[0])<<8|uint16(b[1]) != id || b[2]&0x80 == 0 || rcode != int(b[3]&0x0f)) {
			t.Fatalf("verdict %v %d for %x", answered, rcode, b)
		}
	})
}

func FuzzUDPReplyMatches(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{1, 2}, []byte{0, 0xf}, 0, 255)
	f.Add([]byte{}, []byte{9}, []byte(nil), 1, 2)
	f.Fuzz(func(t *testing.T, got, want, mask []byte, minLen, maxLen int) {
		ok := udpReplyMatches(got, want, mask, minLen, maxLen)
		if ok && (len(got) < minLen || len(got) > maxLen) {
			t.Fatal("length limits ignored")
		}
		// Without wildcards a match means a common prefix.
		if ok && mask == nil {
			for i := 0; i < len(got) && i < len(want); i++ {
				if got[i] != want[i] {
					t.Fatal("mismatch accepted")
				}
			}
		}
	})
}
