package resolvers

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"dhproxy/internal/model"
	"dhproxy/internal/resolvers/dnstest"
)

func testClient(t *testing.T, addrs ...string) *Client {
	r := &model.Resolvers{Name: "dns", ResolveRetries: 3, TimeoutRetry: 100 * time.Millisecond, AcceptedPayloadSize: 512}
	for i, a := range addrs {
		r.Nameservers = append(r.Nameservers, model.Nameserver{Name: "ns" + string(rune('1'+i)), Addr: a})
	}
	return New(r)
}

func startDNS(t *testing.T) *dnstest.Server {
	s, err := dnstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestQueryRecords(t *testing.T) {
	dns := startDNS(t)
	dns.Set("app.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fd00::1")}})
	dns.Set("_http._tcp.svc.example", dnstest.Zone{SRV: []dnstest.SRV{
		{Target: "a.svc.example", Port: 8080, Weight: 10, Addr: netip.MustParseAddr("127.0.0.5")},
		{Target: "b.svc.example", Port: 8081, Weight: 1000},
	}})
	dns.Set("refused.example", dnstest.Zone{RCode: dnsmessage.RCodeRefused})
	dns.Set("broken.example", dnstest.Zone{RCode: dnsmessage.RCodeServerFailure})
	dns.Set("empty.example", dnstest.Zone{})
	c := testClient(t, dns.Addr)
	ctx := context.Background()

	a := c.Query(ctx, "app.example", dnsmessage.TypeA)
	if a.Status != StatusValid || len(a.Addrs) != 2 || a.Addrs[1] != netip.MustParseAddr("10.0.0.2") || a.Nameserver != "ns1" {
		t.Errorf("A: %+v", a)
	}
	a = c.Query(ctx, "APP.example.", dnsmessage.TypeAAAA)
	if a.Status != StatusValid || len(a.Addrs) != 1 || a.Addrs[0] != netip.MustParseAddr("fd00::1") {
		t.Errorf("AAAA: %+v", a)
	}
	a = c.Query(ctx, "_http._tcp.svc.example", dnsmessage.TypeSRV)
	if a.Status != StatusValid || len(a.SRV) != 2 || a.SRV[0].Target != "a.svc.example" || a.SRV[0].Port != 8080 || a.SRV[0].Weight != 10 ||
		len(a.SRV[0].Addrs) != 1 || a.SRV[0].Addrs[0] != netip.MustParseAddr("127.0.0.5") || len(a.SRV[1].Addrs) != 0 || a.SRV[1].Weight != 1000 {
		t.Errorf("SRV: %+v", a)
	}
	for name, want := range map[string]Status{"nope.example": StatusNX, "refused.example": StatusRefused, "broken.example": StatusOther, "empty.example": StatusOther} {
		if a := c.Query(ctx, name, dnsmessage.TypeA); a.Status != want {
			t.Errorf("%s: %v, want %v", name, a.Status, want)
		}
	}
	n := &c.Nameservers[0].Counters
	if n.Sent.Load() != 7 || n.Valid.Load() != 3 || n.NX.Load() != 1 || n.Refused.Load() != 1 || n.Other.Load() != 2 || n.AnyErr.Load() != 4 {
		t.Errorf("counters sent %d valid %d nx %d refused %d other %d any_err %d", n.Sent.Load(), n.Valid.Load(), n.NX.Load(), n.Refused.Load(), n.Other.Load(), n.AnyErr.Load())
	}
}

// A silent server costs resolve_retries queries, each waiting "timeout
// retry"; a second nameserver's answer is taken meanwhile.
func TestQueryTimeoutAndFallback(t *testing.T) {
	silent := startDNS(t)
	silent.Set("app.example", dnstest.Zone{Drop: true})
	c := testClient(t, silent.Addr)
	start := time.Now()
	a := c.Query(context.Background(), "app.example", dnsmessage.TypeA)
	if el := time.Since(start); a.Status != StatusTimeout || el < 300*time.Millisecond || el > 2*time.Second {
		t.Errorf("silent: %v after %v", a.Status, el)
	}
	if silent.Queries.Load() != 3 || c.Nameservers[0].Counters.Timeout.Load() != 1 || c.Nameservers[0].Counters.Sent.Load() != 3 {
		t.Errorf("queries %d, timeout counter %d", silent.Queries.Load(), c.Nameservers[0].Counters.Timeout.Load())
	}

	good := startDNS(t)
	good.Set("app.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.9")}})
	c = testClient(t, silent.Addr, good.Addr)
	start = time.Now()
	a = c.Query(context.Background(), "app.example", dnsmessage.TypeA)
	if a.Status != StatusValid || a.Nameserver != "ns2" || time.Since(start) > 200*time.Millisecond {
		t.Errorf("fallback: %+v after %v", a, time.Since(start))
	}
}

