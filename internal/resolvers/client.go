// Package resolvers asks DNS servers for the records that servers with
// "resolvers <name>" follow at run time (A, AAAA and SRV), with HAProxy's
// retries, timeouts, EDNS0 payload size and per-nameserver counters
// ("show resolvers").
package resolvers

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"dhproxy/internal/model"
)

// Status is the outcome of a resolution, HAProxy's RSLV_STATUS_*.
type Status uint8

const (
	StatusValid   Status = iota // an answer with records
	StatusNX                    // the name does not exist (NXDOMAIN)
	StatusTimeout               // no answer after every retry
	StatusRefused               // REFUSED
	StatusOther                 // any other error, or an answer without usable record
	StatusInvalid               // an answer that could not be read
)

func (s Status) String() string {
	return [...]string{"valid", "NX", "timeout", "refused", "other", "invalid"}[s]
}

// SRV is one SRV record, with the addresses the answer's additional
// section gave for its target.
type SRV struct {
	Target   string // without the final dot
	Port     uint16
	Weight   uint16
	Priority uint16
	Addrs    []netip.Addr
}

// Answer is what a query brought back.
type Answer struct {
	Status     Status
	Addrs      []netip.Addr // A or AAAA records, in answer order
	SRV        []SRV
	Nameserver string // who answered
}

// Counters are a nameserver's, as "show resolvers" lists them.
type Counters struct {
	Sent, SndError, Valid, Update, CNAME, CNAMEError, AnyErr, NX, Timeout,
	Refused, Other, Invalid, TooBig, Truncated, Outdated atomic.Int64
}

// Nameserver is one DNS server of a section.
type Nameserver struct {
	Name     string
	Addr     string
	Counters Counters
}

// Client queries the nameservers of one resolvers section.
type Client struct {
	Conf        *model.Resolvers
	Nameservers []*Nameserver
	lookups     lookupCache // do-resolve's answers
}

// New prepares a client for section r.
func New(r *model.Resolvers) *Client {
	c := &Client{Conf: r}
	for _, ns := range r.Nameservers {
		c.Nameservers = append(c.Nameservers, &Nameserver{Name: ns.Name, Addr: ns.Addr})
	}
	return c
}

// Query asks every nameserver for name's records of type qtype (A, AAAA or
// SRV), resending every "timeout retry" up to "resolve_retries" times in
// all, and returns the first valid answer, else the most telling failure.
func (c *Client) Query(ctx context.Context, name string, qtype dnsmessage.Type) Answer {
	if len(c.Nameservers) == 0 {
		return Answer{Status: StatusTimeout}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	answers := make(chan Answer, len(c.Nameservers))
	var wg sync.WaitGroup
	for _, ns := range c.Nameservers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers <- c.ask(ctx, ns, name, qtype)
		}()
	}
	go func() { wg.Wait(); close(answers) }()
	best := Answer{Status: StatusTimeout}
	for a := range answers {
		if a.Status == StatusValid {
			return a
		}
		// A definite answer says more than silence.
		if best.Status == StatusTimeout || a.Status == StatusNX {
			best = a
		}
	}
	return best
}

// ask queries one nameserver, with the section's retries.
func (c *Client) ask(ctx context.Context, ns *Nameserver, name string, qtype dnsmessage.Type) Answer {
	fail := func(st Status) Answer { return Answer{Status: st, Nameserver: ns.Name} }
	q, id, err := buildQuery(name, qtype, c.Conf.AcceptedPayloadSize)
	if err != nil {
		ns.Counters.SndError.Add(1)
		return fail(StatusInvalid)
	}
	conn, err := net.Dial("udp", ns.Addr)
	if err != nil {
		ns.Counters.SndError.Add(1)
		return fail(StatusTimeout)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, max(c.Conf.AcceptedPayloadSize, 512))
	retries := max(c.Conf.ResolveRetries, 1)
	for try := 0; try < retries && ctx.Err() == nil; try++ {
		if _, err := conn.Write(q); err != nil {
			ns.Counters.SndError.Add(1)
			time.Sleep(min(c.Conf.TimeoutRetry, 100*time.Millisecond))
			continue
		}
		ns.Counters.Sent.Add(1)
		conn.SetReadDeadline(time.Now().Add(c.Conf.TimeoutRetry))
		for {
			n, err := conn.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // send again
				}
				if n == 0 {
					ns.Counters.SndError.Add(1) // e.g. ICMP port unreachable
					break
				}
			}
			if n == len(buf) {
				ns.Counters.TooBig.Add(1)
				ns.Counters.AnyErr.Add(1)
				return fail(StatusInvalid)
			}
			a, ok := parseAnswer(buf[:n], id, name, qtype, ns)
			if !ok {
				continue // not ours: an earlier try's late answer
			}
			a.Nameserver = ns.Name
			return a
		}
	}
	if ctx.Err() == nil {
		ns.Counters.Timeout.Add(1)
		ns.Counters.AnyErr.Add(1)
	}
	return fail(StatusTimeout)
}

