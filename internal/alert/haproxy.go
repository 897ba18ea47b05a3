package alert

import (
	"net"
	"os"
	"strings"
	"time"

	"dhproxy/internal/logging/logtarget"
	"dhproxy/internal/model"
)

// HAProxy sends the e-mail alerts of proxies with "email-alert mailers",
// "from" and "to", to every mailer of their mailers section, as HAProxy
// does.
type HAProxy struct {
	s       *Sender
	proxies map[string]*proxyAlerts
	now     func() time.Time
}

type proxyAlerts struct {
	level   int // the least severe syslog level mailed
	helo    string
	from    string
	to      string
	mailers []string
	timeout time.Duration
}

// NewHAProxy returns the alerter of cfg, sending through s, or nil when no
// proxy sends alerts.
func NewHAProxy(cfg *model.Config, s *Sender) *HAProxy {
	host, _ := os.Hostname()
	return newHAProxy(cfg, s, host, time.Now)
}

func newHAProxy(cfg *model.Config, s *Sender, host string, now func() time.Time) *HAProxy {
	h := &HAProxy{s: s, proxies: map[string]*proxyAlerts{}, now: now}
	for _, p := range cfg.Proxies {
		e := &p.EmailAlert
		if e.Mailers == nil || p.Disabled {
			continue
		}
		a := &proxyAlerts{level: logtarget.Level(e.Level), helo: e.MyHostname, from: e.From, to: e.To, timeout: e.Mailers.Timeout}
		if a.level < 0 {
			a.level = logtarget.Level("alert")
		}
		if a.helo == "" {
			a.helo = host
		}
		for _, m := range e.Mailers.Mailers {
			a.mailers = append(a.mailers, resolveOnce(m.Addr))
		}
		h.proxies[p.Name] = a
	}
	if len(h.proxies) == 0 {
		return nil
	}
	return h
}

// resolveOnce turns a mailer's host name into an address at start, as
// HAProxy does; a name that does not resolve now is kept, to be tried again
// (and reported) on every mail.
func resolveOnce(addr string) string {
	if ta, err := net.ResolveTCPAddr("tcp", addr); err == nil {
		return ta.String()
	}
	return addr
}

// ServerEvent mails msg about a server of proxy when level (a syslog
// level name: "alert", "notice", "info", ...) is at least as severe as the
// proxy's "email-alert level". msg is the log line; its final period is
// left out, as in HAProxy's mails.
func (h *HAProxy) ServerEvent(proxy, level, msg string) {
	if h == nil {
		return
	}
	a := h.proxies[proxy]
	lv := logtarget.Level(level)
	if a == nil || lv < 0 || lv > a.level {
		return
	}
	msg = strings.TrimSuffix(msg, ".")
	m := a.message(msg, h.now())
	for _, addr := range a.mailers {
		h.s.Enqueue(Delivery{Addr: addr, Step: a.timeout, Total: a.timeout, Msg: m})
	}
}

// message lays the mail out as HAProxy 2.6 does: From, To, Date (local
// time, with the zone name), the subject "[HAProxy Alert] <msg>", a blank
// line, msg and a blank line.
func (a *proxyAlerts) message(msg string, now time.Time) *Message {
	var b strings.Builder
	b.WriteString("From: " + a.from + "\r\n")
	b.WriteString("To: " + a.to + "\r\n")
	b.WriteString("Date: " + now.Format("Mon, 02 Jan 2006 15:04:05 -0700 (MST)") + "\r\n")
	b.WriteString("Subject: [HAProxy Alert] " + msg + "\r\n\r\n")
	b.WriteString(msg + "\r\n\r\n")
	return &Message{Helo: a.helo, From: a.from, To: []string{a.to}, Data: []byte(b.String())}
}
