// Package tcp implements HAProxy's "mode tcp" data forwarding: a
// bidirectional, half-close aware byte pump between a client and a server
// connection with HAProxy's inactivity timeouts, using splice(2) through a
// bounded pool of pipes when both ends are kernel sockets.
package tcp

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Timeouts are HAProxy's inactivity timeouts (0 = none).
//
// Client and Server are `timeout client` / `timeout server`. Tunnel is
// `timeout tunnel`: when non-zero it replaces both Client and Server for the
// whole session. ClientFin / ServerFin are `timeout client-fin` /
// `timeout server-fin`: once a side is half-closed (it sent its FIN, or we
// forwarded the peer's FIN to it) its timeout becomes the fin one when set,
// overriding Client/Server/Tunnel, as HAProxy does.
//
// As in HAProxy without "option independent-streams", a side counts as
// active when data is read from it or written to it.
type Timeouts struct {
	Client, Server, ClientFin, ServerFin, Tunnel time.Duration
	// ServerFinEnds ends the whole session at the server's FIN, once
	// forwarded, as haproxy 2.6 ends an HTTP tunnel (after a 101 or a
	// CONNECT) whose server closes, where mode tcp half-closes.
	ServerFinEnds bool
	// TimeoutHalfCloses: a side idle for its timeout is no longer read
	// and the other side gets a FIN, as at that side's own FIN; the other
	// direction goes on until it ends too (its peer's FIN or timeout).
	// The first timeout names the session's end (cD, sD). haproxy 2.6
	// does so in mode tcp; without it the session ends at once.
	TimeoutHalfCloses bool
}

// HalfCloser is a connection that can shut down its write side (TCPConn,
// UnixConn).
type HalfCloser interface {
	net.Conn
	CloseWrite() error
}

// Underlying returns the socket under c when c only wraps it to report
// other addresses (a connection that started with a PROXY header), so
// that splice and the socket state reach the kernel socket; else c.
func Underlying(c net.Conn) net.Conn {
	if w, ok := c.(interface{ Underlying() net.Conn }); ok {
		return w.Underlying()
	}
	return c
}

// Result reports the bytes moved and how the session ended.
//
// BytesIn counts bytes received from the client (forwarded to the server,
// HAProxy's %U); BytesOut counts bytes sent to the client (from the server,
// HAProxy's %B). Term is HAProxy's two-character termination state for
// tcplog: first char '-' normal, 'C' client aborted/reset, 'S' server
// aborted/reset, 'c' client timeout, 's' server timeout; second char 'D'
// (data phase) when the first is not '-', else '-'.
type Result struct {
	BytesIn, BytesOut int64
	Term              [2]byte
	// ResetServer: the server side's timeout expired; haproxy 2.6 then
	// closes the server connection with a reset (SO_LINGER 0, its
	// SI_FL_NOLINGER on a write timeout), which the caller does.
	ResetServer bool
}

// chunk bounds one ReadFrom call: between calls the deadlines are refreshed,
// so it must be small enough that a slow-but-alive peer keeps making progress
// within a timeout, and big enough that the per-call overhead stays negligible
// next to splice(2) itself (which moves at most a pipe's worth per syscall).
const chunk = 256 << 10

// side is one end of the session with its inactivity bookkeeping.
type side struct {
	conn       HalfCloser
	base, fin  time.Duration
	timeoutCh  byte         // 'c' or 's'
	abortCh    byte         // 'C' or 'S'
	last       atomic.Int64 // UnixNano of the last read from / write to it
	halfClosed atomic.Bool
}

func (s *side) touch(now time.Time) { s.last.Store(now.UnixNano()) }

// timeout is the side's current inactivity timeout (0 = none).
func (s *side) timeout() time.Duration {
	if s.fin > 0 && s.halfClosed.Load() {
		return s.fin
	}
	return s.base
}

type session struct {
	client, server    side
	pipes             *Pipes
	serverFinEnds     bool
	timeoutHalfCloses bool
	aborted           atomic.Bool
	termOnce          sync.Once // the first end named wins
	abortOnce         sync.Once
	term              [2]byte
	resetServer       bool // set with term
}

