package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/alert/smtpsink"
)

// `dhproxy -K keepalived.conf` with no haproxy.cfg runs what keepalived
// would: here a virtual server on loopback (userspace datapath) whose real
// server goes away and comes back, mailed in keepalived's words.
func TestKeepalivedConfAloneMailsRealServerChanges(t *testing.T) {
	lvsOnly(t)
	if isHAProxy() {
		t.Skip("-K is dhproxy's")
	}
	sink := startMailSink(t)
	realPort, real := serveTCP(t, func(c net.Conn) { c.Close() })
	vsPort := freePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`global_defs {
    router_id lb1
    notification_email {
        ops@example.org
    }
    notification_email_from lb@example.org
    smtp_server 127.0.0.1 %d
    smtp_connect_timeout 5
}
virtual_server 127.0.0.1 %d {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 %d {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
`, sink.Port(), vsPort, realPort)), 0o644)

	p := startKeepalivedAlone(t, dir, conf)
	waitLog := func(want string) { lvsWaitLog(t, p, want, 10*time.Second) }
	rs := fmt.Sprintf("[127.0.0.1]:tcp:%d", realPort)
	vs := fmt.Sprintf("[127.0.0.1]:tcp:%d", vsPort)
	waitLog("TCP connection to " + rs + " success.")
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", vsPort), 2*time.Second); err != nil {
		t.Fatalf("the virtual server does not answer: %v", err)
	} else {
		c.Close()
	}

	real.Close()
	waitLog("Removing service " + rs + " from VS " + vs)
	mails, err := sink.WaitMails(1, 10*time.Second)
	if err != nil {
		t.Fatalf("no DOWN mail: %v\n%s", err, p.Stderr())
	}
	m := mails[0]
	subject := "Subject: [lb1] Realserver " + rs + " of virtual server " + vs + " - DOWN"
	if m.From != "lb@example.org" || len(m.To) != 1 || m.To[0] != "ops@example.org" ||
		!strings.Contains(m.Data, subject+"\r\n") || !strings.Contains(m.Data, "X-Mailer: Keepalived\r\n") ||
		!strings.Contains(m.Data, "\r\n\r\n=> TCP CHECK failed on service <=\r\n") {
		t.Fatalf("DOWN mail differs from keepalived's:\n%q", m.Data)
	}
	if _, err := exec.Command(bin, "lvs", "list", "-S", filepath.Join(dir, "lvs.sock")).Output(); err != nil {
		t.Errorf("dhproxy lvs list against the -K process: %v", err)
	}
}

// startMailSink starts an SMTP sink that accepts every mail; it closes
// when the test ends.
func startMailSink(t *testing.T) *smtpsink.Sink {
	t.Helper()
	sink, err := smtpsink.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sink.Close)
	return sink
}

// startKeepalivedAlone runs `dhproxy -K conf` with no haproxy.cfg, on the
// userspace datapath (no privileges) and an LVS socket in dir; it is
// stopped when the test ends.
func startKeepalivedAlone(t *testing.T, dir, conf string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "-K", conf)
	cmd.Env = append(os.Environ(), "DHPROXY_LVS_DATAPATH=userspace", "DHPROXY_LVS_SOCKET="+filepath.Join(dir, "lvs.sock"))
	return startCmd(t, cmd)
}
