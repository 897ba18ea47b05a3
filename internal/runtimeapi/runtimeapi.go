// Package runtimeapi serves HAProxy's runtime API ("stats socket" in the
// global section): one command line per connection, or an interactive
// session after "prompt", reporting statistics and changing server states.
package runtimeapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dhproxy/internal/listener"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
	"dhproxy/internal/stats"
)

// Access levels, lowest first.
const (
	levelUser = iota
	levelOperator
	levelAdmin
)

var levels = map[string]int{"user": levelUser, "operator": levelOperator, "admin": levelAdmin}

// Server is the runtime API's listening sockets.
type Server struct {
	src     *stats.Source
	timeout time.Duration
	ls      []net.Listener
	levels  []int  // of each listener
	expose  []bool // of each listener: "expose-fd listeners"
	// ListenerFDs gives the proxy's listening sockets to "_getsocks".
	ListenerFDs func() []int
	wg          sync.WaitGroup
	mu          sync.Mutex
	conns       map[net.Conn]struct{}
	closed      bool
	done        chan struct{} // closed by Close
	// sessions holds a token per session in progress: at "stats maxconn"
	// the sockets stop accepting (clients wait in the backlog), as HAProxy.
	sessions chan struct{}
	accepted atomic.Int64 // connections, for "show activity"
}

// defaultTimeout is HAProxy's "stats timeout" default.
const defaultTimeout = 10 * time.Second

// Listen opens every "stats socket" of cfg; Serve answers them. An existing
// unix socket file is replaced, as HAProxy does on start.
func Listen(cfg *model.Config) (*Server, error) {
	s := &Server{timeout: cfg.Global.StatsTimeout, conns: map[net.Conn]struct{}{},
		done: make(chan struct{}), sessions: make(chan struct{}, cfg.Global.CLIMaxconn())}
	if s.timeout <= 0 {
		s.timeout = defaultTimeout
	}
	for i, sock := range cfg.Global.StatsSockets {
		if f := listener.Inherited(listener.StatsKey(&cfg.Global.StatsSockets[i])); f != nil {
			// Held by the master across reloads: the path stays on close.
			l, err := net.FileListener(f)
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("%s: 'stats socket %s': %w", sock.Pos, sock.Addr, err)
			}
			s.ls = append(s.ls, l)
			s.levels = append(s.levels, levels[sock.Level])
			s.expose = append(s.expose, sock.ExposeFD)
			continue
		}
		if sock.Network == "unix" {
			if fi, err := os.Lstat(sock.Addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
				os.Remove(sock.Addr)
			}
		}
		l, err := net.Listen(sock.Network, sock.Addr)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("%s: 'stats socket %s': %w", sock.Pos, sock.Addr, err)
		}
		if ul, ok := l.(*net.UnixListener); ok {
			// As haproxy: the path stays on exit, since after "-sf" it is
			// the new process's socket.
			ul.SetUnlinkOnClose(false)
		}
		if sock.Network == "unix" && sock.Mode != 0 {
			if err := os.Chmod(sock.Addr, os.FileMode(sock.Mode)); err != nil {
				l.Close()
				s.Close()
				return nil, fmt.Errorf("%s: 'stats socket %s': %w", sock.Pos, sock.Addr, err)
			}
		}
		s.ls = append(s.ls, l)
		s.levels = append(s.levels, levels[sock.Level])
		s.expose = append(s.expose, sock.ExposeFD)
	}
	return s, nil
}

// Serve starts answering on the sockets Listen bound. Binding first lets
// the sockets exist before any proxy listener accepts, as in HAProxy.
func (s *Server) Serve(src *stats.Source) {
	s.src = src
	src.CLI = s.figures
	for i, l := range s.ls {
		s.wg.Add(1)
		go s.accept(l, s.levels[i], s.expose[i])
	}
}

// Close stops listening and ends the sessions in progress.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		close(s.done)
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	for _, l := range s.ls {
		l.Close()
	}
	s.wg.Wait()
}

