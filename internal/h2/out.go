package h2

import (
	"runtime"
	"time"
)

// The frames of a connection are gathered in one buffer (link.out). On
// the client side (Conn) they are written by the connection's flusher
// goroutine: the responses that become ready together (streams woken by
// their servers in one scheduler round) leave in one system call, as
// haproxy sends them, instead of one write per stream. The server side
// (ClientConn) has no flusher: its flush writes at once, its requests
// being sent as the pipeline makes them. Frame order is the order the
// frames were buffered in, as with a synchronous writer.

// syncFlushAt is what may wait in the buffer: beyond it the writer
// flushes itself, which makes a peer that does not read hold its
// streams back (the write timeout) instead of growing the buffer.
const syncFlushAt = 32 << 10

// spareKeepMax bounds the capacity of a buffer kept for the next batch
// (an idle connection keeps two).
const spareKeepMax = 16 << 10

// outBuf is the framer's writer: frames are appended under wmu.
type outBuf struct{ b []byte }

func (o *outBuf) Write(p []byte) (int, error) {
	o.b = append(o.b, p...)
	return len(p), nil
}

// flush has what is buffered sent; the caller holds wmu. Without a
// flusher, or beyond syncFlushAt, it is written now; else the flusher
// sends it (soon, with what other streams add meanwhile). The error is
// the connection's last write failure.
func (l *link) flush() error {
	if l.kick == nil || len(l.out.b) >= syncFlushAt {
		return l.flushNow(l.writeTimeout)
	}
	if len(l.out.b) > 0 && !l.promised {
		l.promised = true
		select {
		case l.kick <- struct{}{}:
		default: // the flusher has been kicked already
		}
	}
	return l.writeErr()
}

// promise is flush for a stream's worker that ends its stream next: the
// worker sends the batch itself once it is done (sendPromised), instead
// of waking the flusher (a wake-up and a park per batch). true: the
// caller owes that send. The caller holds wmu.
func (l *link) promise() bool {
	if l.kick == nil || len(l.out.b) >= syncFlushAt {
		l.flushNow(l.writeTimeout)
		return false
	}
	if len(l.out.b) == 0 || l.promised {
		return false // nothing to send, or whoever promised sends it
	}
	l.promised = true
	return true
}

// sendPromised sends the batch promised by promise, once the streams that
// are ready to run have added their frames.
func (l *link) sendPromised() {
	runtime.Gosched()
	l.sendBatch()
}

// flushNow writes what is buffered before returning, within timeout;
// the caller holds wmu.
func (l *link) flushNow(timeout time.Duration) error {
	if len(l.out.b) == 0 {
		return l.writeErr()
	}
	l.sockMu.Lock()
	err := l.write(l.out.b, timeout)
	l.out.b = l.out.b[:0]
	l.promised = false
	if cap(l.out.b) > spareKeepMax {
		l.out.b = nil
	}
	l.sockMu.Unlock()
	return err
}

// sendBatch writes what the streams have buffered so far.
func (l *link) sendBatch() {
	l.wmu.Lock()
	if len(l.out.b) == 0 {
		l.promised = false
		l.wmu.Unlock()
		return
	}
	// sockMu is taken before wmu is let go: a writer flushing
	// synchronously meanwhile cannot send its later frames first.
	l.sockMu.Lock()
	batch := l.out.b
	l.out.b = l.spare[:0]
	l.promised = false // frames buffered from now on need a new send
	l.wmu.Unlock()
	l.write(batch, l.writeTimeout)
	if cap(batch) <= spareKeepMax {
		l.spare = batch[:0]
	} else {
		l.spare = nil
	}
	l.sockMu.Unlock()
}

// flusher writes the buffered frames each time it is kicked, until done
// is closed; it also starts the graceful end of a soft stop.
func (cc *Conn) flusher(done <-chan struct{}) {
	stop := cc.cfg.Stop
	for {
		select {
		case <-cc.kick:
		case <-stop:
			stop = nil
			cc.shutdown() // kicks again
			continue
		case <-done:
			return
		}
		// The streams that are ready to run add their frames first.
		runtime.Gosched()
		cc.sendBatch()
	}
}

// write sends b to the peer within timeout (0: none); the caller holds
// sockMu. A peer that stops reading its socket gets the write timeout
// (timeout client or server) to drain it, after which the connection is
// closed (every stream then fails): a failure stays the answer of every
// later flush.
func (l *link) write(b []byte, timeout time.Duration) error {
	if err := l.writeErr(); err != nil {
		return err
	}
	// A coarse deadline, as the HTTP/1 side's: time.Now and a timer
	// update per batch were 0.5 % of an HTTP/2 stream's CPU.
	l.wdl.Write(l.c, timeout)
	_, err := l.sock.Write(b)
	if err != nil {
		failure := err
		l.werr.Store(&failure)
		l.c.Close()
	}
	return err
}

func (l *link) writeErr() error {
	if p := l.werr.Load(); p != nil {
		return *p
	}
	return nil
}
