// Package peers shares stick tables between processes with HAProxy's
// peers protocol (version 2.1, as haproxy 2.6 speaks it): each process of
// a "peers" section listens on its local peer's address and connects to
// every other peer; entries changed here are pushed to the connected
// peers, and entries they push are written into the tables of the same
// name. On a reload the stopping process connects to its own local peer
// address, where its successor listens, and teaches it every entry before
// it exits, as HAProxy's old process does.
package peers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"dhproxy/internal/model"
	"dhproxy/internal/stick"
)

// HAProxy's timers: a peer sends a heartbeat after 3 s without traffic,
// and a session that heard nothing for 5 s is dead (dhproxy waits a little
// longer, so that a busy peer is not cut).
const (
	heartbeatEvery = 3 * time.Second
	readTimeout    = 8 * time.Second
	connectTimeout = 2 * time.Second
	reconnectDelay = 5 * time.Second
	handoverWait   = 5 * time.Second // HAProxy's resync timeout
	queueLen       = 4096            // updates waiting for one peer before it is cut as too slow
)

// Options are the runtime's settings.
type Options struct {
	PID int
	// Log receives the events worth an operator's eye: level is
	// "WARNING", "NOTICE" or "ALERT".
	Log func(level, msg string)
}

// Runtime runs the peers sections of a configuration.
type Runtime struct {
	sections []*section
	ctx      context.Context
	cancel   context.CancelFunc
}

// section is one active peers section.
type section struct {
	rt      *Runtime
	cfg     *model.Peers
	local   string
	opts    Options
	tables  []*shared
	notify  chan struct{}
	ln      net.Listener
	remotes map[string]*model.Peer
	// ctx ends the remote sessions' loops: at a hard stop, or when a
	// stopping process hands its tables over.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	sessions map[string]*session // by peer name; the local peer's is the reload hand-over
	learned  bool                // a remote peer taught us once (or none to ask)
	asking   *session            // the session a resync was requested on
	wg       sync.WaitGroup
	seq      uint32 // last update id sent, guarded by mu
}

// shared is one table of a section, with the definition peers are sent.
type shared struct {
	id  uint64
	t   *stick.Table
	def definition
}

// Start opens the listeners of cfg's active peers sections and starts
// synchronizing. table returns the runtime table of a section holding one.
func Start(cfg *model.Config, table func(*model.Proxy) *stick.Table, opts Options) (*Runtime, error) {
	rt := &Runtime{}
	rt.ctx, rt.cancel = context.WithCancel(context.Background())
	for _, ps := range cfg.PeersList {
		if !ps.Active() {
			continue
		}
		s := &section{rt: rt, cfg: ps, local: cfg.LocalPeer, opts: opts, notify: make(chan struct{}, 1),
			sessions: map[string]*session{}, remotes: map[string]*model.Peer{}}
		s.ctx, s.cancel = context.WithCancel(rt.ctx)
		for _, p := range ps.Peers {
			if p != ps.Local {
				s.remotes[p.Name] = p
			}
		}
		s.learned = len(s.remotes) == 0
		for _, p := range append(append([]*model.Proxy{}, cfg.Proxies...), ps.Tables...) {
			if p.StickTable == nil || p.StickTable.PeersSection != ps {
				continue
			}
			t := table(p)
			if t == nil {
				continue
			}
			t.Share(s.notify)
			sh := &shared{id: uint64(len(s.tables) + 1), t: t}
			sh.def = defineTable(sh.id, wireName(ps, p), t, hasStickRules(cfg, p))
			s.tables = append(s.tables, sh)
		}
		ln, err := listen(rt.ctx, ps.ListenAddr())
		if err != nil {
			rt.Close()
			return nil, fmt.Errorf("peers section '%s': cannot listen on %s for local peer '%s': %v", ps.Name, ps.ListenAddr(), s.local, err)
		}
		s.ln = ln
		rt.sections = append(rt.sections, s)
	}
	for _, s := range rt.sections {
		s.start()
	}
	return rt, nil
}

// wireName is the table's name in the protocol: its section's name, or
// for a peers section's "table" line the table name after a '/' (what
// haproxy 2.6 sends).
func wireName(ps *model.Peers, p *model.Proxy) string {
	if rest, ok := strings.CutPrefix(p.Name, ps.Name+"/"); ok {
		return "/" + rest
	}
	return p.Name
}

// hasStickRules tells whether stick rules store servers in p's table: it
// then shares server_id as HAProxy's does.
func hasStickRules(cfg *model.Config, p *model.Proxy) bool {
	for _, q := range cfg.Proxies {
		for _, r := range q.StickRules {
			if r.TableProxy == p && r.Store {
				return true
			}
		}
	}
	return false
}

