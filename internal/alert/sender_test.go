package alert

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// logRecorder collects a Sender's log lines.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) logf(level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+": "+msg)
}

func (l *logRecorder) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func TestSenderDeliversAndDrains(t *testing.T) {
	sink := startSink(t, nil)
	var logs logRecorder
	s := NewSender(logs.logf)
	for i := 0; i < 5; i++ {
		m := testMessage()
		m.Data = []byte("Subject: " + string(rune('a'+i)) + "\r\n\r\n")
		if !s.Enqueue(Delivery{Addr: sink.Addr, Step: 5 * time.Second, Msg: m}) {
			t.Fatal("enqueue refused")
		}
	}
	if dropped := s.Close(10 * time.Second); dropped != 0 {
		t.Errorf("dropped %d", dropped)
	}
	// The sink records a mail once it has answered QUIT: poll.
	mails, err := sink.WaitMails(5, 10*time.Second)
	if err != nil {
		t.Fatalf("%v; log:\n%s", err, logs.text())
	}
	for i, m := range mails {
		if want := "Subject: " + string(rune('a'+i)) + "\r\n\r\n"; m.Data != want {
			t.Errorf("mail %d: %q, want %q (in order)", i, m.Data, want)
		}
	}
	if s.Enqueue(Delivery{Addr: sink.Addr, Msg: testMessage()}) {
		t.Error("enqueue accepted after Close")
	}
	if !strings.Contains(logs.text(), "dropped: shutting down") {
		t.Errorf("log: %s", logs.text())
	}
}

func TestSenderLogsFailures(t *testing.T) {
	bad := startSink(t, on("RCPT", "550 5.1.1 unknown user"))
	good := startSink(t, nil)
	var logs logRecorder
	s := NewSender(logs.logf)
	var got error
	s.Enqueue(Delivery{Addr: bad.Addr, Step: 5 * time.Second, Msg: testMessage(), Done: func(err error) { got = err }})
	s.Enqueue(Delivery{Addr: good.Addr, Step: 5 * time.Second, Msg: testMessage()})
	s.Close(10 * time.Second)
	want := "err: mail alert not sent: SMTP server " + bad.Addr + `: RCPT TO:<a@example.org> answered "550 5.1.1 unknown user", expected 250`
	if logs.text() != want {
		t.Errorf("log:\n%s\nwant\n%s", logs.text(), want)
	}
	if got == nil {
		t.Error("Done got no error")
	}
	if _, err := good.WaitMails(1, 10*time.Second); err != nil {
		t.Error("a failure stopped the next mail:", err)
	}
}

func TestSenderQueueBound(t *testing.T) {
	release := make(chan struct{})
	sink := startSink(t, func(line string) string {
		if line == "" {
			<-release // hold the first session: the queue fills behind it
		}
		return ""
	})
	var logs logRecorder
	s := NewSender(logs.logf)
	accepted := 0
	for i := 0; i < QueueLen+10; i++ {
		if s.Enqueue(Delivery{Addr: sink.Addr, Step: 5 * time.Second, Msg: testMessage()}) {
			accepted++
		}
	}
	// One is in progress (or about to be), QueueLen wait.
	if accepted < QueueLen || accepted > QueueLen+1 {
		t.Errorf("accepted %d, want %d or %d", accepted, QueueLen, QueueLen+1)
	}
	if !strings.Contains(logs.text(), "dropped: 256 mails already waiting") {
		t.Errorf("no drop logged: %s", logs.text())
	}
	close(release)
	s.Close(30 * time.Second)
	if mails, err := sink.WaitMails(accepted, 10*time.Second); err != nil || len(mails) != accepted {
		t.Errorf("%d mails delivered, %d accepted (%v)", len(mails), accepted, err)
	}
}

func TestSenderCloseDeadline(t *testing.T) {
	sink := startSink(t, on("DATA", "hang"))
	var logs logRecorder
	s := NewSender(logs.logf)
	for i := 0; i < 3; i++ {
		s.Enqueue(Delivery{Addr: sink.Addr, Step: time.Minute, Msg: testMessage()})
	}
	start := time.Now()
	dropped := s.Close(300 * time.Millisecond)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v", took)
	}
	if dropped != 3 {
		t.Errorf("dropped %d, want 3 (one cut, two never started)", dropped)
	}
	if !strings.Contains(logs.text(), "gave up waiting for the reply to DATA: shutdown deadline reached") ||
		!strings.Contains(logs.text(), "3 mail alert(s) not sent: shutdown deadline (300ms) reached") {
		t.Errorf("log:\n%s", logs.text())
	}
}

func TestSenderTotalTimeout(t *testing.T) {
	sink := startSink(t, func(line string) string {
		time.Sleep(80 * time.Millisecond) // every step in time, the whole too slow
		return ""
	})
	var logs logRecorder
	s := NewSender(logs.logf)
	s.Enqueue(Delivery{Addr: sink.Addr, Step: time.Second, Total: 200 * time.Millisecond, Msg: testMessage()})
	s.Close(10 * time.Second)
	if !strings.Contains(logs.text(), "the whole session took longer than 200ms") {
		t.Errorf("log:\n%s", logs.text())
	}
}

// TestSenderRecovers checks that a panic while sending is logged and the
// next mail still goes.
func TestSenderRecovers(t *testing.T) {
	sink := startSink(t, nil)
	var logs logRecorder
	s := NewSender(logs.logf)
	s.Enqueue(Delivery{Addr: sink.Addr, Step: time.Second, Msg: nil})
	s.Enqueue(Delivery{Addr: sink.Addr, Step: time.Second, Msg: testMessage()})
	s.Close(10 * time.Second)
	if !strings.Contains(logs.text(), "internal error sending to SMTP server "+sink.Addr) {
		t.Errorf("log:\n%s", logs.text())
	}
	if _, err := sink.WaitMails(1, 10*time.Second); err != nil {
		t.Error("the mail after the panic was not sent:", err)
	}
}