// fail records the first abnormal end and unblocks both directions.
func (s *session) fail(c byte) { s.stop([2]byte{c, 'D'}) }

// expire names the session's end at an inactivity timeout, now, and
// (without TimeoutHalfCloses) ends it. haproxy 2.6 checks the client's
// side first: when both sides' timeouts expired together (timeout tunnel,
// or equal client and server timeouts) it is a client timeout (cD); the
// server's connection of an ended session is reset whenever its side's
// timeout expired.
func (s *session) expire(now time.Time) {
	expired := func(sd *side) bool {
		t := sd.timeout()
		return t > 0 && now.Sub(time.Unix(0, sd.last.Load())) >= t
	}
	ch := s.server.timeoutCh
	if expired(&s.client) {
		ch = s.client.timeoutCh
	}
	s.termOnce.Do(func() {
		s.term = [2]byte{ch, 'D'}
		s.resetServer = !s.timeoutHalfCloses && expired(&s.server)
	})
	if !s.timeoutHalfCloses {
		s.abortOnce.Do(s.abort)
	}
}

// stop ends the session, with term unless it was named already. Forward
// must not close the conns, so pending I/O is woken with past deadlines.
func (s *session) stop(term [2]byte) {
	s.termOnce.Do(func() { s.term = term })
	s.abortOnce.Do(s.abort)
}

// abort wakes pending I/O with past deadlines; under s.abortOnce.
func (s *session) abort() {
	s.aborted.Store(true)
	past := time.Unix(1, 0)
	s.client.conn.SetDeadline(past)
	s.server.conn.SetDeadline(past)
}

// Forward copies client→server and server→client concurrently until both
// directions are finished; a FIN from one side is propagated with CloseWrite
// to the other (half-close), and the connection stays usable in the other
// direction until that side finishes too or its inactivity timeout fires
// (unless ServerFinEnds). On a timeout or reset the whole session stops (and the conns are left with
// expired deadlines). It closes neither conn: the caller does. Splicing
// takes its pipes from pipes; nil copies through buffers.
func Forward(client, server HalfCloser, t Timeouts, pipes *Pipes) Result {
	s := &session{term: [2]byte{'-', '-'}, pipes: pipes, serverFinEnds: t.ServerFinEnds, timeoutHalfCloses: t.TimeoutHalfCloses}
	s.client = side{conn: client, base: t.Client, fin: t.ClientFin, timeoutCh: 'c', abortCh: 'C'}
	s.server = side{conn: server, base: t.Server, fin: t.ServerFin, timeoutCh: 's', abortCh: 'S'}
	if t.Tunnel > 0 {
		s.client.base, s.server.base = t.Tunnel, t.Tunnel
	}
	now := time.Now()
	s.client.touch(now)
	s.server.touch(now)

	var res Result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		res.BytesOut = s.pipe(&s.server, &s.client)
	}()
	res.BytesIn = s.pipe(&s.client, &s.server)
	wg.Wait()
	res.Term, res.ResetServer = s.term, s.resetServer
	if !s.aborted.Load() {
		// Clean end: leave the conns without our deadlines, for callers
		// that keep using them (e.g. to drain or log).
		client.SetDeadline(time.Time{})
		server.SetDeadline(time.Time{})
	}
	return res
}

// window is how long one ReadFrom may wait for input before the loop
// re-evaluates inactivity: a fraction of the smallest timeout in play, so a
// timeout fires at most ~1/8 late, and a fin timeout that kicks in while
// waiting is noticed promptly.
func window(ds ...time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		if d > 0 && (m == 0 || d < m) {
			m = d
		}
	}
	if m == 0 {
		return 0
	}
	return max(m/8, time.Millisecond)
}

