// Package smtpsink is a small SMTP server for tests: it listens on
// 127.0.0.1, accepts every mail (or misbehaves on request), and records
// what clients sent, byte for byte.
package smtpsink

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Mail is one message accepted by the sink.
type Mail struct {
	Helo string
	From string
	To   []string
	Data string // the DATA part as sent, CRLFs kept, without the final ".\r\n"
	// Transcript is everything the client sent in the session, up to the
	// end of this mail's QUIT (or of the session).
	Transcript string
}

// Sink is a running SMTP server.
type Sink struct {
	Addr string // 127.0.0.1:port

	respond func(line string) string

	ln      net.Listener
	mu      sync.Mutex
	mails   []*Mail // in the order the messages were accepted
	done    []bool  // the mail's session has ended (its transcript is whole)
	conns   map[net.Conn]bool
	changed chan struct{} // closed and replaced on every new mail
	wg      sync.WaitGroup
}

// Start listens on a free port of 127.0.0.1. respond, when not nil, may
// replace the sink's replies: it gets each command line (without CRLF; ""
// for the greeting, "." for the end of DATA) and returns the reply to send
// (several lines joined with CRLF), "" for the normal one, "close" to close
// the connection, or "hang" to send nothing. It is called from the
// sessions' goroutines.
func Start(respond func(line string) string) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return Serve(ln, respond), nil
}

// Serve is Start on a listener of the caller's, e.g. one opened inside a
// network namespace.
func Serve(ln net.Listener, respond func(line string) string) *Sink {
	s := &Sink{Addr: ln.Addr().String(), respond: respond, ln: ln, conns: map[net.Conn]bool{}, changed: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	return s
}

// Port is the port the sink listens on.
func (s *Sink) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops the listener and cuts open sessions.
func (s *Sink) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Mails returns the mails accepted so far whose session has ended, in the
// order the sink accepted them.
func (s *Sink) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.complete()
}

func (s *Sink) complete() []Mail {
	var out []Mail
	for i, m := range s.mails {
		if s.done[i] {
			out = append(out, *m)
		}
	}
	return out
}

// WaitMails waits until at least n mails have arrived, or timeout.
func (s *Sink) WaitMails(n int, timeout time.Duration) ([]Mail, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, ch := s.complete(), s.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return got, fmt.Errorf("smtpsink: %d mail(s) after %v, want %d", len(got), timeout, n)
		}
	}
}

func (s *Sink) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

func (s *Sink) serve(c net.Conn) {
	r := bufio.NewReader(c)
	var transcript strings.Builder
	m := &Mail{}
	var data strings.Builder
	inData := false
	slot := -1 // index of the accepted mail in s.mails
	answer := func(line, normal string) string {
		if s.respond != nil {
			if alt := s.respond(line); alt != "" {
				return alt
			}
		}
		return normal
	}
	send := func(out string) bool {
		switch out {
		case "close":
			return false
		case "hang":
			// Keep the connection silent until the client gives up.
			r.ReadByte()
			return false
		}
		_, err := c.Write([]byte(out + "\r\n"))
		return err == nil
	}
	reply := func(line, normal string) bool { return send(answer(line, normal)) }
	if !reply("", "220 smtpsink ESMTP ready") {
		return
	}
	for {
		line, err := r.ReadString('\n')
		transcript.WriteString(line)
		if err != nil {
			s.finish(slot, transcript.String())
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		if inData {
			if cmd == "." {
				inData = false
				m.Data = data.String()
				out := answer(".", "250 2.0.0 queued")
				if strings.HasPrefix(out, "250") {
					slot = s.accept1(m)
				}
				if !send(out) {
					s.finish(slot, transcript.String())
					return
				}
				continue
			}
			data.WriteString(line)
			continue
		}
		upper := strings.ToUpper(cmd)
		normal := "250 2.0.0 ok"
		switch {
		case strings.HasPrefix(upper, "HELO ") || strings.HasPrefix(upper, "EHLO "):
			m.Helo = cmd[5:]
			normal = "250 smtpsink"
		case strings.HasPrefix(upper, "MAIL FROM:"):
			m.From = strings.Trim(cmd[10:], "<>")
		case strings.HasPrefix(upper, "RCPT TO:"):
			m.To = append(m.To, strings.Trim(cmd[8:], "<>"))
		case upper == "DATA":
			inData = true
			normal = "354 end data with <CR><LF>.<CR><LF>"
		case upper == "QUIT":
			normal = "221 2.0.0 bye"
		}
		ok := reply(cmd, normal)
		if upper == "QUIT" || !ok {
			s.finish(slot, transcript.String())
			return
		}
	}
}

// accept1 reserves the place of an accepted mail.
func (s *Sink) accept1(m *Mail) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mails = append(s.mails, m)
	s.done = append(s.done, false)
	return len(s.mails) - 1
}

// finish completes the mail of slot (if any) with the session transcript.
func (s *Sink) finish(slot int, transcript string) {
	if slot < 0 {
		return
	}
	s.mu.Lock()
	s.mails[slot].Transcript = transcript
	s.done[slot] = true
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}