// The query announces accepted_payload_size in an EDNS0 OPT record.
func TestQueryEDNS0(t *testing.T) {
	q, _, err := buildQuery("app.example", dnsmessage.TypeA, 4096)
	if err != nil {
		t.Fatal(err)
	}
	var p dnsmessage.Parser
	p.Start(q)
	p.SkipAllQuestions()
	p.SkipAllAnswers()
	p.SkipAllAuthorities()
	h, err := p.AdditionalHeader()
	if err != nil || h.Type != dnsmessage.TypeOPT || h.Class != 4096 {
		t.Fatalf("OPT record: %+v, %v", h, err)
	}
}

// Answers come from the network: any bytes give a status, never a panic.
func FuzzParseAnswer(f *testing.F) {
	q, id, _ := buildQuery("app.example", dnsmessage.TypeSRV, 512)
	f.Add(q, id)
	f.Add([]byte{}, uint16(0))
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, Response: true})
	b.StartQuestions()
	n := dnsmessage.MustNewName("app.example.")
	b.Question(dnsmessage.Question{Name: n, Type: dnsmessage.TypeSRV, Class: dnsmessage.ClassINET})
	b.StartAnswers()
	b.SRVResource(dnsmessage.ResourceHeader{Name: n, Class: dnsmessage.ClassINET}, dnsmessage.SRVResource{Port: 80, Target: dnsmessage.MustNewName("t.example.")})
	b.StartAdditionals()
	b.AResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName("t.example."), Class: dnsmessage.ClassINET}, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
	msg, _ := b.Finish()
	f.Add(msg, uint16(7))
	f.Fuzz(func(t *testing.T, msg []byte, id uint16) {
		for _, qt := range []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA, dnsmessage.TypeSRV} {
			parseAnswer(msg, id, "app.example", qt, &Nameserver{})
		}
	})
}

// do-resolve's answers: kept for "hold valid" per name (any case, final dot
// or not) and preferred family, shared by the requests that come while
// the name is being resolved, never more than the bound.
func TestResolveKeepsAnswers(t *testing.T) {
	dns := startDNS(t)
	dns.Set("slow.example", dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, Delay: 200 * time.Millisecond})
	for _, n := range []string{"a.example", "b.example", "c.example", "d.example", "e.example"} {
		dns.Set(n, dnstest.Zone{Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}})
	}
	c := testClient(t, dns.Addr)
	c.Conf.TimeoutRetry = time.Second
	c.Conf.HoldValid = time.Hour

	// Five at once: one query, five answers.
	addrs := make(chan netip.Addr, 5)
	for range 5 {
		go func() { ip, _ := c.Resolve("slow.example", true); addrs <- ip }()
	}
	for range 5 {
		if ip := <-addrs; ip != netip.MustParseAddr("10.0.0.1") {
			t.Errorf("concurrent: %v", ip)
		}
	}
	if n := dns.Asked("slow.example"); n != 1 {
		t.Errorf("5 concurrent requests asked %d times, want 1", n)
	}
	if ip, ok := c.Resolve("SLOW.example.", true); !ok || ip != netip.MustParseAddr("10.0.0.1") || dns.Asked("slow.example") != 1 {
		t.Errorf("kept answer: %v %v, %d queries", ip, ok, dns.Asked("slow.example"))
	}
	// The other preference is another resolution: AAAA (none), then A.
	if ip, ok := c.Resolve("slow.example", false); !ok || ip != netip.MustParseAddr("10.0.0.1") || dns.Asked("slow.example") != 3 {
		t.Errorf("ipv6 first: %v %v, %d queries", ip, ok, dns.Asked("slow.example"))
	}

	// Past the bound the oldest answer goes first.
	c.lookups.max = 3
	for _, n := range []string{"a.example", "b.example", "c.example", "d.example", "b.example"} {
		c.Resolve(n, true)
	}
	if len(c.lookups.byKey) != 3 || c.lookups.byAge.Len() != 3 {
		t.Errorf("%d names kept, want 3", len(c.lookups.byKey))
	}
	for n, want := range map[string]int64{"a.example": 1, "b.example": 1, "c.example": 1, "d.example": 1} {
		if got := dns.Asked(n); got != want {
			t.Errorf("%s asked %d times, want %d", n, got, want)
		}
	}
	c.Resolve("slow.example", true) // forgotten: asked again
	c.Resolve("d.example", true)    // kept
	if dns.Asked("slow.example") != 4 || dns.Asked("d.example") != 1 {
		t.Errorf("after eviction: slow asked %d (want 4), d %d (want 1)", dns.Asked("slow.example"), dns.Asked("d.example"))
	}

	// "hold valid" over: asked again.
	c.Conf.HoldValid = 100 * time.Millisecond
	c.Resolve("e.example", true)
	c.Resolve("e.example", true)
	time.Sleep(150 * time.Millisecond)
	c.Resolve("e.example", true)
	if dns.Asked("e.example") != 2 {
		t.Errorf("expired answer: asked %d times, want 2", dns.Asked("e.example"))
	}
}