func (s *Server) accept(l net.Listener, level int, expose bool) {
	defer s.wg.Done()
	for {
		select {
		case s.sessions <- struct{}{}:
		case <-s.done:
			return
		}
		c, err := l.Accept()
		if err != nil {
			<-s.sessions
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.Printf("[WARNING] stats socket %s: %v", l.Addr(), err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			<-s.sessions
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.accepted.Add(1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c, level, expose)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
			<-s.sessions
		}()
	}
}

// session is one client of the runtime API.
type session struct {
	srv         *Server
	level       int
	interactive bool
	quit        bool
	timeout     time.Duration // "stats timeout", or "set timeout cli" for this session
	payload     string        // lines after a command ending in "<<", up to an empty line
	// follow is the ring "show events <ring> -w" streams, from followFrom,
	// until the client closes.
	follow     *logging.Ring
	followFrom uint64
}

// maxLine bounds a command line, as HAProxy's buffer does.
const maxLine = 64 << 10

// followRing writes the lines of sess.follow as they come, until the
// client closes or dhproxy stops ("show events -w"). What the client sends
// meanwhile is read and dropped: haproxy 2.6 runs no other command then.
func (s *Server) followRing(c net.Conn, r *bufio.Reader, w *bufio.Writer, sess *session) {
	gone := make(chan struct{})
	c.SetReadDeadline(time.Time{})
	go func() {
		io.Copy(io.Discard, r)
		close(gone)
	}()
	next := sess.followFrom
	for {
		lines, upto, wake := sess.follow.Since(next)
		for _, l := range lines {
			w.Write(l)
			w.WriteByte('\n')
		}
		next = upto
		c.SetWriteDeadline(time.Now().Add(sess.timeout))
		if w.Flush() != nil {
			return
		}
		select {
		case <-wake:
		case <-gone:
			return
		case <-s.done:
			return
		}
	}
}

func (s *Server) serve(c net.Conn, level int, expose bool) {
	sess := &session{srv: s, level: level, timeout: s.timeout}
	defer s.src.RT.TrackCLI(c)()
	r := bufio.NewReaderSize(c, 4096)
	w := bufio.NewWriter(c)
	for {
		c.SetReadDeadline(time.Now().Add(sess.timeout))
		line, err := readLine(r)
		if err != nil && line == "" {
			return
		}
		if line == "_getsocks" {
			s.getSocks(c, r, expose)
			return
		}
		var payload string
		if cmdLine, ok := strings.CutSuffix(line, "<<"); ok {
			line, payload = cmdLine, readPayload(r)
		}
		cmds := splitCommands(line)
		for i, cmd := range cmds {
			sess.payload = ""
			if i == len(cmds)-1 {
				sess.payload = payload
			}
			out := sess.run(cmd)
			w.WriteString(out)
			if sess.follow != nil {
				s.followRing(c, r, w, sess)
				return
			}
			if sess.quit {
				break
			}
			w.WriteString("\n")
		}
		if sess.interactive && !sess.quit {
			w.WriteString("> ")
		}
		c.SetWriteDeadline(time.Now().Add(sess.timeout))
		if w.Flush() != nil || !sess.interactive || sess.quit || err != nil {
			return
		}
	}
}

// getSocks hands the listening sockets to a process started with -x.
func (s *Server) getSocks(c net.Conn, r io.Reader, expose bool) {
	uc, ok := c.(*net.UnixConn)
	if !expose || !ok || s.ListenerFDs == nil {
		io.WriteString(c, "Permission denied: this socket has no 'expose-fd listeners'.\n\n")
		return
	}
	if err := listener.SendSockets(uc, r, s.ListenerFDs()); err != nil {
		log.Printf("[WARNING] stats socket %s: _getsocks: %v", c.LocalAddr(), err)
	}
}

// readLine reads one command line without its end of line.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, more, err := r.ReadLine()
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", errors.New("command line too long")
		}
		if err != nil || !more {
			return string(b), err
		}
	}
}

// readPayload reads the lines that follow a command ending in "<<", up to
// an empty line (or the end of input), as HAProxy 2.6 takes a payload.
func readPayload(r *bufio.Reader) string {
	var b strings.Builder
	for b.Len() <= maxLine {
		l, err := readLine(r)
		if l == "" || err != nil {
			b.WriteString(l)
			break
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// splitCommands splits a line at unescaped ';', removing the escapes.
func splitCommands(line string) []string {
	var cmds []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch ch := line[i]; {
		case ch == '\\' && i+1 < len(line) && line[i+1] == ';':
			cur.WriteByte(';')
			i++
		case ch == ';':
			cmds = append(cmds, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	return append(cmds, cur.String())
}

// figures reports the sockets, open connections and accepted connections
// of the runtime API for "show info".
func (s *Server) figures() (sockets int, open, accepted int64) {
	s.mu.Lock()
	open = int64(len(s.conns))
	s.mu.Unlock()
	return len(s.ls), open, s.accepted.Load()
}
