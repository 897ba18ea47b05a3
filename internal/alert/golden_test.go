package alert

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected output of golden tests")

var testClock = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func testKeepalived(t *testing.T, s *Sender, addr string) *Keepalived {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	g := &keepalived.GlobalDefs{RouterID: "LVS_DEVEL", NotificationEmail: []string{"acassen@firewall.loc"},
		SMTPServer: host, SMTPPort: p, SMTPConnectTimeout: 5 * time.Second}
	return newKeepalived(g, s, "lb1", func() time.Time { return testClock })
}

// TestGoldenKeepalivedLVS checks the mails of the checker side, which
// keepalived 2.2.7 cannot send on this machine (no IPVS in the kernel):
// the wording follows keepalived's check_*.c and ipwrapper.c. The expected
// DATA parts are in testdata/keepalived-lvs.txtar (-update rewrites it).
func TestGoldenKeepalivedLVS(t *testing.T) {
	sink := startSink(t, nil)
	s := NewSender(func(level, msg string) { t.Error(level, msg) })
	defer s.Close(time.Second)
	k := testKeepalived(t, s, sink.Addr)

	vs := &keepalived.VirtualServer{Addr: netip.MustParseAddr("192.168.200.100"), Port: 443, Protocol: "TCP", Quorum: 2, Hysteresis: 1}
	rs := &keepalived.RealServer{Addr: netip.MustParseAddr("192.168.201.100"), Port: 443}
	vs6 := &keepalived.VirtualServer{Addr: netip.MustParseAddr("2001:db8::1"), Port: 53, Protocol: "UDP", Quorum: 1}
	rs6 := &keepalived.RealServer{Addr: netip.MustParseAddr("2001:db8::10"), Port: 53}
	fwm := &keepalived.VirtualServer{FWMark: 5, Quorum: 1}
	grp := &keepalived.VirtualServer{Group: "web", Port: 80, Quorum: 1}
	steps := []struct {
		name string
		do   func()
	}{
		{"TCP_CHECK down", func() { k.RealServer(vs, rs, false, CheckBody("TCP_CHECK", false, "")) }},
		{"TCP_CHECK up", func() { k.RealServer(vs, rs, true, CheckBody("TCP_CHECK", true, "")) }},
		{"HTTP_GET down", func() { k.RealServer(vs, rs, false, CheckBody("HTTP_GET", false, "HTTP status code error")) }},
		{"HTTP_GET up", func() { k.RealServer(vs, rs, true, CheckBody("HTTP_GET", true, "")) }},
		{"SSL_GET down without detail", func() { k.RealServer(vs, rs, false, CheckBody("SSL_GET", false, "")) }},
		{"MISC_CHECK down", func() { k.RealServer(vs, rs, false, CheckBody("MISC_CHECK", false, "")) }},
		{"UDP IPv6 real server", func() { k.RealServer(vs6, rs6, false, CheckBody("UDP_CHECK", false, "")) }},
		{"fwmark virtual server", func() { k.RealServer(fwm, rs, false, CheckBody("TCP_CHECK", false, "")) }},
		{"group virtual server", func() { k.RealServer(grp, rs, true, CheckBody("TCP_CHECK", true, "")) }},
		{"removed on shutdown", func() { k.RealServerRemoved(vs, rs, true) }},
		{"removed on reload", func() { k.RealServerRemoved(vs, rs, false) }},
		{"quorum lost", func() { k.Quorum(vs, false, false, 1, 0) }},
		{"quorum gained", func() { k.Quorum(vs, true, false, 3, 3) }},
		{"quorum up at start", func() { k.Quorum(vs, true, true, 3, 4) }},
		{"quorum down at start", func() { k.Quorum(vs, false, true, 3, 1) }},
		{"instance stopping", func() { k.VRRPInstance(&keepalived.VRRPInstance{Name: "VI_1", SMTPAlert: true}, Stop) }},
		{"group stopping", func() { k.VRRPGroup(&keepalived.SyncGroup{Name: "G1", SMTPAlert: true}, Stop) }},
	}
	for _, st := range steps {
		st.do()
	}
	mails, err := sink.WaitMails(len(steps), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for i, m := range mails {
		fmt.Fprintf(&got, "== %s ==\n%s", steps[i].name, strings.ReplaceAll(m.Data, "\r\n", "\n"))
	}
	golden(t, "testdata/keepalived-lvs.txtar", got.String())
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil && !*update {
		t.Fatal(err)
	}
	a := txtar.Parse(string(raw))
	if *update {
		out := txtar.Archive{Comment: a.Comment, Files: []txtar.File{{Name: "expect", Data: got}}}
		if err := os.WriteFile(path, []byte(out.Format()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want, _ := a.Get("expect"); got != want {
		t.Errorf("%s differs (rerun with -update to accept)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestKeepalivedSendsOnlyWhatKeepalivedSends checks the switches: no mail
// without smtp_alert on the instance or group, none for a state already
// mailed, none without smtp_server or recipients. The mail sent last
// proves the others were not merely late, the sender being sequential.
func TestKeepalivedSendsOnlyWhatKeepalivedSends(t *testing.T) {
	sink := startSink(t, nil)
	s := NewSender(func(level, msg string) { t.Error(level, msg) })
	defer s.Close(time.Second)
	k := testKeepalived(t, s, sink.Addr)
	quiet := &keepalived.VRRPInstance{Name: "VI_quiet"}
	vi := &keepalived.VRRPInstance{Name: "VI_1", SMTPAlert: true}
	k.VRRPInstance(quiet, Master)
	k.VRRPGroup(&keepalived.SyncGroup{Name: "G_quiet"}, Master)
	k.VRRPInstance(vi, Backup)
	k.VRRPInstance(vi, Backup) // same state: keepalived's last_email_state
	noServer := newKeepalived(&keepalived.GlobalDefs{NotificationEmail: []string{"a@b"}}, s, "lb1", time.Now)
	noServer.VRRPInstance(vi, Master)
	noRcpt := newKeepalived(&keepalived.GlobalDefs{SMTPServer: "127.0.0.1", SMTPPort: 1}, s, "lb1", time.Now)
	noRcpt.VRRPInstance(vi, Master)
	k.VRRPInstance(vi, Master)
	mails, err := sink.WaitMails(2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(10 * time.Second)
	if mails = sink.Mails(); len(mails) != 2 {
		t.Fatalf("%d mails, want 2", len(mails))
	}
	for i, want := range []string{"Subject: [LVS_DEVEL] VRRP Instance VI_1 - Entering BACKUP state", "Subject: [LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state"} {
		if !strings.Contains(mails[i].Data, want+"\r\n") {
			t.Errorf("mail %d:\n%s\nwant %q", i, mails[i].Data, want)
		}
	}
}

// TestKeepalivedDefaults checks keepalived's defaults: the sender is
// keepalived@<hostname>, the router_id the host name, HELO the host name.
func TestKeepalivedDefaults(t *testing.T) {
	sink := startSink(t, nil)
	s := NewSender(func(level, msg string) { t.Error(level, msg) })
	defer s.Close(time.Second)
	host, port, _ := net.SplitHostPort(sink.Addr)
	p, _ := strconv.Atoi(port)
	g := &keepalived.GlobalDefs{NotificationEmail: []string{"ops@example.org"}, SMTPServer: host, SMTPPort: p}
	newKeepalived(g, s, "lb1.example.org", func() time.Time { return testClock }).VRRPInstance(&keepalived.VRRPInstance{Name: "VI_1", SMTPAlert: true}, Master)
	mails, err := sink.WaitMails(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := mails[0]
	if m.Helo != "lb1.example.org" || m.From != "keepalived@lb1.example.org" ||
		!strings.Contains(m.Data, "From: keepalived@lb1.example.org\r\nSubject: [lb1.example.org] VRRP Instance VI_1 - Entering MASTER state\r\n") {
		t.Errorf("HELO %q, MAIL FROM %q, data:\n%s", m.Helo, m.From, m.Data)
	}
}
