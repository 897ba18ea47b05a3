package lvs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// probeUDP sends the payload (an empty datagram without one) and waits
// connect_timeout: an ICMP error (port unreachable) fails the check; a
// reply succeeds unless require_reply data does not match it; silence
// succeeds unless require_reply is set, as in keepalived's check_udp.c.
func (c *checker) probeUDP(ctx context.Context) result {
	failed := fmt.Sprintf("UDP connection to %s failed.", c.name)
	dctx, cancel := context.WithTimeout(ctx, c.conf.ConnectTimeout)
	defer cancel()
	conn, err := c.dialer("udp").DialContext(dctx, "udp", c.target.String())
	if err != nil {
		return result{weight: -1, detail: err.Error(), status: "L4CON", err: err, attempt: failed}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(c.conf.ConnectTimeout))
	if _, err := conn.Write(c.conf.Payload); err != nil {
		return result{weight: -1, detail: err.Error(), status: "SOCKERR", err: err, attempt: failed}
	}
	// One byte more than max_reply_length tells a too long reply.
	buf := make([]byte, max(c.conf.MaxReplyLen, 0)+1)
	n, err := conn.Read(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if c.conf.RequireReply {
				return result{weight: -1, detail: "no reply", status: "L7TOUT", attempt: failed}
			}
			return result{ok: true, weight: -1, status: "L4OK"}
		}
		return result{weight: -1, detail: err.Error(), status: "L4CON", err: err, attempt: failed}
	}
	if c.conf.ReplyData != nil && !udpReplyMatches(buf[:n], c.conf.ReplyData, c.conf.ReplyMask, c.conf.MinReplyLen, c.conf.MaxReplyLen) {
		return result{weight: -1, detail: "reply data mismatch", status: "L7RSP",
			attempt: fmt.Sprintf("UDP check to %s reply data mismatch.", c.name)}
	}
	return result{ok: true, weight: -1, status: "L7OK"}
}

// udpReplyMatches applies require_reply: the length within
// [minLen, maxLen], and the bytes common to the reply and the expected
// data equal outside the mask's wildcard bits.
func udpReplyMatches(got, want, mask []byte, minLen, maxLen int) bool {
	if len(got) < minLen || len(got) > maxLen {
		return false
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		var m byte
		if i < len(mask) {
			m = mask[i]
		}
		if (got[i]^want[i])&^m != 0 {
			return false
		}
	}
	return true
}
