package alert

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// Message is one e-mail: the SMTP envelope and the DATA part.
type Message struct {
	Helo string   // the HELO argument
	From string   // MAIL FROM address
	To   []string // one RCPT TO each, in order
	// Data is the headers and body, lines ending in CRLF, without the
	// terminating ".\r\n" (Send adds it and dot-stuffs lines).
	Data []byte
}

// maxReplyLine bounds one reply line; RFC 5321 allows 512 bytes, servers in
// the wild send a little more in EHLO lists.
const maxReplyLine = 4096

// maxReplyLines bounds a multi-line reply, so that a server streaming
// "250-" lines forever cannot hold the sender.
const maxReplyLines = 100

// Send delivers m to the SMTP server at addr (host:port). Every step
// (connect, each reply) must complete within step; ctx bounds the whole
// session. The error names the server and quotes its reply.
//
// The session is HELO, MAIL FROM, one RCPT TO per recipient, DATA, the
// message, QUIT, expecting 220, 250, 250, 250 (or 251), 354, 250, as
// keepalived and HAProxy do. Once the message is accepted the QUIT reply
// no longer matters.
func Send(ctx context.Context, addr string, m *Message, step time.Duration) error {
	d := net.Dialer{Timeout: step}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("SMTP server %s: %w", addr, unwrapOp(err))
	}
	defer conn.Close()
	// Closing the connection when ctx ends interrupts a blocked read.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	s := &session{addr: addr, conn: conn, r: bufio.NewReaderSize(conn, 1024), step: step, ctx: ctx}
	if err := s.expect("the greeting", 220); err != nil {
		return err
	}
	if err := s.cmd("HELO "+m.Helo, "HELO", 250); err != nil {
		return err
	}
	if err := s.cmd("MAIL FROM:<"+m.From+">", "MAIL FROM", 250); err != nil {
		return err
	}
	for _, to := range m.To {
		if err := s.cmd("RCPT TO:<"+to+">", "RCPT TO:<"+to+">", 250, 251); err != nil {
			return err
		}
	}
	if err := s.cmd("DATA", "DATA", 354); err != nil {
		return err
	}
	if err := s.write(dotStuff(m.Data), "the message"); err != nil {
		return err
	}
	if err := s.expect("the message", 250); err != nil {
		return err
	}
	s.cmd("QUIT", "QUIT", 221)
	return nil
}

type session struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
	step time.Duration
	ctx  context.Context
}

// cmd sends line and checks the reply code against want; what names the
// command in errors.
func (s *session) cmd(line, what string, want ...int) error {
	if err := s.write([]byte(line+"\r\n"), what); err != nil {
		return err
	}
	return s.expect(what, want...)
}

func (s *session) write(b []byte, what string) error {
	s.conn.SetWriteDeadline(time.Now().Add(s.step))
	if _, err := s.conn.Write(b); err != nil {
		return s.ioErr(err, "sending "+what)
	}
	return nil
}

// expect reads one (possibly multi-line) reply and checks its code.
func (s *session) expect(what string, want ...int) error {
	s.conn.SetReadDeadline(time.Now().Add(s.step))
	code, text, err := readReply(s.r)
	if err != nil {
		var bad *badReply
		if errors.As(err, &bad) {
			return fmt.Errorf("SMTP server %s: malformed reply to %s: %q", s.addr, what, bad.line)
		}
		return s.ioErr(err, "waiting for the reply to "+what)
	}
	for _, w := range want {
		if code == w {
			return nil
		}
	}
	return fmt.Errorf("SMTP server %s: %s answered %q, expected %d", s.addr, what, text, want[0])
}

func (s *session) ioErr(err error, doing string) error {
	var ne net.Error
	switch {
	case s.ctx.Err() != nil:
		return fmt.Errorf("SMTP server %s: gave up %s: %w", s.addr, doing, context.Cause(s.ctx))
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("SMTP server %s: timeout (%v) %s", s.addr, s.step, doing)
	case errors.Is(err, errEOF):
		return fmt.Errorf("SMTP server %s: connection closed by the server while %s", s.addr, doing)
	}
	return fmt.Errorf("SMTP server %s: %s: %w", s.addr, doing, unwrapOp(err))
}

var errEOF = errors.New("connection closed")

type badReply struct{ line string }

func (b *badReply) Error() string { return "malformed SMTP reply " + b.line }

// readReply reads one reply: lines "NNN-text" followed by a last "NNN text"
// (or a bare "NNN"). It returns the code of the last line and the whole
// reply text (lines joined with " / ").
func readReply(r *bufio.Reader) (int, string, error) {
	var lines []string
	for n := 0; n < maxReplyLines; n++ {
		line, err := readLine(r)
		if err != nil {
			return 0, "", err
		}
		if len(line) < 3 || !isDigits(line[:3]) || len(line) > 3 && line[3] != ' ' && line[3] != '-' {
			return 0, "", &badReply{truncate(line)}
		}
		lines = append(lines, line)
		if len(line) == 3 || line[3] == ' ' {
			code := int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
			return code, truncate(strings.Join(lines, " / ")), nil
		}
	}
	return 0, "", &badReply{fmt.Sprintf("more than %d continuation lines", maxReplyLines)}
}

// readLine returns one line without its CRLF (a bare LF is accepted).
func readLine(r *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxReplyLine {
			return "", &badReply{truncate(string(buf))}
		}
		switch {
		case err == nil:
			return strings.TrimRight(string(buf), "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, os.ErrDeadlineExceeded):
			return "", err
		case len(buf) > 0 && isEOF(err):
			return "", &badReply{truncate(string(buf)) + " (then the connection closed)"}
		case isEOF(err):
			return "", errEOF
		default:
			return "", err
		}
	}
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// dotStuff doubles a leading dot on every line (RFC 5321 4.5.2) and appends
// the terminating ".\r\n".
func dotStuff(data []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(data) + 8)
	start := true
	for _, c := range data {
		if start && c == '.' {
			out.WriteByte('.')
		}
		out.WriteByte(c)
		start = c == '\n'
	}
	if !start {
		out.WriteString("\r\n")
	}
	out.WriteString(".\r\n")
	return out.Bytes()
}

// unwrapOp drops the "dial tcp 127.0.0.1:25:" prefix net.OpError adds, since
// the message already names the server.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
