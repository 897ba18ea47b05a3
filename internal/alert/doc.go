// Package alert sends e-mail alerts over SMTP, with the wording of
// keepalived's smtp_alert and HAProxy's email-alert, which operators filter
// their mail on.
//
// One Sender per process owns a bounded queue and a single goroutine that
// talks SMTP (Send: HELO, MAIL FROM, RCPT TO per recipient, DATA, QUIT,
// with per-step and whole-session timeouts); callers never block, and
// Sender.Close drains the queue within a deadline at shutdown. Failures are
// logged naming the SMTP server and quoting its reply.
//
// Two front ends build the messages:
//
//   - Keepalived (from keepalived.conf's global_defs): VRRPInstance and
//     VRRPGroup for state changes, RealServer (with CheckBody) and
//     RealServerRemoved for real servers, Quorum for virtual servers.
//   - HAProxy (from haproxy.cfg's mailers sections and email-alert lines):
//     ServerEvent for server state changes, filtered by "email-alert level".
//
// Tests talk to smtpsink, a real SMTP server on 127.0.0.1 that records what
// clients send and can misbehave on request.
package alert
