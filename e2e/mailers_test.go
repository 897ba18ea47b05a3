package e2e

// E-mail alerts: a "mailers" section and "email-alert" lines make the proxy
// mail every mailer when a server changes state, with HAProxy's subject
// "[HAProxy Alert] <log message>". The SMTP servers here are sinks of the
// test (internal/alert/smtpsink) recording every byte the proxy sends; with
// DHPROXY_BIN=/usr/sbin/haproxy the same assertions hold for haproxy 2.6.

import (
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"dhproxy/internal/alert/smtpsink"
)

func startSinks(t *testing.T, n int, respond func(string) string) []*smtpsink.Sink {
	t.Helper()
	var sinks []*smtpsink.Sink
	for i := 0; i < n; i++ {
		s, err := smtpsink.Start(respond)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		sinks = append(sinks, s)
	}
	return sinks
}

func mailersConfig(port int, level string, be *hcBackend, sinks ...*smtpsink.Sink) string {
	var b strings.Builder
	b.WriteString("mailers alerts\n    timeout mail 5s\n")
	for i, s := range sinks {
		fmt.Fprintf(&b, "    mailer smtp%d %s\n", i+1, s.Addr)
	}
	fmt.Fprintf(&b, defaultsSection("http", "1s", "5s", "5s")+`
frontend f
    bind 127.0.0.1:%d
    default_backend be
backend be
    email-alert mailers alerts
    email-alert from lb@example.org
    email-alert to ops@example.org
    email-alert myhostname lb1.example.org
`, port)
	if level != "" {
		fmt.Fprintf(&b, "    email-alert level %s\n", level)
	}
	fmt.Fprintf(&b, "    server web1 127.0.0.1:%d check inter %dms rise %d fall %d\n", be.port, hcInter.Milliseconds(), hcRise, hcFall)
	return b.String()
}

var (
	mailDateRE = regexp.MustCompile(`^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)$`)
	downMsgRE  = regexp.MustCompile(`^Server be/web1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: \d+ms\. 0 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue$`)
	upMsgRE    = regexp.MustCompile(`^Server be/web1 is UP, reason: Layer4 check passed, check duration: \d+ms\. 1 active and 0 backup servers online\. 0 sessions requeued, 0 total in queue$`)
)

// checkAlertMail checks one mail's envelope and layout against HAProxy's
// (From, To, Date, Subject, blank line, the message, blank line) and
// returns the message.
func checkAlertMail(t *testing.T, m smtpsink.Mail, msgRE *regexp.Regexp) {
	t.Helper()
	if m.Helo != "lb1.example.org" || m.From != "lb@example.org" || len(m.To) != 1 || m.To[0] != "ops@example.org" {
		t.Errorf("envelope: HELO %q, MAIL FROM %q, RCPT TO %q", m.Helo, m.From, m.To)
	}
	lines := strings.Split(m.Data, "\r\n")
	if len(lines) != 8 || lines[0] != "From: lb@example.org" || lines[1] != "To: ops@example.org" ||
		!mailDateRE.MatchString(lines[2]) || !strings.HasPrefix(lines[3], "Subject: [HAProxy Alert] ") ||
		lines[4] != "" || lines[6] != "" || lines[7] != "" {
		t.Fatalf("mail layout differs from HAProxy's:\n%q", m.Data)
	}
	msg := strings.TrimPrefix(lines[3], "Subject: [HAProxy Alert] ")
	if lines[5] != msg || !msgRE.MatchString(msg) {
		t.Errorf("subject %q / body %q, want both matching %s", msg, lines[5], msgRE)
	}
	if want := "HELO lb1.example.org\r\nMAIL FROM:<lb@example.org>\r\nRCPT TO:<ops@example.org>\r\nDATA\r\n" + m.Data + ".\r\nQUIT\r\n"; m.Transcript != want {
		t.Errorf("session:\n%q\nwant\n%q", m.Transcript, want)
	}
}

// TestMailersDownAndUp stops a checked server and starts it again with
// "email-alert level notice": both mailers get the DOWN mail (an alert),
// then the UP mail (a notice).
func TestMailersDownAndUp(t *testing.T) {
	sinks := startSinks(t, 2, nil)
	be := hcStartBackend(t, "web1", nil)
	port := freePort(t)
	p := startProxy(t, mailersConfig(port, "notice", be, sinks...), port)
	hcSettle()

	be.stop()
	for i, s := range sinks {
		mails, err := s.WaitMails(1, 10*time.Second)
		if err != nil {
			t.Fatalf("mailer %d: %v; stderr:\n%s", i+1, err, p.Stderr())
		}
		checkAlertMail(t, mails[0], downMsgRE)
	}

	be.start(t)
	for i, s := range sinks {
		mails, err := s.WaitMails(2, 10*time.Second)
		if err != nil {
			t.Fatalf("mailer %d: %v; stderr:\n%s", i+1, err, p.Stderr())
		}
		checkAlertMail(t, mails[1], upMsgRE)
		if len(mails) != 2 {
			t.Errorf("mailer %d: %d mails, want 2", i+1, len(mails))
		}
	}
}