// listen opens a peers listener with SO_REUSEPORT: during a reload the old
// and the new process listen side by side until the old one hands over.
func listen(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(ctx, "tcp", addr)
}

// Close stops every session and listener at once (hard stop).
func (rt *Runtime) Close() {
	if rt == nil {
		return
	}
	rt.cancel()
	for _, s := range rt.sections {
		if s.ln != nil {
			s.ln.Close()
		}
		s.closeSessions()
		s.wg.Wait()
	}
}

func (s *section) logf(level, format string, args ...any) {
	if s.opts.Log != nil {
		s.opts.Log(level, fmt.Sprintf("peers %s: ", s.cfg.Name)+fmt.Sprintf(format, args...))
	}
}

// goSafe runs fn in a goroutine owned by the section, logging a panic
// instead of taking the process down.
func (s *section) goSafe(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				s.logf("ALERT", "internal error: %v", r)
			}
		}()
		fn()
	}()
}

func (s *section) start() {
	s.goSafe(s.acceptLoop)
	s.goSafe(s.pushLoop)
	for _, p := range s.cfg.Peers {
		if p != s.cfg.Local {
			s.goSafe(func() { s.connectLoop(p) })
		}
	}
}

func (s *section) closeSessions() {
	s.mu.Lock()
	list := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		list = append(list, ss)
	}
	s.mu.Unlock()
	for _, ss := range list {
		ss.close()
	}
}

// register makes ss the session of its peer. An earlier session of a
// remote peer is replaced (both ends connected at once: the newest wins,
// as in HAProxy); a second hand-over from the local peer is refused.
func (s *section) register(ss *session) bool {
	s.mu.Lock()
	old := s.sessions[ss.peer]
	if old != nil && ss.peer == s.local {
		s.mu.Unlock()
		return false
	}
	s.sessions[ss.peer] = ss
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	return true
}

func (s *section) unregister(ss *session) {
	s.mu.Lock()
	if s.sessions[ss.peer] == ss {
		delete(s.sessions, ss.peer)
	}
	if s.asking == ss {
		s.asking = nil
	}
	s.mu.Unlock()
}

func (s *section) hasSession(peer string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[peer] != nil
}

func (s *section) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.logf("WARNING", "accept on %s: %v", s.ln.Addr(), err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		s.goSafe(func() { s.serveIncoming(c) })
	}
}

// serveIncoming checks a connecting peer's hello, answers its status and
// runs the session.
func (s *section) serveIncoming(c net.Conn) {
	defer c.Close()
	from := c.RemoteAddr().String()
	c.SetDeadline(time.Now().Add(readTimeout))
	r := bufio.NewReader(c)
	h, err := readHello(r)
	status := statusSuccess
	var reason string
	var he *helloError
	switch {
	case errors.As(err, &he):
		status, reason = he.status, he.reason
	case errors.Is(err, io.EOF):
		return // a port probe
	case err != nil:
		s.logf("WARNING", "connection from %s closed during the hello: %v", from, err)
		return
	case h.remote != s.local:
		status, reason = statusErrHost, fmt.Sprintf("it calls this process '%s', whose local peer name is '%s'", h.remote, s.local)
	case h.local != s.local && s.remotes[h.local] == nil:
		status, reason = statusErrPeer, fmt.Sprintf("it is peer '%s', not a peer of this section", h.local)
	}
	if status != statusSuccess {
		s.logf("WARNING", "connection from %s refused with status %d: %s", from, status, reason)
		fmt.Fprintf(c, "%d\n", status)
		return
	}
	ss := newSession(s, h.local, c, r)
	if !s.register(ss) {
		fmt.Fprintf(c, "%d\n", statusTryAgain)
		return
	}
	if _, err := fmt.Fprintf(c, "%d\n", statusSuccess); err != nil {
		s.unregister(ss)
		return
	}
	c.SetDeadline(time.Time{})
	ss.run(h.local != s.local)
}

// connectLoop keeps a session with remote peer p: when none is up (p may
// have connected to us first), it connects, and retries after a failure.
func (s *section) connectLoop(p *model.Peer) {
	var lastErr string
	for s.ctx.Err() == nil {
		if !s.hasSession(p.Name) {
			err := s.connect(p)
			switch {
			case err == nil:
				lastErr = ""
			case err.Error() != lastErr:
				lastErr = err.Error()
				s.logf("WARNING", "peer '%s' (%s): %v", p.Name, p.Addr, err)
			}
			if err != nil {
				s.sleep(reconnectDelay)
				continue
			}
		}
		// A random pause before checking again, so that two peers that
		// lost a session do not connect to each other at the same instant
		// again.
		s.sleep(50*time.Millisecond + rand.N(2*time.Second))
	}
}

