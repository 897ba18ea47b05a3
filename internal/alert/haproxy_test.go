package alert

import (
	"strings"
	"testing"
	"time"

	"dhproxy/internal/alert/smtpsink"
)

// TestHAProxyLevelsAndMailers checks "email-alert level" filtering (DOWN is
// an alert, UP a notice, log-health-checks results info), that every
// mailer of the section gets each mail, and "email-alert myhostname".
func TestHAProxyLevelsAndMailers(t *testing.T) {
	sink1, sink2 := startSink(t, nil), startSink(t, nil)
	s := NewSender(func(level, msg string) { t.Error(level, msg) })
	defer s.Close(time.Second)
	cfg := buildHAProxy(t, `
mailers mm
    mailer m1 `+sink1.Addr+`
    mailer m2 `+sink2.Addr+`
defaults
    email-alert mailers mm
    email-alert from lb@example.org
    email-alert to ops@example.org
backend strict
    server s1 127.0.0.1:1 check
backend chatty
    email-alert level info
    email-alert myhostname lb1.example.org
    server s1 127.0.0.1:1 check
`)
	h := newHAProxy(cfg, s, "host", func() time.Time { return testClock })
	h.ServerEvent("strict", "notice", "Server strict/s1 is UP, reason: Layer4 check passed.")
	h.ServerEvent("strict", "info", "Health check for server strict/s1 succeeded.")
	h.ServerEvent("nomail", "alert", "Server nomail/s1 is DOWN.")
	h.ServerEvent("strict", "alert", "Server strict/s1 is DOWN.")
	h.ServerEvent("chatty", "info", "Health check for server chatty/s1 failed, status: 0/2 DOWN.")
	h.ServerEvent("chatty", "debug", "not mailed: below info")
	h.ServerEvent("chatty", "notice", "Server chatty/s1 is UP.")
	s.Close(10 * time.Second)
	want := []struct{ helo, subject string }{
		{"host", "Server strict/s1 is DOWN"},
		{"lb1.example.org", "Health check for server chatty/s1 failed, status: 0/2 DOWN"},
		{"lb1.example.org", "Server chatty/s1 is UP"},
	}
	for n, sink := range []*smtpsink.Sink{sink1, sink2} {
		mails, err := sink.WaitMails(len(want), 10*time.Second)
		if err != nil {
			t.Fatalf("mailer %d: %v", n+1, err)
		}
		if len(mails) != len(want) {
			t.Fatalf("mailer %d: %d mails, want %d", n+1, len(mails), len(want))
		}
		for i, w := range want {
			m := mails[i]
			if m.Helo != w.helo || !strings.Contains(m.Data, "\r\nSubject: [HAProxy Alert] "+w.subject+"\r\n\r\n"+w.subject+"\r\n\r\n") {
				t.Errorf("mailer %d mail %d: HELO %q\n%s\nwant HELO %q and subject/body %q", n+1, i, m.Helo, m.Data, w.helo, w.subject)
			}
			if m.From != "lb@example.org" || len(m.To) != 1 || m.To[0] != "ops@example.org" {
				t.Errorf("envelope %q -> %q", m.From, m.To)
			}
		}
	}
}

func TestHAProxyNothingConfigured(t *testing.T) {
	cfg := buildHAProxy(t, "backend be\n    server s1 127.0.0.1:1 check\n")
	if h := NewHAProxy(cfg, nil); h != nil {
		t.Errorf("alerter %+v for a configuration without email-alert", h)
	}
	var h *HAProxy
	h.ServerEvent("be", "alert", "Server be/s1 is DOWN.") // a nil alerter is a no-op
}
