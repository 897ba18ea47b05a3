package alert

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"dhproxy/internal/config/keepalived"
)

// VRRPState is the state a VRRP instance or sync group enters.
type VRRPState int

const (
	Master VRRPState = iota
	Backup
	Fault
	Stop
)

// Keepalived sends keepalived's smtp_alert mails, built from global_defs:
// notification_email, notification_email_from (default
// keepalived@<hostname>), smtp_server, smtp_connect_timeout and router_id
// (default: the host name). With no recipient or no smtp_server it sends
// nothing, as keepalived. The methods never block; they are safe for
// concurrent use.
type Keepalived struct {
	s        *Sender
	addr     string
	step     time.Duration
	helo     string
	from     string
	to       []string
	toHeader string
	routerID string
	now      func() time.Time

	mu   sync.Mutex
	last map[string]VRRPState // last state mailed per instance/group, as keepalived's last_email_state
}

// NewKeepalived returns the alerter of g's settings, sending through s.
func NewKeepalived(g *keepalived.GlobalDefs, s *Sender) *Keepalived {
	host, _ := os.Hostname()
	return newKeepalived(g, s, host, time.Now)
}

func newKeepalived(g *keepalived.GlobalDefs, s *Sender, host string, now func() time.Time) *Keepalived {
	k := &Keepalived{s: s, step: g.SMTPConnectTimeout, helo: host, from: g.NotificationEmailFrom,
		to: g.NotificationEmail, routerID: g.RouterID, now: now, last: map[string]VRRPState{}}
	if g.SMTPServer != "" && len(g.NotificationEmail) > 0 {
		port := g.SMTPPort
		if port == 0 {
			port = 25
		}
		k.addr = net.JoinHostPort(g.SMTPServer, strconv.Itoa(port))
	}
	if k.step <= 0 {
		k.step = 30 * time.Second // keepalived's default smtp_connect_timeout
	}
	if k.from == "" {
		k.from = "keepalived@" + host
	}
	if k.routerID == "" {
		k.routerID = host
	}
	k.toHeader = strings.Join(k.to, ", ")
	return k
}

var (
	vrrpSubjects = [...]string{Master: "Entering MASTER state", Backup: "Entering BACKUP state", Fault: "Entering FAULT state", Stop: "Stopping"}
	vrrpBodies   = [...]string{
		Master: "=> VRRP Instance is now owning VRRP VIPs <=",
		Backup: "=> VRRP Instance is no longer owning VRRP VIPs <=",
		Fault:  "=> VRRP Instance is no longer owning VRRP VIPs <=",
		Stop:   "=> VRRP Instance stopping <=",
	}
	groupBodies = [...]string{
		Master: "=> All VRRP group instances are now in MASTER state <=",
		Backup: "=> All VRRP group instances are now in BACKUP state <=",
		Fault:  "=> All VRRP group instances are now in FAULT state <=",
		Stop:   "=> All VRRP group instances are now stopping <=",
	}
)

// VRRPInstance mails "[router_id] VRRP Instance NAME - Entering MASTER
// state" and the like, when the instance has smtp_alert and the state
// differs from the last one mailed.
func (k *Keepalived) VRRPInstance(inst *keepalived.VRRPInstance, st VRRPState) {
	if inst.SMTPAlert && k.changed("i/"+inst.Name, st) {
		k.send(fmt.Sprintf("[%s] VRRP Instance %s - %s", k.routerID, inst.Name, vrrpSubjects[st]), vrrpBodies[st])
	}
}

// VRRPGroup mails "[router_id] VRRP Group NAME - Entering MASTER state" and
// the like, when the sync group has smtp_alert and the state differs from
// the last one mailed.
func (k *Keepalived) VRRPGroup(g *keepalived.SyncGroup, st VRRPState) {
	if g.SMTPAlert && k.changed("g/"+g.Name, st) {
		k.send(fmt.Sprintf("[%s] VRRP Group %s - %s", k.routerID, g.Name, vrrpSubjects[st]), groupBodies[st])
	}
}

func (k *Keepalived) changed(key string, st VRRPState) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if last, ok := k.last[key]; ok && last == st {
		return false
	}
	k.last[key] = st
	return true
}

// RealServer mails "[router_id] Realserver [1.2.3.4]:tcp:80 of virtual
// server [10.0.0.1]:tcp:80 - DOWN" (or UP) with body, which CheckBody
// builds from the checker that changed the state. Real servers alert by
// default in keepalived; the caller skips servers whose alerts are off.
func (k *Keepalived) RealServer(vs *keepalived.VirtualServer, rs *keepalived.RealServer, up bool, body string) {
	word := "DOWN"
	if up {
		word = "UP"
	}
	k.send(fmt.Sprintf("[%s] Realserver %s of virtual server %s - %s", k.routerID, RealServerName(vs, rs), VirtualServerName(vs), word), body)
}

