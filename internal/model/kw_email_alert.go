package model

import (
	"strings"

	"dhproxy/internal/config"
	"dhproxy/internal/logging/logtarget"
)

// EmailAlert holds a proxy's "email-alert" lines:
//
//	email-alert mailers <mailersect>   the mailers section to send through
//	email-alert from <emailaddr>       envelope and header sender
//	email-alert to <emailaddr>         envelope and header recipient
//	email-alert level <level>          the least severe message mailed (default alert)
//	email-alert myhostname <hostname>  the HELO argument (default: the host name)
//
// As in HAProxy, alerts are on only when mailers, from and to are all
// given; a server going DOWN is an "alert", coming UP a "notice", and with
// "option log-health-checks" each check status change an "info".
type EmailAlert struct {
	MailersName string
	MailersPos  config.Pos
	From        string
	To          string
	Level       string // syslog level name; "" means alert
	MyHostname  string
	// Mailers is the resolved section; nil when the proxy sends no alert.
	Mailers *Mailers
}

func init() {
	registerProxy("email-alert", CapFE|CapBE|CapDef, parseEmailAlert)
}

func parseEmailAlert(b *builder, p *Proxy, l config.Line) {
	if len(l.Args) < 2 || l.Args[1] == "" {
		b.errorf(l, "missing argument after 'email-alert'; write 'email-alert mailers|from|to|level|myhostname <value>'.")
		return
	}
	e := &p.EmailAlert
	val := ""
	if len(l.Args) > 2 {
		val = l.Args[2]
	}
	switch l.Args[1] {
	case "mailers", "from", "to", "myhostname":
		if val == "" {
			// HAProxy takes the empty value silently; it would send an
			// empty address or HELO.
			b.warnf(l, "'email-alert %s' expects a value; line ignored.", l.Args[1])
			return
		}
	case "level":
		if logtarget.Level(val) < 0 {
			b.errorf(l, "unknown log level '%s' after 'email-alert level'; use one of %s.", val, strings.Join(logtarget.Levels, ", "))
			return
		}
	default:
		b.errorf(l, "email-alert: unknown argument '%s'; use mailers, from, to, level or myhostname.", l.Args[1])
		return
	}
	switch l.Args[1] {
	case "mailers":
		e.MailersName, e.MailersPos = val, l.Pos
	case "from":
		e.From = val
	case "to":
		e.To = val
	case "level":
		e.Level = val
	case "myhostname":
		e.MyHostname = val
	}
}

// resolveEmailAlerts links each proxy to its mailers section, or says why
// it sends no alert, as HAProxy's post-parsing check does.
func (b *builder) resolveEmailAlerts() {
	for _, p := range b.cfg.Proxies {
		e := &p.EmailAlert
		if e.MailersName == "" && e.From == "" && e.To == "" && e.Level == "" && e.MyHostname == "" {
			continue
		}
		var missing []string
		if e.MailersName == "" {
			missing = append(missing, "'email-alert mailers'")
		}
		if e.From == "" {
			missing = append(missing, "'email-alert from'")
		}
		if e.To == "" {
			missing = append(missing, "'email-alert to'")
		}
		if len(missing) > 0 {
			b.d.Warnf(p.Pos, "'email-alert' will be ignored for %s '%s': it needs 'email-alert mailers', 'email-alert from' and 'email-alert to' together; add %s.",
				proxyType(p), p.Name, strings.Join(missing, " and "))
			continue
		}
		m := b.cfg.MailersSection(e.MailersName)
		if m == nil {
			b.d.Errorf(e.MailersPos, "Proxy '%s': unable to find mailers '%s'; declare a 'mailers %s' section with its 'mailer' lines.", p.Name, e.MailersName, e.MailersName)
			continue
		}
		m.used = true
		e.Mailers = m
	}
	for _, m := range b.cfg.Mailers {
		if !m.used {
			b.d.Warnf(m.Pos, "Removing incomplete section 'mailers %s': no proxy sends alerts through it (that takes 'email-alert mailers %s', 'email-alert from' and 'email-alert to').", m.Name, m.Name)
		}
	}
}

// proxyType names a proxy as HAProxy's proxy_type_str: a listen section is
// a "proxy".
func proxyType(p *Proxy) string {
	if p.Cap == CapFE|CapBE {
		return "proxy"
	}
	return sectionWord(p)
}
