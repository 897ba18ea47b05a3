package main

import (
	"context"
	"net"
	"net/netip"
	"sync"
)

// The control (EVLOOP_DESIGN=goroutines): the same relay, parsers and pool as the event loop,
// written the usual Go way, a goroutine per client connection over the net package, each
// parked in Go's poller while it waits to read. Against the loop it measures what the design
// (goroutines and the runtime's poller per session) costs, apart from what dhproxy does per
// request.

type gServer struct {
	c   *net.TCPConn
	in  []byte
	srv int
}

type gRelay struct {
	servers []*net.TCPAddr
	mu      sync.Mutex // GOMAXPROCS=1 in the measurements: never contended there
	idle    [][]*gServer
	rr      int
	bufs    sync.Pool
}

func runGoroutines(bind netip.AddrPort, servers []netip.AddrPort) (*net.TCPListener, func() error, error) {
	g := &gRelay{idle: make([][]*gServer, len(servers))}
	for _, s := range servers {
		g.servers = append(g.servers, net.TCPAddrFromAddrPort(s))
	}
	g.bufs.New = func() any { b := make([]byte, 0, 2*bufSize); return &b }
	// KeepAlive -1: no TCP keep-alive options per accepted connection (the loop sets none).
	l, err := (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), "tcp", bind.String())
	if err != nil {
		return nil, nil, err
	}
	tl := l.(*net.TCPListener)
	return tl, func() error {
		for {
			c, err := tl.AcceptTCP()
			if err != nil {
				return err
			}
			go g.serve(c)
		}
	}, nil
}

func (g *gRelay) get() *gServer {
	g.mu.Lock()
	i := g.rr
	g.rr = (g.rr + 1) % len(g.servers)
	if pool := g.idle[i]; len(pool) > 0 {
		s := pool[len(pool)-1]
		g.idle[i] = pool[:len(pool)-1]
		g.mu.Unlock()
		return s
	}
	g.mu.Unlock()
	c, err := net.DialTCP("tcp", nil, g.servers[i])
	if err != nil {
		return nil
	}
	return &gServer{c: c, in: make([]byte, 0, bufSize), srv: i}
}

func (g *gRelay) put(s *gServer) {
	g.mu.Lock()
	g.idle[s.srv] = append(g.idle[s.srv], s)
	g.mu.Unlock()
}

// readHead reads into b until it holds a whole head; it returns the head's end.
func readHead(c *net.TCPConn, b *[]byte) (int, bool) {
	from := 0
	for {
		if end := headEnd(*b, from); end > 0 {
			return end, true
		}
		if len(*b) == cap(*b) {
			return 0, false
		}
		from = len(*b)
		n, err := c.Read((*b)[from:cap(*b)])
		if n == 0 || err != nil {
			return 0, false
		}
		*b = (*b)[:from+n]
	}
}

func (g *gRelay) serve(c *net.TCPConn) {
	defer c.Close()
	inp, wbp := g.bufs.Get().(*[]byte), g.bufs.Get().(*[]byte)
	defer g.bufs.Put(inp)
	defer g.bufs.Put(wbp)
	in := (*inp)[:0]
	for {
		end, ok := readHead(c, &in)
		if !ok {
			return
		}
		wb, closeAfter, http10, isHead, err := parseRequest(in[:end], (*wbp)[:0])
		in = in[:copy(in, in[end:])]
		if err != nil {
			c.Write([]byte("HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			return
		}
		s := g.get()
		if s == nil {
			c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			return
		}
		if !g.exchange(c, s, wb, closeAfter, http10, isHead) {
			return
		}
		if closeAfter {
			return
		}
	}
}

// exchange forwards one request on s and relays its response; false when either side broke.
func (g *gRelay) exchange(c *net.TCPConn, s *gServer, req []byte, closeAfter, http10, isHead bool) bool {
	fail := func(msg string) bool {
		s.c.Close()
		if msg != "" {
			c.Write([]byte(msg))
		}
		return false
	}
	const bad = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	if _, err := s.c.Write(req); err != nil {
		return fail(bad)
	}
	s.in = s.in[:0]
	end, ok := readHead(s.c, &s.in)
	if !ok {
		return fail(bad)
	}
	out, status, cl, srvClose, err := parseResponse(s.in[:end], req[:0], closeAfter, http10)
	if err != nil {
		return fail(bad)
	}
	remain := cl
	if isHead || status == 204 || status == 304 {
		remain = 0
	}
	reuse := !srvClose
	take := func(b []byte) []byte {
		if remain < 0 {
			return b
		}
		if len(b) > remain {
			reuse = false
			b = b[:remain]
		}
		remain -= len(b)
		return b
	}
	out = append(out, take(s.in[end:])...)
	if _, err := c.Write(out); err != nil {
		return fail("")
	}
	for remain != 0 {
		n, err := s.c.Read(s.in[:cap(s.in)])
		if n == 0 || err != nil {
			if remain < 0 { // the body ends with the connection, and so does the client's
				s.c.Close()
				return false
			}
			return fail("")
		}
		if _, err := c.Write(take(s.in[:n])); err != nil {
			return fail("")
		}
	}
	if !reuse {
		s.c.Close()
		return true
	}
	g.put(s)
	return true
}