// TestMailersDefaultLevel checks the default "email-alert level alert":
// DOWN is mailed, UP (a notice) is not. The second DOWN proves the UP mail
// is not merely late: a mailer's alerts go out in order.
func TestMailersDefaultLevel(t *testing.T) {
	sinks := startSinks(t, 1, nil)
	be := hcStartBackend(t, "web1", nil)
	port := freePort(t)
	p := startProxy(t, mailersConfig(port, "", be, sinks...), port)
	hcSettle()

	be.stop()
	if _, err := sinks[0].WaitMails(1, 10*time.Second); err != nil {
		t.Fatalf("%v; stderr:\n%s", err, p.Stderr())
	}
	be.start(t)
	hcWaitStderr(t, p, `Server be/web1 is UP`, 10*time.Second)
	be.stop()
	mails, err := sinks[0].WaitMails(2, 10*time.Second)
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, p.Stderr())
	}
	for _, m := range mails {
		checkAlertMail(t, m, downMsgRE)
	}
}

// TestMailersConfigCheck checks that -c refuses an unknown mailers section
// and warns about incomplete email-alert settings, naming the proxy.
func TestMailersConfigCheck(t *testing.T) {
	_, stderr, code := runCheck(t, defaultsSection("http", "1s", "1s", "1s")+`
listen l
    bind 127.0.0.1:8080
    email-alert mailers nope
    email-alert from lb@example.org
    email-alert to ops@example.org
    server s1 127.0.0.1:80
`)
	if code == 0 || !strings.Contains(stderr, "Proxy 'l': unable to find mailers 'nope'") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	_, stderr, code = runCheck(t, `
mailers mm
    mailer smtp1 127.0.0.1:25`+defaultsSection("http", "1s", "1s", "1s")+`
listen l
    bind 127.0.0.1:8080
    email-alert mailers mm
    server s1 127.0.0.1:80
`)
	if code != 0 || !strings.Contains(stderr, "'email-alert' will be ignored for proxy 'l'") ||
		!strings.Contains(stderr, "Removing incomplete section 'mailers mm'") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

// TestMailersHealthCheckResults checks "option log-health-checks" with
// "email-alert level info": each check status change is mailed too, before
// the state change itself.
func TestMailersHealthCheckResults(t *testing.T) {
	sinks := startSinks(t, 1, nil)
	be := hcStartBackend(t, "web1", nil)
	port := freePort(t)
	cfg := strings.Replace(mailersConfig(port, "info", be, sinks...), "\nbackend be\n", "\nbackend be\n    option log-health-checks\n", 1)
	p := startProxy(t, cfg, port)
	hcSettle()
	be.stop()
	hc := `Health check for server be/web1 `
	refused := `, reason: Layer4 connection problem, info: "Connection refused", check duration: \d+ms`
	want := []string{
		hc + `succeeded, reason: Layer4 check passed, check duration: \d+ms, status: 2/2 UP`,
		hc + `failed` + refused + `, status: 1/2 UP`,
		hc + `failed` + refused + `, status: 0/2 DOWN`,
		`Server be/web1 is DOWN\. 0 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue`,
	}
	mails, err := sinks[0].WaitMails(len(want), 10*time.Second)
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, p.Stderr())
	}
	for i, w := range want {
		checkAlertMail(t, mails[i], regexp.MustCompile("^"+w+"$"))
	}
}

// TestMailersRefusedBySMTPServer has the mail server refuse the DOWN mail:
// the proxy says why (dhproxy names the server and quotes its reply) and
// still mails the next alert.
func TestMailersRefusedBySMTPServer(t *testing.T) {
	var refused atomic.Bool
	sinks := startSinks(t, 1, func(line string) string {
		if strings.HasPrefix(line, "RCPT TO:") && refused.CompareAndSwap(false, true) {
			return "550 5.7.1 relaying denied"
		}
		return ""
	})
	be := hcStartBackend(t, "web1", nil)
	port := freePort(t)
	p := startProxy(t, mailersConfig(port, "notice", be, sinks...), port)
	hcSettle()
	be.stop()
	hcWaitStderr(t, p, `Server be/web1 is DOWN`, 10*time.Second)
	if !isHAProxy() {
		hcWaitStderr(t, p, regexp.QuoteMeta(`mail alert not sent: SMTP server `+sinks[0].Addr+`: RCPT TO:<ops@example.org> answered "550 5.7.1 relaying denied", expected 250`), 10*time.Second)
	}
	be.start(t)
	mails, err := sinks[0].WaitMails(1, 10*time.Second)
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, p.Stderr())
	}
	checkAlertMail(t, mails[0], upMsgRE)
	if !refused.Load() {
		t.Error("the DOWN mail never reached RCPT TO")
	}
}
