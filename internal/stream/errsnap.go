package stream

import (
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"dhproxy/internal/http1"
)

// ErrorSnapshot is the last invalid request a frontend received or the
// last invalid response a backend got, as "show errors" shows them: a copy
// of the bytes and where parsing stopped.
type ErrorSnapshot struct {
	When     time.Time
	Event    uint64 // the process's error count before this one
	Response bool
	Frontend *Frontend
	Backend  *Backend // nil: none chosen yet
	Server   *Server  // nil: none
	Client   netip.AddrPort
	Data     []byte
	Pos      int // offset of the error in Data
	BufSize  int // tune.bufsize
}

// errorSnapshots holds a proxy's last errors; the request path stores a
// new snapshot, which only happens on an error.
type errorSnapshots struct {
	req, resp atomic.Pointer[ErrorSnapshot]
}

// errorPos is where err says parsing failed, else the end of data.
func errorPos(err error, data []byte) int {
	var he *http1.Error
	if errors.As(err, &he) && he.Pos >= 0 && he.Pos <= len(data) {
		return he.Pos
	}
	return len(data)
}

// captureError records an invalid request (srv nil) or response of s.
func (s *httpSession) captureError(response bool, be *Backend, srv *Server, data []byte, pos int) {
	rt := s.fe.rt
	snap := &ErrorSnapshot{When: time.Now(), Event: rt.errorEvents.Add(1) - 1, Response: response,
		Frontend: s.fe, Backend: be, Server: srv, Client: netip.AddrPortFrom(s.clientIP, uint16(s.clientPort)),
		Data: append([]byte(nil), data...), Pos: pos, BufSize: rt.cfg.Global.BufSize}
	if response && be != nil {
		be.errors.resp.Store(snap)
	} else {
		s.fe.errors.req.Store(snap)
	}
}

// ErrorCount is the number of invalid requests and responses seen.
func (rt *Runtime) ErrorCount() uint64 { return rt.errorEvents.Load() }

// LastErrors returns the last invalid request of fe (when it is not nil)
// and the last invalid response of be (when it is not nil).
func LastErrors(fe *Frontend, be *Backend) (req, resp *ErrorSnapshot) {
	if fe != nil {
		req = fe.errors.req.Load()
	}
	if be != nil {
		resp = be.errors.resp.Load()
	}
	return req, resp
}
