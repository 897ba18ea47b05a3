package alert

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// QueueLen bounds the mails waiting for the sender: a flapping server with
// a dead mail server would otherwise pile up mails (and memory) forever.
const QueueLen = 256

// Delivery is one message for one SMTP server.
type Delivery struct {
	Addr string        // host:port
	Step time.Duration // per-step timeout (keepalived's smtp_connect_timeout)
	// Total bounds the whole session (HAProxy's "timeout mail"); 0: none.
	Total time.Duration
	Msg   *Message
	// Done, when set, is called with the result, from the sender goroutine.
	Done func(error)
}

// Sender delivers mails in the background, one at a time, so that the
// state machines raising alerts never wait for a mail server.
type Sender struct {
	logf func(level, msg string)

	mu     sync.Mutex
	closed bool
	q      chan Delivery

	ctx    context.Context // ended by Close when the drain deadline passes
	cancel context.CancelCauseFunc
	done   chan struct{}

	droppedAtClose int // written by run before done closes
}

// NewSender starts the sender goroutine. logf receives delivery failures
// ("err") and dropped mails ("warning"); nil discards them.
func NewSender(logf func(level, msg string)) *Sender {
	if logf == nil {
		logf = func(string, string) {}
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &Sender{logf: logf, q: make(chan Delivery, QueueLen), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go s.run()
	return s
}

// Enqueue queues d without blocking. It reports false, and logs, when the
// queue is full or the sender is closed.
func (s *Sender) Enqueue(d Delivery) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.logf("warning", fmt.Sprintf("mail alert to SMTP server %s dropped: shutting down", d.Addr))
		return false
	}
	select {
	case s.q <- d:
		return true
	default:
		s.logf("warning", fmt.Sprintf("mail alert to SMTP server %s dropped: %d mails already waiting", d.Addr, QueueLen))
		return false
	}
}

// errShutdown is the cause given to sessions cut by Close's deadline.
var errShutdown = errors.New("shutdown deadline reached")

// Close stops accepting mails and waits until the queued ones are sent or
// the deadline passes; then the session in progress is cut and the rest
// dropped. It returns the number of mails not sent.
func (s *Sender) Close(deadline time.Duration) (dropped int) {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.q)
	}
	s.mu.Unlock()
	t := time.NewTimer(deadline)
	defer t.Stop()
	select {
	case <-s.done:
		return 0
	case <-t.C:
	}
	s.cancel(errShutdown)
	<-s.done
	dropped = s.droppedAtClose
	if dropped > 0 {
		s.logf("warning", fmt.Sprintf("%d mail alert(s) not sent: shutdown deadline (%v) reached", dropped, deadline))
	}
	return dropped
}

// run is the sender goroutine; droppedAtClose is written here before done
// closes and read by Close after.
func (s *Sender) run() {
	defer close(s.done)
	for d := range s.q {
		if s.ctx.Err() != nil {
			s.droppedAtClose++
			if d.Done != nil {
				d.Done(context.Cause(s.ctx))
			}
			continue
		}
		if err := s.deliver(d); err != nil {
			if s.ctx.Err() != nil {
				s.droppedAtClose++
			}
			s.logf("err", "mail alert not sent: "+err.Error())
		}
	}
}

// deliver sends one mail; a panic is logged and the next mail goes on.
func (s *Sender) deliver(d Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error sending to SMTP server %s: %v\n%s", d.Addr, r, debug.Stack())
		}
		if d.Done != nil {
			d.Done(err)
		}
	}()
	ctx := s.ctx
	if d.Total > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d.Total, fmt.Errorf("the whole session took longer than %v", d.Total))
		defer cancel()
	}
	return Send(ctx, d.Addr, d.Msg, d.Step)
}
