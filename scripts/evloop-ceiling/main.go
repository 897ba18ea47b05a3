// Command evloop-ceiling is a measuring tool, not a proxy: the simplest HTTP/1.1 relay a Go
// event loop can be (one goroutine, its own edge-triggered epoll, a state record per descriptor,
// no goroutine per connection, no net package on the data path, pooled keep-alive server
// connections). scripts/pair-cost.sh runs it in place of a proxy to measure the lowest CPU per
// request a Go design without a goroutine per session can reach against haproxy
// (docs/performance.md, "Session 17: the event-loop ceiling").
//
// It takes the command line pair-cost.sh gives a proxy (-f FILE; other flags are ignored) and
// reads from that haproxy-style file only the first frontend's bind address and the servers of
// that frontend's default_backend (round robin, IPv4 host:port). It does only what a proxy must
// at least do: parse the request line and headers to the end of the head (Connection,
// Content-Length, Transfer-Encoding), drop the hop-by-hop Connection and Keep-Alive headers,
// parse the response's status line and Content-Length, relay head and body (pausing the server
// while the client does not read), keep server connections alive in a pool, and close the
// client after the response when it asked to. It has no timeouts, no request bodies (501), no
// chunked or 1xx responses (502), no retries, no logs, no limits.
//
// Environment: EVLOOP_WAIT selects how the loop sleeps when epoll has nothing: "netpoll"
// (default; the epoll descriptor parked in Go's poller, the loop's goroutine sleeps there),
// "block" (epoll_wait with a timeout as a Go system call, so the runtime may hand the P off)
// or "raw" (epoll_wait without telling the runtime: the thread keeps its P, as a C event loop does).
// EVLOOP_DEFER_ACCEPT=1 sets TCP_DEFER_ACCEPT on the listening socket. EVLOOP_STATS=FILE appends
// counters (accepts, requests, reads that found nothing, epoll waits) there on SIGTERM.
// EVLOOP_DESIGN=goroutines runs the control instead: the same relay as a goroutine per
// connection (goroutines.go).
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bufSize is haproxy's default tune.bufsize: the largest request or response head.
const bufSize = 16384

type kind uint8

const (
	kFree kind = iota
	kListener
	kClient
	kServer
)

type state uint8

const (
	// stIdle: a client waiting for its next request head; a server connection in the pool.
	stIdle state = iota
	// stWait: a client whose request went to a server; a server before the response head.
	stWait
	// stBody: a server relaying the response body.
	stBody
	// stFlush: a client with the whole response read, part of it not yet written.
	stFlush
)

type conn struct {
	fd   int
	gen  uint32 // tells an event for this descriptor from one for its previous owner
	kind kind
	st   state
	reg  bool // in the epoll set
	peer int  // the paired connection's descriptor, -1 without one
	srv  int  // server index (server connections)
	in   []byte
	out  []byte // accepted but not yet written (the peer is paused meanwhile)

	closeAfter bool // client: close after this response
	http10     bool // client: HTTP/1.0
	isHead     bool // client: the request is HEAD (the response has no body)
	pendingIn  bool // client: an input edge arrived while its response was in progress
	reuse      bool // server: keep-alive after this response
	paused     bool // server: not read until the client's out drains
	remain     int  // server: body bytes still to relay, -1 until the server closes
}

type stats struct {
	accepts, requests, emptyReads, waits, dials, pauses atomic.Uint64
}

type proxy struct {
	ep      int
	lfd     int
	servers []unix.SockaddrInet4
	pools   [][]int
	rr      int
	conns   []*conn
	bufs    [][]byte
	wb      []byte // the head being composed
	events  []unix.EpollEvent
	wait    func() (int, error)
	st      stats
	rawConn syscall.RawConn
	// netpoll mode: the callback and its results, made once (a closure per wait would allocate)
	pollOnce  func(uintptr) bool
	polled    int
	pollError error
}

var errBadMessage = errors.New("unsupported or malformed message")