func (s *section) sleep(d time.Duration) {
	sleepCtx(s.ctx, d)
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// dialPeer connects to addr and exchanges hellos, naming the other end
// peer.
func (s *section) dialPeer(ctx context.Context, peer, addr string) (net.Conn, *bufio.Reader, error) {
	d := net.Dialer{Timeout: connectTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %v", err)
	}
	c.SetDeadline(time.Now().Add(readTimeout))
	if _, err := c.Write(hello{major: majorVer, minor: minorVer, remote: peer, local: s.local, pid: s.opts.PID}.append(nil)); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("sending the hello: %v", err)
	}
	r := bufio.NewReader(c)
	line, err := readLine(r)
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("reading the hello's status: %v", err)
	}
	if line != fmt.Sprint(statusSuccess) {
		c.Close()
		return nil, nil, &statusError{line}
	}
	c.SetDeadline(time.Time{})
	return c, r, nil
}

type statusError struct{ line string }

func (e *statusError) Error() string {
	meaning := map[string]string{"300": "try again later", "501": "protocol error", "502": "unsupported protocol version",
		"503": "it does not know itself by the name this process gives it", "504": "it does not know this process's local peer name"}[e.line]
	if meaning == "" {
		meaning = "unknown status"
	}
	return fmt.Sprintf("refused the session with status %.20q (%s)", e.line, meaning)
}

func (s *section) connect(p *model.Peer) error {
	c, r, err := s.dialPeer(s.ctx, p.Name, p.Addr)
	if err != nil {
		return err
	}
	defer c.Close()
	ss := newSession(s, p.Name, c, r)
	s.register(ss)
	ss.run(true)
	return nil
}

// pushLoop sends the entries changed here to every connected peer.
func (s *section) pushLoop() {
	var entries []*stick.Entry
	var snap stick.Snapshot
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.notify:
		}
		// Let a burst of changes gather into one pass.
		time.Sleep(5 * time.Millisecond)
		now := time.Now()
		for _, sh := range s.tables {
			entries = sh.t.TakeUpdates(entries[:0])
			for i, e := range entries {
				entries[i] = nil
				if !sh.t.Snapshot(e, now, &snap) {
					continue
				}
				s.broadcast(s.encodeUpdate(sh, &snap))
			}
		}
	}
}

// encodeUpdate builds the update message of snap for the writers.
func (s *section) encodeUpdate(sh *shared, snap *stick.Snapshot) outItem {
	s.mu.Lock()
	s.seq++
	id := s.seq
	s.mu.Unlock()
	u := snapshotUpdate(sh, snap, id)
	return outItem{table: sh, typ: updateType(&u), body: appendUpdate(nil, &sh.def, &u)}
}

func (s *section) broadcast(it outItem) {
	s.mu.Lock()
	list := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		if !ss.handover {
			list = append(list, ss)
		}
	}
	s.mu.Unlock()
	for _, ss := range list {
		ss.send(it)
	}
}

// Handover is the reload step of a stopping process: it stops listening
// and talking to the remote peers, connects to its local peer's address,
// where the new process listens now, and teaches it every entry. It
// returns once the new process confirmed, or after 5 s (HAProxy's resync
// timeout) or at ctx's end.
func (rt *Runtime) Handover(ctx context.Context) {
	if rt == nil {
		return
	}
	var wg sync.WaitGroup
	for _, s := range rt.sections {
		s.cancel()
		s.ln.Close()
		s.closeSessions()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handover(ctx)
		}()
	}
	wg.Wait()
}

func (s *section) handover(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, handoverWait)
	defer cancel()
	addr := s.cfg.ListenAddr()
	for ctx.Err() == nil {
		c, r, err := s.dialPeer(ctx, s.local, addr)
		if err != nil {
			var se *statusError
			if !errors.As(err, &se) || se.line != fmt.Sprint(statusTryAgain) {
				s.logf("NOTICE", "no new process to hand the tables over to at %s: %v", addr, err)
				return
			}
			sleepCtx(ctx, 500*time.Millisecond)
			continue
		}
		ss := newSession(s, s.local, c, r)
		ss.handover = true
		go func() {
			<-ctx.Done()
			ss.close()
		}()
		ss.run(false)
		c.Close()
		if ss.confirmed.Load() {
			s.logf("NOTICE", "tables handed over to the new process (%d entries)", ss.taught.Load())
		} else {
			s.logf("WARNING", "hand-over of the tables to the new process not confirmed: %v", ss.err())
		}
		return
	}
}
