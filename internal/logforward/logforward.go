// Package logforward runs the "log-forward" sections: syslog relays that
// receive messages over UDP (dgram-bind) and TCP (bind, RFC 6587 octet
// counting or LF framing), read their RFC 5424 or RFC 3164 header and
// send them again to their "log" targets, each in its own format.
package logforward

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/listener"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
)

// Runtime is the running log-forward sections of a configuration.
type Runtime struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	closed  bool
	closers []io.Closer           // sockets
	conns   map[net.Conn]struct{} // TCP clients being served
	loggers []*logging.Logger
	bufSize int
}

// Start opens the sockets of every log-forward section of cfg and serves
// them until Close. An error names the bind line; nothing stays open then.
func Start(cfg *model.Config) (*Runtime, error) {
	r := &Runtime{conns: map[net.Conn]struct{}{}, bufSize: cfg.Global.BufSize}
	for _, f := range cfg.LogForwards {
		if err := r.start(f, &cfg.Global); err != nil {
			r.Close()
			return nil, fmt.Errorf("Starting log-forward %s: %w", f.Name, err)
		}
	}
	return r, nil
}

func (r *Runtime) start(f *model.LogForward, g *model.Global) error {
	lg, err := logging.New(g.Logs, f.Logs, "", "")
	if err != nil {
		return err
	}
	r.loggers = append(r.loggers, lg)
	for _, d := range f.DgramBinds {
		c, err := listenUDP(d)
		if err != nil {
			return fmt.Errorf("[%s] : cannot bind socket (%v) [%s]", d.Pos, err, d.Addr)
		}
		r.closers = append(r.closers, c)
		r.wg.Add(1)
		go r.serveUDP(c, lg)
	}
	fe := &model.Proxy{Maxconn: f.Maxconn, Backlog: f.Backlog}
	for _, b := range f.Binds {
		l, err := listener.Open(b, listener.Backlog(b, fe, g))
		if err != nil {
			return err
		}
		r.closers = append(r.closers, l)
		r.wg.Add(1)
		go r.serveTCP(l, f, lg)
	}
	return nil
}

// listenUDP binds d with SO_REUSEPORT, so that the process a reload
// starts binds beside this one, as haproxy's receivers do.
func listenUDP(d model.DgramBind) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(nil, d.Network, d.Addr.String())
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// serveUDP relays every datagram: one message each.
func (r *Runtime) serveUDP(c *net.UDPConn, lg *logging.Logger) {
	defer r.wg.Done()
	defer recoverLog("udp")
	buf := make([]byte, r.bufSize)
	for {
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		relay(lg, buf[:n])
	}
}

func relay(lg *logging.Logger, b []byte) {
	logging.CountReceived()
	level, facility, meta, msg := logging.ParseMessage(b)
	lg.Forward(level, facility, &meta, msg)
}

// serveTCP accepts at most maxconn clients at once; the others wait in
// the accept queue, as haproxy's listener pauses when the frontend is full.
func (r *Runtime) serveTCP(l net.Listener, f *model.LogForward, lg *logging.Logger) {
	defer r.wg.Done()
	defer recoverLog("tcp")
	var slots chan struct{}
	if f.Maxconn > 0 {
		slots = make(chan struct{}, f.Maxconn)
	}
	for {
		if slots != nil {
			slots <- struct{}{}
		}
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if slots != nil {
				<-slots
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: let it clear
			continue
		}
		if !r.track(c) {
			c.Close()
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer recoverLog("tcp client")
			defer func() {
				r.untrack(c)
				if slots != nil {
					<-slots
				}
			}()
			r.serveConn(c, f.TimeoutClient, lg)
		}()
	}
}

func (r *Runtime) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *Runtime) untrack(c net.Conn) {
	c.Close()
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

// serveConn reads RFC 6587 frames until the client closes, sends a bad
// frame (then it is closed, as haproxy does) or stays idle longer than
// "timeout client". A frame is either "<len> <message>" (octet counting,
// len without leading zero and at most the buffer size) or a message
// starting with '<' and ending with LF or CR LF.
func (r *Runtime) serveConn(c net.Conn, idle time.Duration, lg *logging.Logger) {
	rd := bufio.NewReaderSize(c, r.bufSize)
	msg := make([]byte, r.bufSize)
	for {
		if idle > 0 {
			c.SetReadDeadline(time.Now().Add(idle))
		}
		first, err := rd.Peek(1)
		if err != nil {
			return
		}
		switch {
		case first[0] == '<':
			line, err := rd.ReadSlice('\n')
			if err != nil {
				return // no LF within a buffer, or the client left mid-line
			}
			line = line[:len(line)-1]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			relay(lg, line)
		case first[0] >= '1' && first[0] <= '9':
			word, err := rd.ReadSlice(' ')
			if err != nil {
				return
			}
			n, err := strconv.Atoi(string(word[:len(word)-1]))
			if err != nil || n <= 0 || n > r.bufSize {
				return
			}
			if _, err := io.ReadFull(rd, msg[:n]); err != nil {
				return
			}
			relay(lg, msg[:n])
		default:
			return
		}
	}
}

// Close stops receiving, closes the clients' connections and waits for
// the messages received to be sent.
func (r *Runtime) Close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.closed = true
	for _, c := range r.closers {
		c.Close()
	}
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	for _, lg := range r.loggers {
		lg.Close()
	}
}

func recoverLog(what string) {
	if v := recover(); v != nil {
		log.Printf("log-forward: %s receiver recovered from: %v", what, v)
	}
}
