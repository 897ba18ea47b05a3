// Package dnstest is a small authoritative DNS server on a loopback UDP
// port whose answers a test changes while the proxy runs.
package dnstest

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// SRV is one SRV record; Addr, when valid, is given in the additional
// section as the target's address.
type SRV struct {
	Target       string
	Port, Weight uint16
	Addr         netip.Addr
}

// Zone is what the server answers for one name.
type Zone struct {
	Addrs []netip.Addr // A and AAAA records
	SRV   []SRV
	RCode dnsmessage.RCode // non-zero: answer this error instead
	Drop  bool             // answer nothing (a timeout for the client)
	Delay time.Duration    // answer this late (the server goes on answering others)
}

// Server answers from its zones; names are matched without the final dot,
// case-insensitively. An unknown name gets NXDOMAIN.
type Server struct {
	Addr    string // 127.0.0.1:port
	Queries atomic.Int64
	conn    net.PacketConn
	mu      sync.Mutex
	zones   map[string]Zone
	asked   map[string]int64 // queries per name
	done    chan struct{}
}

// Start listens on a free loopback UDP port.
func Start() (*Server, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: c.LocalAddr().String(), conn: c, zones: map[string]Zone{}, asked: map[string]int64{}, done: make(chan struct{})}
	go s.serve()
	return s, nil
}

// Set replaces what name answers.
func (s *Server) Set(name string, z Zone) {
	s.mu.Lock()
	s.zones[strings.ToLower(strings.TrimSuffix(name, "."))] = z
	s.mu.Unlock()
}

// Asked is how many queries (of any type) name has received.
func (s *Server) Asked(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[strings.ToLower(strings.TrimSuffix(name, "."))]
}

// Close stops the server.
func (s *Server) Close() {
	s.conn.Close()
	<-s.done
}

func (s *Server) serve() {
	defer close(s.done)
	buf := make([]byte, 65535)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		out, delay := s.answer(buf[:n])
		switch {
		case out == nil:
		case delay > 0:
			time.AfterFunc(delay, func() { s.conn.WriteTo(out, from) })
		default:
			s.conn.WriteTo(out, from)
		}
	}
}

func (s *Server) answer(msg []byte) ([]byte, time.Duration) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return nil, 0
	}
	q, err := p.Question()
	if err != nil {
		return nil, 0
	}
	s.Queries.Add(1)
	name := strings.ToLower(strings.TrimSuffix(q.Name.String(), "."))
	s.mu.Lock()
	z, known := s.zones[name]
	s.asked[name]++
	s.mu.Unlock()
	if z.Drop {
		return nil, 0
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	switch {
	case !known:
		rh.RCode = dnsmessage.RCodeNameError
	case z.RCode != 0:
		rh.RCode = z.RCode
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}
	if rh.RCode == 0 {
		for _, a := range z.Addrs {
			switch {
			case q.Type == dnsmessage.TypeA && a.Is4():
				b.AResource(rr, dnsmessage.AResource{A: a.As4()})
			case q.Type == dnsmessage.TypeAAAA && a.Is6():
				b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
			}
		}
		if q.Type == dnsmessage.TypeSRV {
			for _, r := range z.SRV {
				t, err := dnsmessage.NewName(strings.TrimSuffix(r.Target, ".") + ".")
				if err != nil {
					continue
				}
				b.SRVResource(rr, dnsmessage.SRVResource{Priority: 0, Weight: r.Weight, Port: r.Port, Target: t})
			}
			b.StartAdditionals()
			for _, r := range z.SRV {
				t, err := dnsmessage.NewName(strings.TrimSuffix(r.Target, ".") + ".")
				if err != nil || !r.Addr.IsValid() {
					continue
				}
				ah := dnsmessage.ResourceHeader{Name: t, Class: dnsmessage.ClassINET, TTL: 1}
				if r.Addr.Is4() {
					b.AResource(ah, dnsmessage.AResource{A: r.Addr.As4()})
				} else {
					b.AAAAResource(ah, dnsmessage.AAAAResource{AAAA: r.Addr.As16()})
				}
			}
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil, 0
	}
	return out, z.Delay
}
