package stream

import (
	"bytes"
	"net/netip"
	"time"

	"dhproxy/internal/http1"
	"dhproxy/internal/lb"
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
	fetch        sample.Fetch
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
	for _, p := range cfg.Proxies {
		if t := p.StickTable; t != nil {
			c := stick.Config{Len: t.Len, Size: t.Size, Expire: t.Expire, NoPurge: t.NoPurge}
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
			b.stick = append(b.stick, stickRule{match: r.Match, store: r.Store, fetch: r.Fetch, table: t})
		}
	}
}

// serverByID returns the backend's server with numeric id id, or nil.
func (b *Backend) serverByID(id int) *Server {
	for _, s := range b.Servers {
		if s.Conf.ID == id {
			return s
		}
	}
	return nil
}

// sampleSource is what fetches read: the client address and, in mode
// http, the request.
type sampleSource struct {
	src netip.Addr
	req *http1.Request // nil in mode tcp
}

// fetch evaluates f; addr is set for src, else val holds the value. ok is
// false when the request has no such sample.
func (ss *sampleSource) fetch(f sample.Fetch) (addr netip.Addr, val []byte, ok bool) {
	if f.Kind == sample.Src {
		return ss.src, nil, ss.src.IsValid()
	}
	req := ss.req
	if req == nil {
		return addr, nil, false
	}
	switch f.Kind {
	case sample.URL:
		return addr, req.URI, true
	case sample.Path:
		return addr, pathOnly.URIKey(req.URI), true
	case sample.URLParam:
		v, ok := lb.URLParam(req.URI, f.Name)
		return addr, v, ok
	case sample.Hdr:
		v, ok := lastHeaderValue(req, f.Name)
		return addr, v, ok
	case sample.ReqCook:
		v, ok := cookieValue(req, f.Name, true)
		return addr, v, ok
	}
	return addr, nil, false
}

// pathOnly reduces a request target to its path, as the "path" fetch.
var pathOnly = lb.HashSpec{PathOnly: true}

// lastHeaderValue is hdr(name): the last comma-separated value of the last
// occurrence of the header.
func lastHeaderValue(req *http1.Request, name string) ([]byte, bool) {
	var v []byte
	found := false
	for i := range req.Headers {
		if h := &req.Headers[i]; http1.EqualFold(h.Name, name) {
			v, found = h.Value, true
		}
	}
	if !found {
		return nil, false
	}
	if j := bytes.LastIndexByte(v, ','); j >= 0 {
		v = v[j+1:]
	}
	return bytes.Trim(v, " \t"), true
}

// key appends the table key of f's sample to dst.
func (ss *sampleSource) key(t *stick.Table, f sample.Fetch, dst []byte) ([]byte, bool) {
	addr, val, ok := ss.fetch(f)
	if !ok {
		return dst, false
	}
	if f.Kind == sample.Src {
		return t.AppendAddr(dst, addr)
	}
	return t.AppendString(dst, val)
}

// stickRequest runs the backend's stick rules for a request: st receives
// the matched server, if any, and the keys to store. It reads the request
// before its buffer is reused, and allocates nothing once st.keys has grown.
func (b *Backend) stickRequest(st *stickState, ss *sampleSource, now time.Time) {
	st.srv, st.n, st.keys = nil, 0, st.keys[:0]
rules:
	for i := range b.stick {
		r := &b.stick[i]
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
		st.keys, ok = ss.key(r.table, r.fetch, st.keys)
		if !ok {
			continue
		}
		if r.match {
			// A found entry is touched (its expiry pushed back) even when
			// an earlier rule already chose the server.
			if id, found := r.table.Lookup(st.keys[start:], now); found && st.srv == nil {
				if s := b.serverByID(id); s != nil && s.up.Load() {
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
func coarseTime() time.Time { return time.Unix(0, coarseNow.Load()) }

// exprHash hashes the sample of "balance hash <expr>" as HAProxy does: an
// address as its 4 or 16 bytes, anything else as its bytes.
func (b *Backend) exprHash(ss *sampleSource) hashKey {
	addr, v, ok := ss.fetch(b.hashExpr)
	if !ok {
		return hashKey{}
	}
	if b.hashExpr.Kind == sample.Src {
		if addr.Is4() {
			a := addr.As4()
			return hashKey{b.hash.Key(a[:]), true}
		}
		a := addr.As16()
		return hashKey{b.hash.Key(a[:]), true}
	}
	return hashKey{b.hash.Key(v), true}
}