func main() {
	cfgFile := flag.String("f", "", "haproxy-style configuration")
	flag.Bool("db", false, "ignored (pair-cost.sh passes it)")
	flag.Parse()
	bind, servers, err := parseConfig(*cfgFile)
	if err != nil {
		log.Fatal(err)
	}
	if os.Getenv("EVLOOP_DESIGN") == "goroutines" {
		_, serve, err := runGoroutines(bind, servers)
		if err != nil {
			log.Fatal(err)
		}
		log.Fatal(serve())
	}
	p, err := newProxy(bind, servers, os.Getenv("EVLOOP_WAIT"), os.Getenv("EVLOOP_DEFER_ACCEPT") == "1")
	if err != nil {
		log.Fatal(err)
	}
	if path := os.Getenv("EVLOOP_STATS"); path != "" {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		go func() {
			<-sig
			if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				fmt.Fprintf(f, "accepts %d requests %d empty_reads %d epoll_waits %d dials %d pauses %d\n",
					p.st.accepts.Load(), p.st.requests.Load(), p.st.emptyReads.Load(), p.st.waits.Load(), p.st.dials.Load(), p.st.pauses.Load())
				f.Close()
			}
			os.Exit(0)
		}()
	}
	log.Fatal(p.run())
}

// parseConfig returns the first frontend's bind address and its default_backend's servers.
func parseConfig(path string) (netip.AddrPort, []netip.AddrPort, error) {
	f, err := os.Open(path)
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	defer f.Close()
	var section, name, fe, bind, defBackend string
	servers := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) == 0 || strings.HasPrefix(w[0], "#") {
			continue
		}
		switch w[0] {
		case "global", "defaults", "frontend", "backend", "listen", "userlist", "peers", "resolvers", "cache", "program", "http-errors", "ring", "mailers", "fcgi-app":
			section, name = w[0], ""
			if len(w) > 1 {
				name = w[1]
			}
			if section == "frontend" && fe == "" {
				fe = name
			}
			continue
		}
		switch {
		case section == "frontend" && name == fe && w[0] == "bind" && len(w) > 1 && bind == "":
			bind = w[1]
		case section == "frontend" && name == fe && w[0] == "default_backend" && len(w) > 1:
			defBackend = w[1]
		case section == "backend" && w[0] == "server" && len(w) > 2:
			servers[name] = append(servers[name], w[2])
		}
	}
	if err := sc.Err(); err != nil {
		return netip.AddrPort{}, nil, err
	}
	b, err := netip.ParseAddrPort(bind)
	if err != nil {
		return netip.AddrPort{}, nil, fmt.Errorf("frontend %q bind: %w", fe, err)
	}
	var out []netip.AddrPort
	for _, s := range servers[defBackend] {
		a, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.AddrPort{}, nil, fmt.Errorf("backend %q server: %w", defBackend, err)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return netip.AddrPort{}, nil, fmt.Errorf("backend %q has no server", defBackend)
	}
	return b, out, nil
}

func sockaddr(a netip.AddrPort) (unix.SockaddrInet4, error) {
	if !a.Addr().Is4() {
		return unix.SockaddrInet4{}, fmt.Errorf("%s: IPv4 only", a)
	}
	return unix.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()}, nil
}

func newProxy(bind netip.AddrPort, servers []netip.AddrPort, wait string, deferAccept bool) (*proxy, error) {
	p := &proxy{wb: make([]byte, 0, 2*bufSize), events: make([]unix.EpollEvent, 256)}
	for _, s := range servers {
		sa, err := sockaddr(s)
		if err != nil {
			return nil, err
		}
		p.servers = append(p.servers, sa)
	}
	p.pools = make([][]int, len(p.servers))
	ba, err := sockaddr(bind)
	if err != nil {
		return nil, err
	}
	if p.lfd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0); err != nil {
		return nil, err
	}
	if err := unix.SetsockoptInt(p.lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return nil, err
	}
	if deferAccept {
		if err := unix.SetsockoptInt(p.lfd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1); err != nil {
			return nil, err
		}
	}
	if err := unix.Bind(p.lfd, &ba); err != nil {
		return nil, err
	}
	if err := unix.Listen(p.lfd, 4096); err != nil {
		return nil, err
	}
	if p.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, err
	}
	p.newConn(p.lfd, kListener)
	if err := p.register(p.conns[p.lfd], unix.EPOLLIN); err != nil {
		return nil, err
	}
	switch wait {
	case "block":
		p.wait = p.waitBlock
	case "raw":
		p.wait = p.waitRaw
	case "", "netpoll": // the default: the cheapest, and what a redesign would use
		if err := unix.SetNonblock(p.ep, true); err != nil {
			return nil, err
		}
		// A non-blocking descriptor makes os.NewFile register it with the runtime's poller.
		f := os.NewFile(uintptr(p.ep), "epoll")
		if p.rawConn, err = f.SyscallConn(); err != nil {
			return nil, err
		}
		p.pollOnce = func(uintptr) bool {
			p.polled, p.pollError = p.epollWaitRaw(0)
			return p.polled > 0 || p.pollError != nil
		}
		p.wait = p.waitNetpoll
	default:
		return nil, fmt.Errorf("EVLOOP_WAIT=%q: block, raw or netpoll", wait)
	}
	return p, nil
}

