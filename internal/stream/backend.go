package stream

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"dhproxy/internal/lb"
	"dhproxy/internal/model"
)

// Server is a server's runtime state: read lock-free on the request path.
type Server struct {
	Conf    *model.Server
	Name    string
	addr    string // host:port, port "0" when the client's port is used
	useDst  bool   // no port configured: connect to the port the client reached
	up      atomic.Bool
	cur     atomic.Int32 // requests/connections currently served
	slots   chan struct{}
	backend *Backend
	health  serverHealth // drain, agent weight, observe, shutdown-sessions (observe.go)

	mu   sync.Mutex // guards idle only
	idle []*serverConn
}

// Backend is a backend's runtime state.
type Backend struct {
	P       *model.Proxy
	Servers []*Server
	active  []int // indexes into Servers
	backup  []int
	algoAct lb.Algorithm
	algoBck lb.Algorithm
	beconn  atomic.Int32 // requests/connections being served (%bc)
	cookie  *persistCookie
	hash    lb.HashSpec // Kind is lb.HashNone unless the balancing hashes a key
}

// hashKey is a precomputed balancing hash for a request (ok false: none).
type hashKey struct {
	h  uint32
	ok bool
}

// serverConn is a connection to a server, pooled between requests.
type serverConn struct {
	c         *net.TCPConn
	srv       *Server
	idleSince time.Time
	fd        *fdConn // raw reads and writes; c keeps deadlines and Close
	dl        deadlines
}

func newBackend(p *model.Proxy) *Backend {
	b := &Backend{P: p}
	var actW, bckW, actID, bckID []int
	for _, sc := range p.Servers {
		s := &Server{Conf: sc, Name: sc.Name, addr: sc.Addr, backend: b}
		if host, port, err := net.SplitHostPort(sc.Addr); err == nil && port == "0" {
			s.useDst, s.addr = true, host
		}
		s.up.Store(!sc.Disabled)
		if sc.Maxconn > 0 {
			s.slots = make(chan struct{}, sc.Maxconn)
		}
		idx := len(b.Servers)
		b.Servers = append(b.Servers, s)
		if sc.Backup {
			b.backup = append(b.backup, idx)
			bckW = append(bckW, sc.Weight)
			bckID = append(bckID, sc.ID)
		} else {
			b.active = append(b.active, idx)
			actW = append(actW, sc.Weight)
			actID = append(actID, sc.ID)
		}
	}
	if p.Cookie != nil {
		b.cookie = newPersistCookie(p.Cookie, b.Servers)
	}
	actUsable := func(i int) bool { return b.Servers[b.active[i]].usable() }
	bckUsable := func(i int) bool { return b.Servers[b.backup[i]].usable() }
	if sp, ok := lb.ParseHashSpec(p.Balance.Algo, p.Balance.Args, p.HashType); ok {
		b.hash = sp
		b.algoAct = lb.NewHashed(sp, actW, actID, actUsable)
		b.algoBck = lb.NewHashed(sp, bckW, bckID, bckUsable)
		return b
	}
	b.algoAct = lb.New(p.Balance.Algo, actW, actUsable,
		func(i int) (int, int) {
			return int(b.Servers[b.active[i]].cur.Load()), b.Servers[b.active[i]].Conf.Maxconn
		})
	b.algoBck = lb.New(p.Balance.Algo, bckW, bckUsable,
		func(i int) (int, int) {
			return int(b.Servers[b.backup[i]].cur.Load()), b.Servers[b.backup[i]].Conf.Maxconn
		})
	return b
}

// pick chooses a server, avoiding avoid when another one is usable. Backup
// servers are used only when no active server is usable; without
// "option allbackups" only the first usable backup takes traffic.
func (b *Backend) pick(avoid *Server, hk hashKey) *Server {
	if s := pickIn(b.Servers, b.active, b.algoAct, avoid, hk); s != nil {
		return s
	}
	if len(b.backup) == 0 {
		return nil
	}
	if !b.P.Options["allbackups"] {
		for _, i := range b.backup {
			if s := b.Servers[i]; s.usable() {
				return s
			}
		}
		return nil
	}
	return pickIn(b.Servers, b.backup, b.algoBck, avoid, hk)
}

func pickIn(all []*Server, idx []int, a lb.Algorithm, avoid *Server, hk hashKey) *Server {
	av := -1
	for i, j := range idx {
		if all[j] == avoid {
			av = i
		}
	}
	if ha, ok := a.(lb.Hashed); ok && hk.ok {
		if i := ha.PickHash(av, hk.h); i >= 0 {
			return all[idx[i]]
		}
		return nil
	}
	if i := a.Pick(av); i >= 0 {
		return all[idx[i]]
	}
	return nil
}

// acquire takes a serving slot on s when it has a maxconn, waiting in its
// queue up to timeout; it returns false when the queue timeout expired.
func (s *Server) acquire(timeout time.Duration) bool {
	if s.slots != nil {
		select {
		case s.slots <- struct{}{}:
		default:
			if timeout <= 0 {
				timeout = 5 * time.Second
			}
			t := time.NewTimer(timeout)
			defer t.Stop()
			select {
			case s.slots <- struct{}{}:
			case <-t.C:
				return false
			}
		}
	}
	s.cur.Add(1)
	s.backend.beconn.Add(1)
	return true
}

func (s *Server) release() {
	s.cur.Add(-1)
	s.backend.beconn.Add(-1)
	if s.slots != nil {
		<-s.slots
	}
}

// takeIdle pops an idle pooled connection, or nil.
func (s *Server) takeIdle() *serverConn {
	s.mu.Lock()
	n := len(s.idle)
	if n == 0 {
		s.mu.Unlock()
		return nil
	}
	sc := s.idle[n-1]
	s.idle[n-1] = nil
	s.idle = s.idle[:n-1]
	s.mu.Unlock()
	return sc
}

// maxIdlePerServer bounds the pool so a burst cannot pin file descriptors forever.
const maxIdlePerServer = 1024

// putIdle returns a reusable connection to the pool.
func (s *Server) putIdle(sc *serverConn, now time.Time) {
	sc.idleSince = now
	s.mu.Lock()
	if len(s.idle) < maxIdlePerServer {
		s.idle = append(s.idle, sc)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	sc.c.Close()
}

// purgeIdle closes pooled connections idle for longer than maxAge, like
// HAProxy's pool-purge-delay.
func (s *Server) purgeIdle(now time.Time, maxAge time.Duration) {
	s.mu.Lock()
	keep := s.idle[:0]
	var old []*serverConn
	for _, sc := range s.idle {
		if now.Sub(sc.idleSince) > maxAge {
			old = append(old, sc)
		} else {
			keep = append(keep, sc)
		}
	}
	clear(s.idle[len(keep):])
	s.idle = keep
	s.mu.Unlock()
	for _, sc := range old {
		sc.c.Close()
	}
}

// dial opens a new connection to s within timeout; dstPort is the port the
// client connected to, used when the server line has no port.
func (s *Server) dial(timeout time.Duration, dstPort int) (*serverConn, error) {
	addr := s.addr
	if s.useDst {
		addr = net.JoinHostPort(s.addr, strconv.Itoa(dstPort))
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	c, err := dialer.DialContext(ctx, "tcp", addr)
	cancel()
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	return &serverConn{c: tc, srv: s, fd: newFDConn(tc, nil)}, nil
}

var dialer = net.Dialer{KeepAlive: -1}

// errNoServer means every server of the backend is down or in maintenance.
var errNoServer = errors.New("no server available")

// isTimeout tells whether err is a deadline or dial timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
