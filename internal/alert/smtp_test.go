package alert

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/alert/smtpsink"
)

func startSink(t *testing.T, respond func(string) string) *smtpsink.Sink {
	t.Helper()
	s, err := smtpsink.Start(respond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func testMessage() *Message {
	return &Message{Helo: "lb1", From: "lb@example.org", To: []string{"a@example.org", "b@example.org"},
		Data: []byte("Subject: hi\r\n\r\nbody\r\n\r\n")}
}

func TestSendTranscript(t *testing.T) {
	sink := startSink(t, nil)
	if err := Send(context.Background(), sink.Addr, testMessage(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	mails, err := sink.WaitMails(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := "HELO lb1\r\nMAIL FROM:<lb@example.org>\r\nRCPT TO:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n" +
		"Subject: hi\r\n\r\nbody\r\n\r\n.\r\nQUIT\r\n"
	if got := mails[0].Transcript; got != want {
		t.Errorf("transcript:\n%q\nwant\n%q", got, want)
	}
}

func TestSendDotStuffing(t *testing.T) {
	sink := startSink(t, nil)
	m := testMessage()
	m.Data = []byte(".starts with a dot\r\nmiddle\r\n.\r\nno final newline")
	if err := Send(context.Background(), sink.Addr, m, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	mails, err := sink.WaitMails(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := "..starts with a dot\r\nmiddle\r\n..\r\nno final newline\r\n"; mails[0].Data != want {
		t.Errorf("data %q, want %q", mails[0].Data, want)
	}
}

// TestSendMultiLineReplies checks that continuation lines are skipped up to
// the last line, whose code counts.
func TestSendMultiLineReplies(t *testing.T) {
	sink := startSink(t, func(line string) string {
		switch {
		case line == "":
			return "220-mx.example.org ESMTP\r\n220-second line\r\n220 ready"
		case strings.HasPrefix(line, "HELO"):
			return "250-mx.example.org\r\n250 PIPELINING"
		case strings.HasPrefix(line, "RCPT"):
			return "251 user not local; will forward"
		}
		return ""
	})
	if err := Send(context.Background(), sink.Addr, testMessage(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestSendBadServers(t *testing.T) {
	step := 300 * time.Millisecond
	cases := []struct {
		name    string
		respond func(string) string
		want    string
	}{
		{"greeting refused", on("", "554 5.3.2 no service"), `the greeting answered "554 5.3.2 no service", expected 220`},
		{"HELO refused", on("HELO", "501 bad HELO"), `HELO answered "501 bad HELO", expected 250`},
		{"sender refused", on("MAIL", "550 5.7.1 sender rejected"), `MAIL FROM answered "550 5.7.1 sender rejected", expected 250`},
		{"second recipient refused", on("RCPT TO:<b@", "550 5.1.1 no such user"), `RCPT TO:<b@example.org> answered "550 5.1.1 no such user", expected 250`},
		{"DATA refused", on("DATA", "503 5.5.1 no valid recipients"), `DATA answered "503 5.5.1 no valid recipients", expected 354`},
		{"message refused", on(".", "452 4.3.1 mailbox full"), `the message answered "452 4.3.1 mailbox full", expected 250`},
		{"multi-line refusal", on("MAIL", "550-first\r\n550 second"), `MAIL FROM answered "550-first / 550 second"`},
		{"closed after greeting", on("HELO", "close"), "connection closed by the server while waiting for the reply to HELO"},
		{"closed at once", on("", "close"), "connection closed by the server while waiting for the reply to the greeting"},
		{"silent at DATA", on("DATA", "hang"), "timeout (300ms) waiting for the reply to DATA"},
		{"silent greeting", on("", "hang"), "timeout (300ms) waiting for the reply to the greeting"},
		{"junk reply", on("HELO", "hello there"), `malformed reply to HELO: "hello there"`},
		{"short code", on("HELO", "25"), `malformed reply to HELO: "25"`},
		{"code with junk separator", on("HELO", "250+ok"), `malformed reply to HELO: "250+ok"`},
		{"binary junk", on("", "\x00\xff\x01"), `malformed reply to the greeting`},
		{"overlong line", on("", "220 "+strings.Repeat("x", 5000)), `malformed reply to the greeting: "220 xxxx`},
		{"endless continuation", on("", strings.Repeat("220-x\r\n", 150)+"220 ok"), "more than 100 continuation lines"},
		{"NUL inside the text", on("HELO", "250 partial\x00"), ""}, // a NUL is text: accepted
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink := startSink(t, c.respond)
			start := time.Now()
			err := Send(context.Background(), sink.Addr, testMessage(), step)
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %v", took)
			}
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", c.want)
			}
			if !strings.HasPrefix(err.Error(), "SMTP server "+sink.Addr+": ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q\nwant it to name %s and contain %q", err, sink.Addr, c.want)
			}
		})
	}
}

// on answers reply to the command starting with prefix ("" is the
// greeting, "." the end of the message).
func on(prefix, reply string) func(string) string {
	return func(line string) string {
		if prefix == "" && line == "" || prefix != "" && strings.HasPrefix(line, prefix) {
			return reply
		}
		return ""
	}
}

func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = Send(context.Background(), addr, testMessage(), time.Second)
	if err == nil || err.Error() != "SMTP server "+addr+": connect: connection refused" {
		t.Errorf("error %v", err)
	}
}

// TestSendSessionDeadline checks that the context bounds the session even
// when each step is in time (a server trickling continuation lines).
func TestSendSessionDeadline(t *testing.T) {
	sink := startSink(t, func(line string) string {
		if line == "" {
			time.Sleep(100 * time.Millisecond)
			return "220-slow"
		}
		return ""
	})
	ctx, cancel := context.WithTimeoutCause(context.Background(), 50*time.Millisecond, errTestDeadline)
	defer cancel()
	err := Send(ctx, sink.Addr, testMessage(), 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "gave up waiting for the reply to the greeting: test deadline") {
		t.Errorf("error %v", err)
	}
}

var errTestDeadline = errors.New("test deadline")