func (p *proxy) epollWaitRaw(timeout int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.ep), uintptr(unsafe.Pointer(&p.events[0])),
		uintptr(len(p.events)), uintptr(timeout), 0, 0)
	if e != 0 {
		if e == unix.EINTR {
			return 0, nil
		}
		return 0, e
	}
	return int(r), nil
}

func (p *proxy) waitBlock() (int, error) {
	n, err := unix.EpollWait(p.ep, p.events, 1000)
	if err == unix.EINTR {
		return 0, nil
	}
	return n, err
}

// waitRaw blocks without entersyscall: the runtime's preemption signals end it with EINTR.
func (p *proxy) waitRaw() (int, error) { return p.epollWaitRaw(-1) }

func (p *proxy) waitNetpoll() (int, error) {
	if err := p.rawConn.Read(p.pollOnce); err != nil {
		return 0, err
	}
	return p.polled, p.pollError
}

func (p *proxy) run() error {
	for {
		n, err := p.wait()
		if err != nil {
			return err
		}
		p.st.waits.Add(1)
		for i := 0; i < n; i++ {
			ev := &p.events[i]
			fd := int(ev.Fd)
			if fd >= len(p.conns) {
				continue
			}
			c := p.conns[fd]
			if c == nil || c.gen != uint32(ev.Pad) {
				continue // closed (and perhaps reused) earlier in this batch
			}
			switch c.kind {
			case kListener:
				p.accept()
			case kClient:
				p.clientEvent(c, ev.Events)
			case kServer:
				p.serverEvent(c, ev.Events)
			}
		}
	}
}

func (p *proxy) newConn(fd int, k kind) *conn {
	for fd >= len(p.conns) {
		p.conns = append(p.conns, nil)
	}
	c := p.conns[fd]
	if c == nil {
		c = &conn{}
		p.conns[fd] = c
	}
	gen := c.gen + 1
	*c = conn{fd: fd, gen: gen, kind: k, peer: -1}
	if k != kListener {
		if n := len(p.bufs); n > 0 {
			c.in = p.bufs[n-1][:0]
			p.bufs = p.bufs[:n-1]
		} else {
			c.in = make([]byte, 0, bufSize)
		}
	}
	return c
}

func (p *proxy) register(c *conn, events uint32) error {
	op := unix.EPOLL_CTL_ADD
	if c.reg {
		op = unix.EPOLL_CTL_MOD
	}
	ev := unix.EpollEvent{Events: events | unix.EPOLLET, Fd: int32(c.fd), Pad: int32(c.gen)}
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(p.ep), uintptr(op), uintptr(c.fd), uintptr(unsafe.Pointer(&ev)), 0, 0)
	if e != 0 {
		return e
	}
	c.reg = true
	return nil
}

func (p *proxy) closeConn(c *conn) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(c.fd), 0, 0)
	if c.in != nil {
		p.bufs = append(p.bufs, c.in[:0])
	}
	c.in, c.out = nil, nil
	c.kind = kFree
	c.gen++
}

func recv(fd int, b []byte) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0, 0)
	return int(n), e
}

func send(fd int, b []byte) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_NOSIGNAL, 0, 0)
	return int(n), e
}

