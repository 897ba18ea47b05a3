package stream

import (
	"time"

	"dhproxy/internal/conn"
)

// Parking of idle keep-alive connections (conn.Parker): a connection idle
// for parkAfter leaves its worker, keeping only a parkedConn.
var (
	parkAfter  = 200 * time.Millisecond
	sweepEvery = 50 * time.Millisecond // tests shorten both
)

const (
	// maxIdleWorkers bounds the goroutines kept waiting for work: beyond it
	// a worker whose session parked or ended exits, and its stack goes back.
	maxIdleWorkers = 256
	// maxFirstWaits bounds the sessions waiting for their client's second
	// request: beyond it a new keep-alive client parks after its first
	// response (a burst's idle clients hold no goroutine).
	maxFirstWaits = 32
)

// newParker parks rt's idle connections; a woken one goes to a worker.
func newParker(rt *Runtime) (*conn.Parker[parkedConn], error) {
	return conn.NewParker(conn.ParkOptions[parkedConn]{
		After: parkAfter, Every: sweepEvery, MaxWaiting: maxIdleWorkers, MaxFirstWaits: maxFirstWaits, Done: rt.done,
		Wake: func(pc *parkedConn, expired bool) {
			pc.expired = expired
			rt.dispatch(job{fe: pc.fe, c: pc.conn(), resume: pc})
		},
	})
}

// parkIO returns the descriptor I/O of a session's connection that can
// park: the session's own for a plain connection, the TLS transport's for a
// TLS one; nil when it cannot park. A TLS connection parks keeping its
// tls.Conn: it is only asked to park after a read of it timed out, and
// tls.Conn reads from the socket only once it holds no complete record, so
// nothing it read ahead waits unseen (a partial record's rest is still to
// come, and wakes the parked connection).
func (s *httpSession) parkIO() *conn.FD {
	if s.cfd != nil {
		return s.cfd
	}
	return conn.TLSFD(s.c)
}
