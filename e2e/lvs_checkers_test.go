package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"dhproxy/internal/alert/smtpsink"
)

// TestLVSCheckersSMTPDNSUDP runs `dhproxy lvs run` (userspace datapath,
// 127.0.0.1) with an SMTP_CHECK, a DNS_CHECK and a UDP_CHECK real server
// and follows keepalived's log lines as each server goes down and up.
func TestLVSCheckersSMTPDNSUDP(t *testing.T) {
	lvsOnly(t)
	var smtpBad atomic.Bool
	sink, err := smtpsink.Start(func(line string) string {
		if line == "" && smtpBad.Load() {
			return "554 5.3.2 not accepting connections"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()

	var dnsBad atomic.Bool
	dns, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	go serveDNS(dns, &dnsBad)

	udpAddr := startUDPEcho(t, "127.0.0.1:0")
	udpPort := udpAddr.LocalAddr().(*net.UDPAddr).Port

	vs1, vs2, vs3 := freePort(t), freeUDPPort(t), freeUDPPort(t)
	smtpName := fmt.Sprintf("[127.0.0.1]:tcp:%d", sink.Port())
	dnsPort := dns.LocalAddr().(*net.UDPAddr).Port
	dnsName := fmt.Sprintf("[127.0.0.1]:udp:%d", dnsPort)
	udpName := fmt.Sprintf("[127.0.0.1]:udp:%d", udpPort)
	conf := fmt.Sprintf(`
virtual_server 127.0.0.1 %d {
    delay_loop 0.3
    warmup 0
    protocol TCP
    real_server 127.0.0.1 %d {
        SMTP_CHECK {
            helo_name lb1.example
            connect_timeout 1
            retry 0
        }
    }
}
virtual_server 127.0.0.1 %d {
    delay_loop 0.3
    warmup 0
    protocol UDP
    real_server 127.0.0.1 %d {
        DNS_CHECK {
            type A
            name www.example.com
            connect_timeout 1
            retry 0
        }
    }
}
virtual_server 127.0.0.1 %d {
    delay_loop 0.3
    warmup 0
    protocol UDP
    real_server 127.0.0.1 %d {
        UDP_CHECK {
            payload 70 69 6e 67
            require_reply 70 69 xx xx
            connect_timeout 1
            retry 0
        }
    }
}
`, vs1, sink.Port(), vs2, dnsPort, vs3, udpPort)
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startCmd(t, exec.Command(bin, "lvs", "run", "-S", filepath.Join(dir, "lvs.sock"), "-datapath", "userspace", path))

	lvsWaitLog(t, p, "virtual servers running", 10*time.Second)
	lvsWaitLog(t, p, "Remote SMTP server "+smtpName+" succeed on service.", 10*time.Second)
	lvsWaitLog(t, p, "UDP connection to "+udpName+" success.", 10*time.Second)

	// Down: a 554 greeting, SERVFAIL, and an ICMP port unreachable.
	smtpBad.Store(true)
	dnsBad.Store(true)
	udpAddr.Close()
	lvsWaitLog(t, p, "SMTP_CHECK Bad greeting banner from server "+fmt.Sprintf("[127.0.0.1]:%d", sink.Port()), 10*time.Second)
	lvsWaitLog(t, p, fmt.Sprintf("Removing service %s from VS [127.0.0.1]:tcp:%d", smtpName, vs1), 10*time.Second)
	lvsWaitLog(t, p, "DNS_CHECK ("+dnsName+") read error occurred. (rcode = 2) after 0 retries", 10*time.Second)
	lvsWaitLog(t, p, fmt.Sprintf("Removing service %s from VS [127.0.0.1]:udp:%d", dnsName, vs2), 10*time.Second)
	lvsWaitLog(t, p, "UDP_CHECK on service "+udpName+" failed.", 10*time.Second)
	lvsWaitLog(t, p, fmt.Sprintf("Removing service %s from VS [127.0.0.1]:udp:%d", udpName, vs3), 10*time.Second)

	// Up again.
	smtpBad.Store(false)
	dnsBad.Store(false)
	startUDPEcho(t, fmt.Sprintf("127.0.0.1:%d", udpPort))
	lvsWaitLog(t, p, fmt.Sprintf("Adding service %s to VS [127.0.0.1]:tcp:%d", smtpName, vs1), 10*time.Second)
	lvsWaitLog(t, p, fmt.Sprintf("Adding service %s to VS [127.0.0.1]:udp:%d", dnsName, vs2), 10*time.Second)
	lvsWaitLog(t, p, fmt.Sprintf("Adding service %s to VS [127.0.0.1]:udp:%d", udpName, vs3), 10*time.Second)
	if n := strings.Count(p.Stderr(), "Remote SMTP server "+smtpName+" succeed on service."); n != 2 {
		t.Errorf("SMTP success logged %d times, want 2 (start, recovery):\n%s", n, p.Stderr())
	}
	lvsStopTerm(t, p)
}

// serveDNS answers every query with NOERROR and an A record, or with
// SERVFAIL while bad is set.
func serveDNS(pc net.PacketConn, bad *atomic.Bool) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var m dnsmessage.Message
		if m.Unpack(buf[:n]) != nil || len(m.Questions) != 1 {
			continue
		}
		m.Header.Response = true
		if bad.Load() {
			m.Header.RCode = dnsmessage.RCodeServerFailure
		} else {
			m.Answers = []dnsmessage.Resource{{
				Header: dnsmessage.ResourceHeader{Name: m.Questions[0].Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 5},
				Body:   &dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}},
			}}
		}
		if b, err := m.Pack(); err == nil {
			pc.WriteTo(b, from)
		}
	}
}

// startUDPEcho echoes datagrams on addr until the test ends (or the caller
// closes it).
func startUDPEcho(t *testing.T, addr string) net.PacketConn {
	pc, err := net.ListenPacket("udp", addr)
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
			pc.WriteTo(buf[:n], from)
		}
	}()
	return pc
}

func freeUDPPort(t *testing.T) int {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}