// RealServerRemoved mails the DOWN alert keepalived sends when a live real
// server leaves the table: on shutdown (stopping) or on a reload that
// removed it.
func (k *Keepalived) RealServerRemoved(vs *keepalived.VirtualServer, rs *keepalived.RealServer, stopping bool) {
	body := "=> Removing <="
	if stopping {
		body = "=> Shutting down <="
	}
	k.RealServer(vs, rs, false, body)
}

// CheckBody is the body keepalived's checkers write: kind is the checker
// block (TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, ...), detail the failure
// for the checkers that report one (HTTP_GET, SSL_GET, SMTP_CHECK,
// DNS_CHECK: "connection error", "HTTP status code error", ...).
func CheckBody(kind string, up bool, detail string) string {
	verdict := "failed"
	if up {
		verdict = "succeed"
	}
	switch kind {
	case "TCP_CHECK", "MISC_CHECK", "UDP_CHECK", "FILE_CHECK", "PING_CHECK":
		return "=> " + strings.TrimSuffix(kind, "_CHECK") + " CHECK " + verdict + " on service <="
	}
	if !up && detail != "" {
		return "=> CHECK failed on service : " + detail + " <="
	}
	return "=> CHECK " + verdict + " on service <="
}

// Quorum mails "[router_id] Virtualserver VS - UP" (or DOWN) when a
// virtual server gains or loses its quorum; init is true for the state
// found at start-up. threshold is quorum ± hysteresis as keepalived
// computes it, weightSum the weight of the live real servers.
func (k *Keepalived) Quorum(vs *keepalived.VirtualServer, up, init bool, threshold, weightSum int) {
	what, word := "Lost quorum", "DOWN"
	switch {
	case up && init:
		what, word = "Starting with quorum up", "UP"
	case up:
		what, word = "Gained quorum", "UP"
	case init:
		what = "Starting with quorum down"
	}
	body := fmt.Sprintf("=> %s %d+%d=%d <= %d <=", what, vs.Quorum, vs.Hysteresis, threshold, weightSum)
	k.send(fmt.Sprintf("[%s] Virtualserver %s - %s", k.routerID, VirtualServerName(vs), word), body)
}

// VirtualServerName formats a virtual server as keepalived's FMT_VS:
// "[10.0.0.1]:tcp:80", "FWM 5" or "[group]:80".
func VirtualServerName(vs *keepalived.VirtualServer) string {
	switch {
	case vs.Group != "":
		return fmt.Sprintf("[%s]:%d", vs.Group, vs.Port)
	case vs.FWMark != 0:
		return fmt.Sprintf("FWM %d", vs.FWMark)
	}
	return fmt.Sprintf("[%s]:%s:%d", vs.Addr, proto(vs), vs.Port)
}

// RealServerName formats a real server as keepalived's FMT_RS, with its
// virtual server's protocol: "[1.2.3.4]:tcp:80".
func RealServerName(vs *keepalived.VirtualServer, rs *keepalived.RealServer) string {
	return fmt.Sprintf("[%s]:%s:%d", rs.Addr, proto(vs), rs.Port)
}

func proto(vs *keepalived.VirtualServer) string {
	if vs.Protocol == "" {
		return "tcp"
	}
	return strings.ToLower(vs.Protocol)
}

// send queues one mail; keepalived sends nothing without recipients and
// smtp_server.
func (k *Keepalived) send(subject, body string) {
	if k == nil || k.addr == "" {
		return
	}
	k.s.Enqueue(Delivery{Addr: k.addr, Step: k.step, Msg: k.message(subject, body)})
}

// message lays the mail out as keepalived's smtp.c does: Date (local time),
// From, Subject, X-Mailer, To, a blank line, the body and a blank line.
func (k *Keepalived) message(subject, body string) *Message {
	var b strings.Builder
	b.WriteString("Date: " + k.now().Format("Mon, 02 Jan 2006 15:04:05 -0700") + "\r\n")
	b.WriteString("From: " + k.from + "\r\n")
	b.WriteString("Subject: " + subject + "\r\n")
	b.WriteString("X-Mailer: Keepalived\r\n")
	b.WriteString("To: " + k.toHeader + "\r\n\r\n")
	b.WriteString(body + "\r\n\r\n")
	return &Message{Helo: k.helo, From: k.from, To: k.to, Data: []byte(b.String())}
}
