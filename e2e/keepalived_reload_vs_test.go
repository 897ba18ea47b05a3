package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKeepalivedKReloadVirtualServers: `dhproxy -K keepalived.conf` on
// SIGHUP keeps r1 (no check restart, no mail), removes r2 (keepalived's
// lines and its "=> Removing <=" DOWN mail) and adds r3, which then gets
// clients.
func TestKeepalivedKReloadVirtualServers(t *testing.T) {
	lvsOnly(t)
	if isHAProxy() {
		t.Skip("-K is dhproxy's")
	}
	sink := startMailSink(t)
	ports := map[string]int{}
	for _, name := range []string{"r1", "r2", "r3"} {
		ports[name], _ = serveTCP(t, func(c net.Conn) {
			c.Write([]byte(name))
			c.Close()
		})
	}
	vsPort := freePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	write := func(reals ...string) {
		var b strings.Builder
		fmt.Fprintf(&b, `global_defs {
    router_id lb1
    notification_email {
        ops@example.org
    }
    notification_email_from lb@example.org
    smtp_server 127.0.0.1 %d
}
virtual_server 127.0.0.1 %d {
    delay_loop 1
    lb_algo rr
    protocol TCP
`, sink.Port(), vsPort)
		for _, r := range reals {
			fmt.Fprintf(&b, "    real_server 127.0.0.1 %d {\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n", ports[r])
		}
		os.WriteFile(conf, []byte(b.String()+"}\n"), 0o644)
	}
	write("r1", "r2")
	p := startKeepalivedAlone(t, dir, conf)
	rs := func(name string) string { return fmt.Sprintf("[127.0.0.1]:tcp:%d", ports[name]) }
	vs := fmt.Sprintf("[127.0.0.1]:tcp:%d", vsPort)
	lvsWaitLog(t, p, "TCP connection to "+rs("r1")+" success.", 10*time.Second)
	lvsWaitLog(t, p, "TCP connection to "+rs("r2")+" success.", 10*time.Second)

	write("r1", "r3")
	p.cmd.Process.Signal(syscall.SIGHUP)
	lvsWaitLog(t, p, "TCP connection to "+rs("r3")+" success.", 10*time.Second)
	mails, err := sink.WaitMails(1, 10*time.Second)
	if err != nil {
		t.Fatalf("no mail for the removed server: %v\n%s", err, p.Stderr())
	}
	subject := "Subject: [lb1] Realserver " + rs("r2") + " of virtual server " + vs + " - DOWN"
	if !strings.Contains(mails[0].Data, subject+"\r\n") || !strings.Contains(mails[0].Data, "\r\n\r\n=> Removing <=\r\n") {
		t.Errorf("removal mail differs from keepalived's:\n%q", mails[0].Data)
	}
	seen := map[string]int{}
	for range 4 {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", vsPort), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 8)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _ := c.Read(b)
		c.Close()
		seen[string(b[:n])]++
	}
	if seen["r1"] != 2 || seen["r3"] != 2 {
		t.Errorf("rr over r1 and r3 after the reload: %v", seen)
	}
	time.Sleep(500 * time.Millisecond)
	log := p.Stderr()
	for _, want := range []string{"service " + rs("r2") + " no longer exist", "Removing service " + rs("r2") + " from VS " + vs} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if n := strings.Count(log, "Activating healthchecker for service "+rs("r1")); n != 1 {
		t.Errorf("r1's checker restarted (%d):\n%s", n, log)
	}
	if n := len(sink.Mails()); n != 1 {
		t.Errorf("%d mails, want only r2's removal", n)
	}
}