// pipe moves src→dst until EOF (then half-closes dst), a timeout or an error.
func (s *session) pipe(src, dst *side) int64 {
	// Splice between kernel sockets; otherwise copy through one reused
	// buffer instead of a fresh one per chunk.
	var sp *splicer
	var lr *io.LimitedReader
	var buf []byte
	// The sides' activity is noted as each write goes, not at the end of
	// a call that then waits up to a window for more: a timeout counts
	// from the last byte moved, as haproxy's, not up to a window later.
	moved := func() {
		now := time.Now()
		src.touch(now)
		dst.touch(now)
	}
	if rs, rd, ok := rawConns(src.conn, dst.conn); ok && s.pipes != nil {
		sp = &splicer{pipes: s.pipes, src: rs, dst: rd, moved: moved}
	} else {
		lr = &io.LimitedReader{R: src.conn}
		buf = make([]byte, 32<<10)
	}
	var total int64
	for {
		now := time.Now()
		srcT, dstT := src.timeout(), dst.timeout()
		if srcT > 0 && now.Sub(time.Unix(0, src.last.Load())) >= srcT {
			s.expire(now)
			if s.timeoutHalfCloses {
				halfClose(src, dst)
			}
			return total
		}
		// Read deadline: the earlier of src's inactivity expiry and one
		// window, so activity inside a long call is accounted for.
		// Write deadline: the call stops reading after at most one window,
		// so the last (≤ one pipe) write still gets a full dst timeout.
		var rd, wd time.Time
		if win := window(srcT, dstT, src.fin, dst.fin); win > 0 {
			rd = now.Add(win)
			if srcT > 0 {
				if exp := time.Unix(0, src.last.Load()).Add(srcT); exp.Before(rd) {
					rd = exp
				}
			}
			if dstT > 0 {
				wd = now.Add(win + dstT)
			}
		}
		src.conn.SetReadDeadline(rd)
		dst.conn.SetWriteDeadline(wd)
		// Checked after setting deadlines: fail() sets past deadlines after
		// raising the flag, so either we see the flag or our call is woken.
		if s.aborted.Load() {
			return total
		}

		var n int64
		var err error
		var eof bool
		if sp != nil {
			n, eof, err = sp.move(chunk)
		} else {
			lr.N = chunk
			n, err = io.CopyBuffer(touchWriter{dst.conn, moved}, lr, buf)
			eof = err == nil && lr.N > 0
		}
		total += n
		end := time.Now()
		switch {
		case eof: // propagate the FIN
			halfClose(src, dst)
			if src == &s.server && s.serverFinEnds {
				s.stop([2]byte{'-', '-'})
			}
			return total
		case err == nil: // chunk done
			continue
		case s.aborted.Load():
			return total
		case errors.Is(err, os.ErrDeadlineExceeded):
			if !wd.IsZero() && !end.Before(wd) {
				// dst did not accept data for a whole timeout.
				s.fail(dst.timeoutCh)
				return total
			}
			continue // read window over: re-check inactivity at the top
		default:
			s.fail(s.blame(src, dst, err))
			return total
		}
	}
}

// halfClose ends the src→dst direction: dst gets a FIN.
func halfClose(src, dst *side) {
	src.halfClosed.Store(true)
	dst.halfClosed.Store(true)
	dst.conn.CloseWrite()
}

// touchWriter notes each write's activity (moved); it also hides a
// ReaderFrom so io.CopyBuffer uses the given buffer.
type touchWriter struct {
	w     io.Writer
	moved func()
}

func (t touchWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if n > 0 {
		t.moved()
	}
	return n, err
}

// blame picks which side caused a hard I/O error: besides the failed
// operation the TCP state of both sockets is consulted (a reset socket is
// in CLOSE state), as a reset peer can also fail the other side's call.
func (s *session) blame(src, dst *side, err error) byte {
	srcGone, dstGone := tcpClosed(src.conn), tcpClosed(dst.conn)
	switch {
	case srcGone && !dstGone:
		return src.abortCh
	case dstGone && !srcGone:
		return dst.abortCh
	case errors.Is(err, syscall.EPIPE):
		return dst.abortCh // EPIPE only comes from writing
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "write" {
		return dst.abortCh
	}
	return src.abortCh // the usual blocked operation is the read
}