func (p *proxy) accept() {
	for {
		fd, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(p.lfd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch e {
		case 0:
		case unix.EINTR, unix.ECONNABORTED:
			continue
		default: // EAGAIN, or out of descriptors: the next edge retries
			return
		}
		p.st.accepts.Add(1)
		// Read at once: the request is usually there already, and then a client that asks to
		// close never enters the epoll set.
		p.readClient(p.newConn(int(fd), kClient))
	}
}

func (p *proxy) clientEvent(c *conn, ev uint32) {
	if ev&unix.EPOLLOUT != 0 && len(c.out) > 0 {
		p.flushClient(c)
		if c.kind != kClient {
			return
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		if c.st == stIdle {
			p.readClient(c)
		} else {
			c.pendingIn = true
		}
	}
}

// readClient reads until a whole request head is in, then forwards it.
func (p *proxy) readClient(c *conn) {
	from := 0
	for {
		if end := headEnd(c.in, from); end > 0 {
			p.request(c, end)
			return
		}
		if len(c.in) == cap(c.in) {
			p.closeClient(c)
			return
		}
		from = len(c.in)
		n, e := recv(c.fd, c.in[len(c.in):cap(c.in)])
		if e == unix.EAGAIN {
			p.st.emptyReads.Add(1)
			if !c.reg && p.register(c, unix.EPOLLIN|unix.EPOLLRDHUP) != nil {
				p.closeClient(c)
			}
			return
		}
		if e != 0 || n == 0 {
			p.closeClient(c)
			return
		}
		c.in = c.in[:len(c.in)+n]
	}
}

func headEnd(b []byte, from int) int {
	from = max(from-3, 0)
	if i := bytes.Index(b[from:], []byte("\r\n\r\n")); i >= 0 {
		return from + i + 4
	}
	return -1
}

func (p *proxy) request(c *conn, end int) {
	p.st.requests.Add(1)
	var err error
	p.wb, c.closeAfter, c.http10, c.isHead, err = parseRequest(c.in[:end], p.wb[:0])
	// What follows the head (a pipelined request) waits in the buffer.
	c.in = c.in[:copy(c.in, c.in[end:])]
	if err != nil {
		p.reply(c, "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	s := p.server()
	if s == nil {
		p.reply(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	c.st, c.peer = stWait, s.fd
	s.st, s.peer, s.paused, s.reuse = stWait, c.fd, false, true
	n, e := send(s.fd, p.wb)
	if e == unix.EAGAIN { // a new connection still connecting
		n, e = 0, 0
	}
	if e != 0 {
		p.serverFailed(s)
		return
	}
	if n < len(p.wb) {
		s.out = append(s.out[:0], p.wb[n:]...)
	}
}

// reply answers the client itself and closes it.
func (p *proxy) reply(c *conn, msg string) {
	send(c.fd, []byte(msg))
	p.closeClient(c)
}

// server takes the next server's idle connection, or dials one.
func (p *proxy) server() *conn {
	i := p.rr
	p.rr = (p.rr + 1) % len(p.servers)
	if pool := p.pools[i]; len(pool) > 0 {
		fd := pool[len(pool)-1]
		p.pools[i] = pool[:len(pool)-1]
		return p.conns[fd]
	}
	p.st.dials.Add(1)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	if err := unix.Connect(fd, &p.servers[i]); err != nil && err != unix.EINPROGRESS {
		unix.Close(fd)
		return nil
	}
	s := p.newConn(fd, kServer)
	s.srv = i
	if p.register(s, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP) != nil {
		p.closeConn(s)
		return nil
	}
	return s
}

func (p *proxy) serverEvent(s *conn, ev uint32) {
	if ev&unix.EPOLLOUT != 0 && len(s.out) > 0 {
		n, e := send(s.fd, s.out)
		switch {
		case e == unix.EAGAIN:
		case e != 0:
			p.serverFailed(s)
			return
		default:
			s.out = s.out[:copy(s.out, s.out[n:])]
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
		return
	}
	switch {
	case s.st == stIdle: // a pooled connection closed or talked out of turn
		pool := p.pools[s.srv]
		for i, fd := range pool {
			if fd == s.fd {
				pool[i] = pool[len(pool)-1]
				p.pools[s.srv] = pool[:len(pool)-1]
				break
			}
		}
		p.closeConn(s)
	case s.paused:
		// flushClient reads it once the client drains.
	default:
		p.readServer(s)
	}
}

// readServer reads the response head, then relays head and body to the client.
func (p *proxy) readServer(s *conn) {
	c := p.conns[s.peer]
	for {
		if s.st == stWait {
			if len(s.in) == cap(s.in) {
				p.serverFailed(s)
				return
			}
			from := len(s.in)
			n, e := recv(s.fd, s.in[from:cap(s.in)])
			if e == unix.EAGAIN {
				return
			}
			if e != 0 || n == 0 {
				p.serverFailed(s)
				return
			}
			s.in = s.in[:from+n]
			end := headEnd(s.in, from)
			if end < 0 {
				continue
			}
			var status, cl int
			var srvClose bool
			var err error
			p.wb, status, cl, srvClose, err = parseResponse(s.in[:end], p.wb[:0], c.closeAfter, c.http10)
			if err != nil {
				p.serverFailed(s)
				return
			}
			s.reuse = !srvClose
			switch {
			case c.isHead || status == 204 || status == 304:
				s.remain = 0
			default:
				s.remain = cl
			}
			body := s.in[end:]
			p.wb = append(p.wb, p.take(s, body)...)
			s.st, s.in = stBody, s.in[:0]
			if !p.relay(s, c, p.wb) {
				return
			}
		} else {
			n, e := recv(s.fd, s.in[:cap(s.in)])
			if e == unix.EAGAIN {
				return
			}
			if e != 0 || n == 0 {
				if e == 0 && s.remain < 0 { // the body ends with the connection
					s.reuse = false
					p.done(s, c)
				} else {
					p.serverFailed(s)
				}
				return
			}
			if !p.relay(s, c, p.take(s, s.in[:n])) {
				return
			}
		}
		if s.remain == 0 {
			p.done(s, c)
			return
		}
		if s.paused {
			return
		}
	}
}

// take counts the body bytes in b against the response's length; a server sending more than it
// announced is not reused.
func (p *proxy) take(s *conn, b []byte) []byte {
	if s.remain < 0 {
		return b
	}
	if len(b) > s.remain {
		s.reuse = false
		b = b[:s.remain]
	}
	s.remain -= len(b)
	return b
}

// relay writes b to the client, keeping what the client does not take and pausing the server.
// It returns false when it closed both.
func (p *proxy) relay(s, c *conn, b []byte) bool {
	if len(b) == 0 {
		return true
	}
	n, e := send(c.fd, b)
	if e == unix.EAGAIN {
		n, e = 0, 0
	}
	if e != 0 {
		p.closeClient(c)
		return false
	}
	if n < len(b) {
		c.out = append(c.out[:0], b[n:]...)
		s.paused = true
		p.st.pauses.Add(1)
		if p.register(c, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP) != nil {
			p.closeClient(c)
			return false
		}
	}
	return true
}

func (p *proxy) flushClient(c *conn) {
	n, e := send(c.fd, c.out)
	if e == unix.EAGAIN {
		return
	}
	if e != 0 {
		p.closeClient(c)
		return
	}
	c.out = c.out[:copy(c.out, c.out[n:])]
	if len(c.out) > 0 {
		return
	}
	if c.st == stFlush {
		p.next(c)
		return
	}
	if c.peer >= 0 {
		s := p.conns[c.peer]
		s.paused = false
		// Edge-triggered: what arrived while paused raises no new edge, so read now.
		p.readServer(s)
	}
}

// done ends a response: the server connection goes back to the pool, the client to its next
// request.
func (p *proxy) done(s, c *conn) {
	s.peer = -1
	if s.reuse && len(s.out) == 0 {
		s.st, s.in = stIdle, s.in[:0]
		p.pools[s.srv] = append(p.pools[s.srv], s.fd)
	} else {
		p.closeConn(s)
	}
	c.peer = -1
	if len(c.out) > 0 {
		c.st = stFlush
		return
	}
	p.next(c)
}

func (p *proxy) next(c *conn) {
	if c.closeAfter {
		p.closeClient(c)
		return
	}
	c.st = stIdle
	switch {
	case len(c.in) > 0 || c.pendingIn:
		c.pendingIn = false
		p.readClient(c)
	case !c.reg:
		// Its request was read at accept, before it joined the epoll set: the ADD reports what
		// arrived since.
		if p.register(c, unix.EPOLLIN|unix.EPOLLRDHUP) != nil {
			p.closeClient(c)
		}
	}
}

// serverFailed closes a server connection that broke mid-exchange and its client (with a 502
// when nothing of the response was sent).
func (p *proxy) serverFailed(s *conn) {
	c := p.conns[s.peer]
	p.closeConn(s)
	c.peer = -1
	if s.st == stWait {
		p.reply(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	p.closeClient(c)
}

func (p *proxy) closeClient(c *conn) {
	if c.peer >= 0 { // the response is unfinished: its server connection cannot be reused
		p.closeConn(p.conns[c.peer])
	}
	p.closeConn(c)
}

// parseRequest checks a request head and appends to out the head to forward: the same without
// Connection and Keep-Alive.
func parseRequest(h, out []byte) (fwd []byte, closeAfter, http10, isHead bool, err error) {
	i := bytes.Index(h, []byte("\r\n"))
	line := h[:i]
	sp1, sp2 := bytes.IndexByte(line, ' '), bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 {
		return out, true, false, false, errBadMessage
	}
	switch string(line[sp2+1:]) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		http10, closeAfter = true, true
	default:
		return out, true, false, false, errBadMessage
	}
	isHead = string(line[:sp1]) == "HEAD"
	out = append(out, h[:i+2]...)
	err = eachHeader(h[i+2:], func(name, value, raw []byte) error {
		switch {
		case eqFold(name, "connection"):
			if hasToken(value, "close") {
				closeAfter = true
			} else if http10 && hasToken(value, "keep-alive") {
				closeAfter = false
			}
			return nil
		case eqFold(name, "keep-alive"):
			return nil
		case eqFold(name, "content-length"):
			if string(value) != "0" {
				return errBadMessage
			}
		case eqFold(name, "transfer-encoding"):
			return errBadMessage
		}
		out = append(out, raw...)
		return nil
	})
	return append(out, "\r\n"...), closeAfter, http10, isHead, err
}

// parseResponse checks a response head and appends to out the head to relay: without the
// server's Connection and Keep-Alive, with the client's. cl is -1 without Content-Length.
func parseResponse(h, out []byte, clientClose, http10 bool) (fwd []byte, status, cl int, srvClose bool, err error) {
	if len(h) < 14 || !bytes.HasPrefix(h, []byte("HTTP/1.")) || h[8] != ' ' {
		return out, 0, 0, true, errBadMessage
	}
	srvClose = h[7] == '0'
	status, err = strconv.Atoi(string(h[9:12]))
	if err != nil || status < 200 {
		return out, 0, 0, true, errBadMessage
	}
	i := bytes.Index(h, []byte("\r\n"))
	out = append(out, h[:i+2]...)
	cl = -1
	err = eachHeader(h[i+2:], func(name, value, raw []byte) error {
		switch {
		case eqFold(name, "connection"):
			if hasToken(value, "close") {
				srvClose = true
			} else if hasToken(value, "keep-alive") {
				srvClose = false
			}
			return nil
		case eqFold(name, "keep-alive"):
			return nil
		case eqFold(name, "content-length"):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || (cl >= 0 && n != cl) {
				return errBadMessage
			}
			cl = n
		case eqFold(name, "transfer-encoding"):
			return errBadMessage
		}
		out = append(out, raw...)
		return nil
	})
	switch {
	case clientClose:
		out = append(out, "Connection: close\r\n"...)
	case http10:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	return append(out, "\r\n"...), status, cl, srvClose, err
}

// eachHeader calls f for each header line of h (the head after its first line, ending with the
// empty line): the name, the value without surrounding blanks, the raw line with its CRLF.
func eachHeader(h []byte, f func(name, value, raw []byte) error) error {
	for {
		i := bytes.Index(h, []byte("\r\n"))
		if i <= 0 {
			return nil
		}
		line := h[:i]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return errBadMessage
		}
		if err := f(line[:colon], bytes.Trim(line[colon+1:], " \t"), h[:i+2]); err != nil {
			return err
		}
		h = h[i+2:]
	}
}

func eqFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		if b[i]|0x20 != lower[i] { // the names compared hold only letters and '-' (0x2d|0x20)
			return false
		}
	}
	return true
}

func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		i := bytes.IndexByte(v, ',')
		if i < 0 {
			i = len(v)
		}
		if eqFold(bytes.Trim(v[:i], " \t"), tok) {
			return true
		}
		v = v[min(i+1, len(v)):]
	}
	return false
}
