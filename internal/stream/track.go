package stream

import (
	"time"

	"dhproxy/internal/model"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
	"dhproxy/internal/stick"
)

// Stick counters, as HAProxy keeps them: a track-sc rule points counter N
// at a table entry. http-request (and http-response) trackers last one
// transaction; tcp-request connection ones the whole connection, and each
// request on it counts into them. A tracker starts by counting a
// connection (conn_cur, conn_cnt, conn_rate), an http-request one also
// counts the request; when it ends, denies and 4xx responses of the server
// count as errors, the
// bytes of the transaction as traffic, and conn_cur goes down again.

// scTracker is one stick counter: the table and the entry it tracks.
type scTracker struct {
	t *stick.Table
	e *stick.Entry
}

// trackers are the stick counters of a transaction or connection.
type trackers [rules.MaxSC]scTracker

// tableNamed returns the table of the section named name (a backend's,
// else a frontend's, as the configuration resolves it).
func (rt *Runtime) tableNamed(name []byte) *stick.Table {
	if be := rt.backends[string(name)]; be != nil {
		if t := rt.tables[be.P]; t != nil {
			return t
		}
	}
	for p, t := range rt.tables {
		if p.Name == string(name) {
			return t
		}
	}
	return nil
}

// trackTable is the table of a track-sc rule of section p.
func (rt *Runtime) trackTable(p *model.Proxy, r *rules.Rule) *stick.Table {
	if r.Table == "" {
		return rt.tables[p]
	}
	return rt.tableNamed([]byte(r.Table))
}

// track runs a track-sc rule: counter r.SC follows the entry of the rule's
// key, unless it already tracks one for this transaction (the first rule
// for a counter wins, as in HAProxy). key is the caller's key buffer.
func (tr *trackers) track(t *stick.Table, r *rules.Rule, tx sample.Txn, v *sample.Value, key *[]byte, httpReq bool) {
	sc := &tr[r.SC]
	if sc.e != nil || t == nil {
		return
	}
	k, ok := stickKey(t, r.Expr, tx, v, (*key)[:0])
	*key = k
	if !ok {
		return
	}
	now := coarseTime()
	e := t.Track(k, now)
	if e == nil {
		return
	}
	t.Start(e, now)
	if httpReq {
		t.Count(e, stick.HTTPReqCnt, stick.HTTPReqRate, 1, now)
	}
	*sc = scTracker{t, e}
}

// counter runs sc-inc-gpc0/1/(idx) and sc-set-gpt0/(idx) on the entry counter r.SC
// tracks (the transaction's, else the connection's).
func counterAction(sc *scTracker, r *rules.Rule, tx sample.Txn, v *sample.Value) {
	if sc.e == nil {
		return
	}
	now := coarseTime()
	switch r.Action {
	case rules.IncGPC0:
		sc.t.Count(sc.e, stick.GPC0, stick.GPC0Rate, 1, now)
	case rules.IncGPC1:
		sc.t.Count(sc.e, stick.GPC1, stick.GPC1Rate, 1, now)
	case rules.IncGPC:
		sc.t.CountAt(sc.e, stick.GPC, stick.GPCRate, r.Idx, 1, now)
	case rules.SetGPT0, rules.SetGPT:
		n := r.Int
		if r.Expr != nil {
			if !r.Expr.Eval(tx, v) || !sample.Cast(v, sample.TypeInt, tx.Scratch()) {
				return
			}
			n = v.Int
		}
		d := stick.GPT0
		if r.Action == rules.SetGPT {
			d = stick.GPT
		}
		sc.t.SetGPT(sc.e, d, r.Idx, uint64(n))
	}
}

// countRequest counts a new request into the connection's trackers
// (stream_inc_http_req_ctr, before any http-request rule).
func (tr *trackers) countRequest() {
	now := coarseTime()
	for i := range tr {
		if sc := &tr[i]; sc.e != nil {
			sc.t.Count(sc.e, stick.HTTPReqCnt, stick.HTTPReqRate, 1, now)
		}
	}
}

// badRequest counts a request that failed before the rules (a bad or
// incomplete head, a client that left or timed out before its first
// request) as a request and an error, as HAProxy counts them.
func (tr *trackers) badRequest() {
	now := coarseTime()
	for i := range tr {
		if sc := &tr[i]; sc.e != nil {
			sc.t.Count(sc.e, stick.HTTPReqCnt, stick.HTTPReqRate, 1, now)
			sc.t.Count(sc.e, stick.HTTPErrCnt, stick.HTTPErrRate, 1, now)
		}
	}
}