func buildQuery(name string, qtype dnsmessage.Type, payload int) ([]byte, uint16, error) {
	n, err := dnsmessage.NewName(fqdn(name))
	if err != nil {
		return nil, 0, err
	}
	id := uint16(rand.Uint32())
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, 0, err
	}
	if err := b.Question(dnsmessage.Question{Name: n, Type: qtype, Class: dnsmessage.ClassINET}); err != nil {
		return nil, 0, err
	}
	if err := b.StartAdditionals(); err != nil {
		return nil, 0, err
	}
	var opt dnsmessage.ResourceHeader
	if err := opt.SetEDNS0(max(payload, 512), dnsmessage.RCodeSuccess, false); err != nil {
		return nil, 0, err
	}
	if err := b.OPTResource(opt, dnsmessage.OPTResource{}); err != nil {
		return nil, 0, err
	}
	msg, err := b.Finish()
	return msg, id, err
}

func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// parseAnswer reads a response to query id; ok is false when it answers
// another query (counted as outdated).
func parseAnswer(msg []byte, id uint16, name string, qtype dnsmessage.Type, ns *Nameserver) (a Answer, ok bool) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		ns.Counters.Invalid.Add(1)
		ns.Counters.AnyErr.Add(1)
		return Answer{Status: StatusInvalid}, true
	}
	if h.ID != id || !h.Response {
		ns.Counters.Outdated.Add(1)
		return Answer{}, false
	}
	q, err := p.Question()
	if err != nil || q.Type != qtype || !strings.EqualFold(q.Name.String(), fqdn(name)) {
		ns.Counters.Outdated.Add(1)
		return Answer{}, false
	}
	p.SkipAllQuestions()
	if h.Truncated {
		ns.Counters.Truncated.Add(1)
	}
	switch h.RCode {
	case dnsmessage.RCodeSuccess:
	case dnsmessage.RCodeNameError:
		ns.Counters.NX.Add(1)
		ns.Counters.AnyErr.Add(1)
		return Answer{Status: StatusNX}, true
	case dnsmessage.RCodeRefused:
		ns.Counters.Refused.Add(1)
		ns.Counters.AnyErr.Add(1)
		return Answer{Status: StatusRefused}, true
	default:
		ns.Counters.Other.Add(1)
		ns.Counters.AnyErr.Add(1)
		return Answer{Status: StatusOther}, true
	}
	// Follow a CNAME chain inside the answer section: the records of the
	// last name are the ones asked for.
	want := strings.ToLower(fqdn(name))
	var recs []dnsmessage.Resource
	for {
		r, err := p.Answer()
		if err == dnsmessage.ErrSectionDone {
			break
		}
		if err != nil {
			ns.Counters.Invalid.Add(1)
			ns.Counters.AnyErr.Add(1)
			return Answer{Status: StatusInvalid}, true
		}
		recs = append(recs, r)
	}
	for _, r := range recs {
		if c, isCNAME := r.Body.(*dnsmessage.CNAMEResource); isCNAME && strings.EqualFold(r.Header.Name.String(), want) {
			want = strings.ToLower(c.CNAME.String())
			ns.Counters.CNAME.Add(1)
		}
	}
	for _, r := range recs {
		if !strings.EqualFold(r.Header.Name.String(), want) {
			continue
		}
		switch b := r.Body.(type) {
		case *dnsmessage.AResource:
			if qtype == dnsmessage.TypeA {
				a.Addrs = append(a.Addrs, netip.AddrFrom4(b.A))
			}
		case *dnsmessage.AAAAResource:
			if qtype == dnsmessage.TypeAAAA {
				a.Addrs = append(a.Addrs, netip.AddrFrom16(b.AAAA))
			}
		case *dnsmessage.SRVResource:
			if qtype == dnsmessage.TypeSRV {
				a.SRV = append(a.SRV, SRV{Target: strings.TrimSuffix(strings.ToLower(b.Target.String()), "."), Port: b.Port, Weight: b.Weight, Priority: b.Priority})
			}
		}
	}
	if qtype == dnsmessage.TypeSRV && len(a.SRV) > 0 {
		p.SkipAllAuthorities()
		for {
			r, err := p.Additional()
			if err != nil {
				break
			}
			host := strings.TrimSuffix(strings.ToLower(r.Header.Name.String()), ".")
			var ip netip.Addr
			switch b := r.Body.(type) {
			case *dnsmessage.AResource:
				ip = netip.AddrFrom4(b.A)
			case *dnsmessage.AAAAResource:
				ip = netip.AddrFrom16(b.AAAA)
			default:
				continue
			}
			for i := range a.SRV {
				if a.SRV[i].Target == host {
					a.SRV[i].Addrs = append(a.SRV[i].Addrs, ip)
				}
			}
		}
	}
	if len(a.Addrs) == 0 && len(a.SRV) == 0 {
		if want != strings.ToLower(fqdn(name)) {
			ns.Counters.CNAMEError.Add(1)
		}
		// NOERROR without the records asked for: HAProxy's "other".
		ns.Counters.Other.Add(1)
		ns.Counters.AnyErr.Add(1)
		return Answer{Status: StatusOther}, true
	}
	ns.Counters.Valid.Add(1)
	a.Status = StatusValid
	return a, true
}
