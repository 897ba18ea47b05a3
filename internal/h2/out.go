package h2

import (
	"runtime"
	"time"
)

// The frames of a connection's streams are gathered in one buffer and
// written by the connection's flusher goroutine: the responses that
// become ready together (streams woken by their servers in one scheduler
// round) leave in one system call, as haproxy sends them, instead of one
// write per stream. Frame order is the order the frames were buffered
// in, as with a synchronous writer.

// syncFlushAt is what may wait in the buffer: beyond it the writer
// flushes itself, which makes a client that does not read hold its
// streams back (timeout client) instead of growing the buffer.
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

// flush has what is buffered sent; the caller holds wmu. Below
// syncFlushAt the flusher sends it (soon, with what other streams add
// meanwhile); above, it is written now. The error is the connection's
// last write failure.
func (cc *Conn) flush() error {
	if len(cc.out.b) >= syncFlushAt {
		return cc.flushNow(cc.cfg.WriteTimeout)
	}
	if len(cc.out.b) > 0 {
		select {
		case cc.kick <- struct{}{}:
		default: // the flusher has been kicked already
		}
	}
	return cc.writeErr()
}

// flushNow writes what is buffered before returning, within timeout;
// the caller holds wmu.
func (cc *Conn) flushNow(timeout time.Duration) error {
	if len(cc.out.b) == 0 {
		return cc.writeErr()
	}
	cc.sockMu.Lock()
	err := cc.write(cc.out.b, timeout)
	cc.out.b = cc.out.b[:0]
	if cap(cc.out.b) > spareKeepMax {
		cc.out.b = nil
	}
	cc.sockMu.Unlock()
	return err
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
		cc.wmu.Lock()
		if len(cc.out.b) == 0 {
			cc.wmu.Unlock()
			continue
		}
		// sockMu is taken before wmu is let go: a writer flushing
		// synchronously meanwhile cannot send its later frames first.
		cc.sockMu.Lock()
		batch := cc.out.b
		cc.out.b = cc.spare[:0]
		cc.wmu.Unlock()
		cc.write(batch, cc.cfg.WriteTimeout)
		if cap(batch) <= spareKeepMax {
			cc.spare = batch[:0]
		} else {
			cc.spare = nil
		}
		cc.sockMu.Unlock()
	}
}

// write sends b to the client within timeout (0: none); the caller
// holds sockMu. A client that stops reading its socket gets "timeout
// client" to drain it, after which the connection is closed (every
// stream then fails): a failure stays the answer of every later flush.
func (cc *Conn) write(b []byte, timeout time.Duration) error {
	if err := cc.writeErr(); err != nil {
		return err
	}
	if t := timeout; t > 0 {
		cc.c.SetWriteDeadline(time.Now().Add(t))
	}
	_, err := cc.c.Write(b)
	if err != nil {
		failure := err
		cc.werr.Store(&failure)
		cc.c.Close()
	}
	return err
}

func (cc *Conn) writeErr() error {
	if p := cc.werr.Load(); p != nil {
		return *p
	}
	return nil
}
