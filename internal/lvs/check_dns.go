package lvs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

var dnsTypeCodes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "NS": dnsmessage.TypeNS, "CNAME": dnsmessage.TypeCNAME, "SOA": dnsmessage.TypeSOA,
	"MX": dnsmessage.TypeMX, "TXT": dnsmessage.TypeTXT, "AAAA": dnsmessage.TypeAAAA,
}

// dnsQuery builds keepalived's DNS_CHECK query: one question of the
// configured type and name, class IN, recursion desired.
func dnsQuery(id uint16, name, typ string) ([]byte, error) {
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	n, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, err
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 64), dnsmessage.Header{ID: id, RecursionDesired: true})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(dnsmessage.Question{Name: n, Type: dnsTypeCodes[typ], Class: dnsmessage.ClassINET}); err != nil {
		return nil, err
	}
	return b.Finish()
}

// dnsVerdict judges one datagram received for the query id as keepalived
// does: too short, another id or not a response is ignored (keep
// waiting); a response's RCODE decides (0 = success).
func dnsVerdict(id uint16, b []byte) (answered bool, rcode int) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil || h.ID != id || !h.Response {
		return false, 0
	}
	return true, int(h.RCode)
}

// probeDNS sends the query over UDP and waits connect_timeout for a
// matching response.
func (c *checker) probeDNS(ctx context.Context) result {
	fail := func(status string, code int, err error, format string, args ...any) result {
		d := fmt.Sprintf(format, args...)
		return result{weight: -1, detail: d, status: status, code: code, err: err,
			attempt: fmt.Sprintf("DNS_CHECK (%s) %s", c.name, d)}
	}
	dctx, cancel := context.WithTimeout(ctx, c.conf.ConnectTimeout)
	defer cancel()
	conn, err := c.dialer("udp").DialContext(dctx, "udp", c.target.String())
	if err != nil {
		return fail("L4CON", 0, err, "network unreachable for %s", c.target)
	}
	defer conn.Close()
	id := uint16(rand.Uint32())
	q, err := dnsQuery(id, c.conf.DNSName, c.conf.DNSType)
	if err != nil {
		return fail("L7RSP", 0, err, "cannot build the query for %q: %v", c.conf.DNSName, err)
	}
	conn.SetDeadline(time.Now().Add(c.conf.ConnectTimeout))
	if _, err := conn.Write(q); err != nil {
		return fail("SOCKERR", 0, err, "failed to write socket.")
	}
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fail("L7TOUT", 0, nil, "read timeout from socket")
			}
			var errno syscall.Errno
			if errors.As(err, &errno) {
				// An ICMP error (port unreachable) surfaces here.
				return fail("L4CON", 0, err, "failed to read socket; errno %d (%s)", int(errno), errno.Error())
			}
			return fail("L4CON", 0, err, "failed to read socket; %v", err)
		}
		answered, rcode := dnsVerdict(id, buf[:n])
		if !answered {
			continue
		}
		if rcode != 0 {
			return fail("L7STS", rcode, nil, "read error occurred. (rcode = %d)", rcode)
		}
		return result{ok: true, weight: -1, status: "L7OK"}
	}
}
