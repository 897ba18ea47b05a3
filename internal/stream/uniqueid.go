package stream

import (
	"net"
	"time"

	"dhproxy/internal/logging"
	"dhproxy/internal/sample"
)

// unique-id-format: each request gets an id built from the frontend's
// format when it arrives; the unique-id fetch, %ID and unique-id-header
// read it.

func init() {
	sample.RegisterFetch(&sample.FetchDef{
		Name: "unique-id", Out: sample.TypeStr, Phases: sample.PhaseReq | sample.PhaseRes,
		Needs: "an HTTP request",
		Fn: func(t sample.Txn, _ *sample.Args, _ *sample.Iter, v *sample.Value) bool {
			s, ok := t.(*httpSession)
			if !ok || len(s.tx.UID) == 0 {
				return false
			}
			v.SetStr(s.tx.UID)
			return true
		},
	})
}

// uniqueID builds the request's id into s.tx.UID.
func (s *httpSession) uniqueID() {
	now := time.Now()
	e := s.logEntry()
	*e = logging.Entry{
		ClientIP: s.clientIP, ClientPort: s.clientPort,
		Accept: s.accept, ReqStart: s.lg.start,
		Frontend: s.fe.P.Name,
		TR:       -1, Tw: -1, Tc: -1, Tr: -1, Ta: -1, Tt: -1, Status: -1,
		Term:  [4]byte{'-', '-', '-', '-'},
		Proto: s.lg.proto, HTTP: true,
		Txn: s, V: &s.tx.V, ReqID: s.reqID,
	}
	if e.Accept.IsZero() {
		e.Accept = now
	}
	if e.ReqStart.IsZero() {
		e.ReqStart = now
	}
	if la, ok := s.c.LocalAddr().(*net.TCPAddr); ok {
		e.FrontendIP, e.FrontendPort = la.AddrPort().Addr(), la.Port
	}
	s.tx.UID = logging.AppendFormat(s.tx.UID[:0], s.fe.P.UniqueIDFormat, e)
}