// countSession counts an accepted connection (session_count_new).
func (tr *trackers) countSession() {
	now := coarseTime()
	for i := range tr {
		if sc := &tr[i]; sc.e != nil {
			sc.t.Count(sc.e, stick.SessCnt, stick.SessRate, 1, now)
		}
	}
}

// countEnd counts a finished transaction's traffic and error into the
// trackers.
func (tr *trackers) countEnd(isErr, isFail bool, in, out int64) {
	now := coarseTime()
	for i := range tr {
		sc := &tr[i]
		if sc.e == nil {
			continue
		}
		if isErr {
			sc.t.Count(sc.e, stick.HTTPErrCnt, stick.HTTPErrRate, 1, now)
		}
		if isFail {
			sc.t.Count(sc.e, stick.HTTPFailCnt, stick.HTTPFailRate, 1, now)
		}
		if in > 0 {
			sc.t.Count(sc.e, stick.BytesInCnt, stick.BytesInRate, uint64(in), now)
		}
		if out > 0 {
			sc.t.Count(sc.e, stick.BytesOutCnt, stick.BytesOutRate, uint64(out), now)
		}
	}
}

// stop ends every tracker.
func (tr *trackers) stop() {
	now := coarseTime()
	for i := range tr {
		if sc := &tr[i]; sc.e != nil {
			sc.t.Stop(sc.e, now)
			*sc = scTracker{}
		}
	}
}

// StickCounter implements stick.Tracker: the transaction's counter n, else
// the connection's.
func (s *httpSession) StickCounter(n int) (*stick.Table, *stick.Entry) {
	if sc := &s.sc[n]; sc.e != nil {
		return sc.t, sc.e
	}
	sc := &s.connSC[n]
	return sc.t, sc.e
}

// StickTable implements stick.Tracker: the named table, or without a name
// the current section's (the backend once chosen, else the frontend).
func (s *httpSession) StickTable(name []byte) *stick.Table {
	if len(name) > 0 {
		return s.fe.rt.tableNamed(name)
	}
	if s.tx.be != nil {
		if t := s.fe.rt.tables[s.tx.be.P]; t != nil {
			return t
		}
	}
	return s.fe.rt.tables[s.fe.P]
}

func (t *tcpTxn) StickCounter(n int) (*stick.Table, *stick.Entry) {
	sc := &t.sc[n]
	return sc.t, sc.e
}

func (t *tcpTxn) StickTable(name []byte) *stick.Table {
	if len(name) > 0 {
		return t.fe.rt.tableNamed(name)
	}
	return t.fe.rt.tables[t.fe.P]
}

// Now implements stick.Tracker: the time counters are read at.
func (s *httpSession) Now() time.Time { return coarseTime() }
func (t *tcpTxn) Now() time.Time      { return coarseTime() }

// counter is stick counter n for an sc-* action: the transaction's, else
// the connection's.
func (s *httpSession) counter(n int) *scTracker {
	if s.sc[n].e != nil {
		return &s.sc[n]
	}
	return &s.connSC[n]
}

// endTracking closes the transaction's stick counters: its outcome and
// traffic count into them and into the connection's.
func (s *httpSession) endTracking(in, out int64) {
	// HAProxy counts a denied request as an error whatever its status, a
	// 4xx response from the server too, but not the proxy's own return or
	// redirect answers.
	isErr := s.tx.Denied || !s.tx.Local && s.lg.status >= 400 && s.lg.status < 500
	// A failure (http_fail_*) is a server's 5xx but 501 and 505, or the
	// proxy's 502/504 for a server that did not answer well.
	st := s.lg.status
	isFail := !s.tx.Denied && !s.tx.Local && s.lg.srv != nil && st >= 500 && st != 501 && st != 505
	s.sc.countEnd(isErr, isFail, in, out)
	s.sc.stop()
	s.connSC.countEnd(isErr, isFail, in, out)
}

// StickTable is a section's table, for the runtime API.
type StickTable struct {
	Name  string
	Table *stick.Table
}

// StickTables lists the tables in the order of their sections.
func (rt *Runtime) StickTables() []StickTable {
	var out []StickTable
	for _, p := range append(rt.cfg.PeerTables(), rt.cfg.Proxies...) {
		if t := rt.tables[p]; t != nil {
			out = append(out, StickTable{p.Name, t})
		}
	}
	return out
}
