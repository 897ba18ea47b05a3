package stream

import (
	"time"

	"dhproxy/internal/acl"
	"dhproxy/internal/conn"
	"dhproxy/internal/model"
	"dhproxy/internal/sample"
	"dhproxy/internal/stick"
)

// Stick rules, as HAProxy runs them: before the balancer, the "stick on"
// and "stick match" rules look their key up in order; the first entry found
// whose server is up chooses the server (a cookie chosen one wins over it).
// The keys of "stick on" and "stick store-request" rules are taken at the
// same time and written to their tables, pointing at the server, once it
// answered (mode http: the response head; mode tcp: the connection) — a
// client whose server went down is balanced elsewhere and its entry
// follows it there.

// stickRule is a stick rule ready for the request path.
type stickRule struct {
	match, store bool
	expr         *sample.Expr
	cond         *acl.Cond // nil: always (only mode http has conditions)
	table        *stick.Table
}

// maxStickStores is how many store rules one request applies (HAProxy's
// limit, the size of its stream's store array).
const maxStickStores = 8

// stickState is what the stick rules found for one request.
type stickState struct {
	srv    *Server // server the table named, nil: none
	keys   []byte  // keys to store, back to back
	stores [maxStickStores]stickStore
	n      int
}

type stickStore struct {
	table      *stick.Table
	start, end int
}

// newStickTables builds one table per section declaring "stick-table".
func newStickTables(cfg *model.Config) map[*model.Proxy]*stick.Table {
	ts := map[*model.Proxy]*stick.Table{}
	for _, p := range append(cfg.PeerTables(), cfg.Proxies...) {
		if t := p.StickTable; t != nil {
			c := stick.Config{Len: t.Len, Size: t.Size, Expire: t.Expire, NoPurge: t.NoPurge, Store: t.Store, Period: t.Period, Elems: t.Elems}
			switch t.Type {
			case "ip":
				c.Type = stick.IP
			case "ipv6":
				c.Type = stick.IPv6
			case "integer":
				c.Type = stick.Integer
			default:
				c.Type = stick.String
			}
			ts[p] = stick.New(c)
		}
	}
	return ts
}

func (b *Backend) setStickRules(rules []model.StickRule, tables map[*model.Proxy]*stick.Table) {
	for _, r := range rules {
		if t := tables[r.TableProxy]; t != nil {
			t.StoreServerIDs()
			b.stick = append(b.stick, stickRule{match: r.Match, store: r.Store, expr: r.Expr, cond: r.Cond, table: t})
		}
	}
}

// serverByID returns the backend's server with numeric id id, or nil.
func (b *Backend) serverByID(id int) *Server {
	for _, s := range b.ServerList() {
		if s.Conf.ID == id {
			return s
		}
	}
	return nil
}

// stickKey appends the table key of e's sample to dst: an address as the
// table stores addresses, anything else as text. v is the caller's
// long-lived value slot.
func stickKey(t *stick.Table, e *sample.Expr, tx sample.Txn, v *sample.Value, dst []byte) ([]byte, bool) {
	if !e.Eval(tx, v) {
		return dst, false
	}
	if v.Type == sample.TypeIP {
		return t.AppendAddr(dst, v.IP)
	}
	if !sample.Cast(v, sample.TypeStr, tx.Scratch()) {
		return dst, false
	}
	return t.AppendString(dst, v.Bytes)
}

// stickRequest runs the backend's stick rules for a request: st receives
// the matched server, if any, and the keys to store. It reads the request
// before its buffer is reused, and allocates nothing once st.keys has grown.
// force (force-persist) lets a match name a DOWN server.
func (b *Backend) stickRequest(st *stickState, tx sample.Txn, v *sample.Value, as *acl.State, now time.Time, force bool) {
	st.srv, st.n, st.keys = nil, 0, st.keys[:0]
rules:
	for i := range b.stick {
		r := &b.stick[i]
		if r.cond != nil && !r.cond.Match(tx, as) {
			continue
		}
		// Once a table has a key to store, later rules on it are skipped:
		// configurations list keys by decreasing precision, as HAProxy's
		// manual explains (a header first, then the source).
		for j := range st.n {
			if st.stores[j].table == r.table {
				continue rules
			}
		}
		start := len(st.keys)
		var ok bool
		st.keys, ok = stickKey(r.table, r.expr, tx, v, st.keys)
		if !ok {
			continue
		}
		if r.match {
			// A found entry is touched (its expiry pushed back) even when
			// an earlier rule already chose the server.
			if id, found := r.table.Lookup(st.keys[start:], now); found && st.srv == nil {
				if s := b.serverByID(id); s != nil && (force || s.Up()) {
					st.srv = s
				}
			}
		}
		if r.store && st.n < maxStickStores {
			st.stores[st.n] = stickStore{table: r.table, start: start, end: len(st.keys)}
			st.n++
		} else {
			st.keys = st.keys[:start]
		}
	}
}

// commit writes the request's store keys, pointing at srv, which now
// holds the request ("non-stick" servers are never stored).
func (st *stickState) commit(srv *Server, now time.Time) {
	if srv == nil || srv.nonStick || st.n == 0 {
		return
	}
	for i := range st.n {
		s := &st.stores[i]
		s.table.Store(st.keys[s.start:s.end], srv.Conf.ID, now)
	}
	st.n = 0
}

// coarseTime is the coarse clock as a time, for table expiry.
func coarseTime() time.Time { return time.Unix(0, conn.CoarseNow()) }

// exprHash hashes the sample of "balance hash <expr>" as HAProxy does: an
// address as its 4 or 16 bytes, anything else as its binary form.
func (b *Backend) exprHash(tx sample.Txn, v *sample.Value) hashKey {
	if !b.hashExpr.Eval(tx, v) || !sample.Cast(v, sample.TypeBin, tx.Scratch()) {
		return hashKey{}
	}
	return hashKey{b.hash.Key(v.Bytes), true}
}
