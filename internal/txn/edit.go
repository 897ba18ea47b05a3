// Package txn is the HTTP transaction as the rules see it: its workspace
// and the edits rules make to the parsed request and response (header
// lists, request target, method, variables). It knows nothing of
// connections, backends or servers: internal/stream owns those and calls
// in here with the parsed messages, as the transaction the samples read
// (sample.Txn).
package txn

import (
	"dhproxy/internal/http1"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// Work is a transaction's workspace. Edits never allocate once its
// buffers have grown: values built from formats (added headers, rewritten
// targets) are appended to Buf and the edited messages point into it, so
// Buf is only emptied when a new transaction starts.
type Work struct {
	Scratch []byte       // converter output (the samples' workspace)
	Buf     []byte       // values built from formats: added headers, rewritten URI, backend names
	V       sample.Value // the value slot of formats and expressions
}

// Reset empties the workspace for a new transaction, keeping capacity.
func (w *Work) Reset() {
	w.Scratch, w.Buf = w.Scratch[:0], w.Buf[:0]
	w.V = sample.Value{}
}

// format appends f's text for t to Buf and returns it (capacity-capped,
// so that later appends never write over it).
func (w *Work) format(t sample.Txn, f *sample.Format) []byte {
	start := len(w.Buf)
	w.Buf = f.Append(t, &w.V, w.Buf)
	return w.Buf[start:len(w.Buf):len(w.Buf)]
}

// SetVar runs set-var (a sample that does not exist leaves the variable
// as it was, as in HAProxy), set-var-fmt (the format's text) and
// unset-var.
func (w *Work) SetVar(t sample.Txn, r *rules.Rule) {
	switch {
	case r.Action == rules.UnsetVar:
		sample.UnsetVar(t, r.Var)
	case r.Expr == nil:
		w.V.SetStr(w.format(t, r.Value))
		sample.SetVar(t, r.Var, &w.V)
	case r.Expr.Eval(t, &w.V):
		sample.SetVar(t, r.Var, &w.V)
	}
}

// EditPatternFile runs add-acl, del-acl, set-map and del-map: the edit
// reaches every ACL and map converter reading the file, and the runtime
// API, at once. A map refusing the value (not an integer for map_int)
// changes nothing, as in haproxy; so does a file no ACL or map loads.
func (w *Work) EditPatternFile(t sample.Txn, r *rules.Rule) {
	if r.PatRef == nil {
		return
	}
	key := w.format(t, r.Value)
	switch r.Action {
	case rules.AddACL:
		r.PatRef.AddKey(key)
	case rules.SetMap:
		r.PatRef.SetKey(key, w.format(t, r.PatValue))
	default:
		r.PatRef.DeleteKey(key)
	}
}

// SetMethod runs set-method on req; false: the format gave nothing and
// the method stays.
func (w *Work) SetMethod(t sample.Txn, req *http1.Request, r *rules.Rule) bool {
	m := w.format(t, r.Value)
	if len(m) == 0 {
		return false
	}
	req.Method = m
	return true
}

// EditHeaders applies set/add/del/replace-header and replace-value to hs.
// Values are computed before anything is removed, so a rule may read the
// header it replaces.
func (w *Work) EditHeaders(t sample.Txn, hs []http1.Header, r *rules.Rule) []http1.Header {
	var val []byte
	if r.Value != nil {
		val = w.format(t, r.Value)
	}
	switch r.Action {
	case rules.SetHeader, rules.DelHeader:
		hs = w.deleteHeaders(hs, r)
		if r.Action == rules.DelHeader {
			return hs
		}
		fallthrough
	case rules.AddHeader:
		return append(hs, http1.Header{Name: r.Name, Value: val, Kind: r.Kind})
	case rules.ReplaceHeader:
		for i := range hs {
			h := &hs[i]
			if !r.IsHeader(h.Name) {
				continue
			}
			m := r.Re.FindSubmatchIndex(h.Value)
			if m == nil {
				continue
			}
			// The whole value becomes the replacement, \1..\9 taking the
			// groups, as HAProxy's replace-header does.
			start := len(w.Buf)
			w.Buf = ExpandGroups(w.Buf, val, h.Value, m)
			h.Value = w.Buf[start:len(w.Buf):len(w.Buf)]
		}
	case rules.ReplaceValue:
		for i := range hs {
			if h := &hs[i]; r.IsHeader(h.Name) {
				h.Value = w.replaceValues(h.Value, r.Re, val)
			}
		}
	}
	return hs
}

// deleteHeaders removes the headers r deletes from hs, in place; no
// header moves when none is deleted (the usual case of set-header).
func (w *Work) deleteHeaders(hs []http1.Header, r *rules.Rule) []http1.Header {
	for i := range hs {
		if !r.DeletesHeader(hs[i].Name, &w.Scratch) {
			continue
		}
		kept := hs[:i]
		for j := i + 1; j < len(hs); j++ {
			if !r.DeletesHeader(hs[j].Name, &w.Scratch) {
				kept = append(kept, hs[j])
			}
		}
		return kept
	}
	return hs
}

// replaceValues rewrites each comma-separated element of v that re
// matches (the whole element becomes the expanded template), keeping the
// separators as they were.
func (w *Work) replaceValues(v []byte, re *sample.Regex, tmpl []byte) []byte {
	start := len(w.Buf)
	done := 0 // bytes of v copied or replaced so far
	for i := 0; i <= len(v); {
		j, quoted := i, false
		for j < len(v) && (v[j] != ',' || quoted) {
			if v[j] == '"' {
				quoted = !quoted
			}
			j++
		}
		elem := TrimOWS(v[i:j])
		if m := re.FindSubmatchIndex(elem); m != nil {
			off := len(v[:i]) + (len(v[i:j]) - len(trimLeftOWS(v[i:j])))
			w.Buf = append(w.Buf, v[done:off]...)
			w.Buf = ExpandGroups(w.Buf, tmpl, elem, m)
			done = j // a replaced element loses its trailing blanks, as in HAProxy
		}
		i = j + 1
	}
	w.Buf = append(w.Buf, v[done:]...)
	return w.Buf[start:len(w.Buf):len(w.Buf)]
}

func trimLeftOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// TrimOWS drops the blanks (SP, HTAB) around b.
func TrimOWS(b []byte) []byte {
	b = trimLeftOWS(b)
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// EditTarget applies set-path, set-pathq, set-query, set-uri and the
// replace-* actions to req: the request target is rebuilt in Buf from its
// kept parts (an absolute URI's scheme and authority, the path, the
// query) and the new one. false: a replace-* regex did not match and
// nothing changed.
func (w *Work) EditTarget(t sample.Txn, req *http1.Request, r *rules.Rule) bool {
	uri := req.URI
	pq := http1.PathQuery(uri)
	prefix := uri[:len(uri)-len(pq)] // "scheme://authority" or nothing
	path, query := pq, []byte(nil)
	for i, c := range pq {
		if c == '?' {
			path, query = pq[:i], pq[i:]
			break
		}
	}
	// the part a replace-* action matches against
	var subject []byte
	switch r.Action {
	case rules.ReplacePath:
		subject = path
	case rules.ReplacePathQ:
		subject = pq
	case rules.ReplaceURI:
		subject = uri
	}
	var m []int
	if r.Re != nil {
		if m = r.Re.FindSubmatchIndex(subject); m == nil {
			return false
		}
	}
	// the new value: the format, with \1..\9 expanded for replace-*
	start := len(w.Buf)
	w.Buf = r.Value.Append(t, &w.V, w.Buf)
	val := w.Buf[start:]
	if m != nil {
		exp := len(w.Buf)
		w.Buf = ExpandGroups(w.Buf, val, subject, m)
		val = w.Buf[exp:]
	}
	out := len(w.Buf)
	switch r.Action {
	case rules.SetPath, rules.ReplacePath:
		w.Buf = append(append(append(w.Buf, prefix...), val...), query...)
	case rules.SetPathQ, rules.ReplacePathQ:
		w.Buf = append(append(w.Buf, prefix...), val...)
	case rules.SetQuery:
		w.Buf = append(append(w.Buf, prefix...), path...)
		if len(query) > 0 || len(val) > 0 {
			w.Buf = append(append(w.Buf, '?'), val...)
		}
	case rules.SetURI, rules.ReplaceURI:
		w.Buf = append(w.Buf, val...)
	}
	req.URI = w.Buf[out:len(w.Buf):len(w.Buf)]
	return true
}

// ExpandGroups appends tmpl to dst with \1..\9 replaced by the groups of
// match m in subject, as HAProxy's replace actions build their result.
func ExpandGroups(dst, tmpl, subject []byte, m []int) []byte {
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] == '\\' && i+1 < len(tmpl) && tmpl[i+1] >= '0' && tmpl[i+1] <= '9' {
			g := int(tmpl[i+1] - '0')
			if 2*g+1 < len(m) && m[2*g] >= 0 {
				dst = append(dst, subject[m[2*g]:m[2*g+1]]...)
			}
			i++
			continue
		}
		dst = append(dst, tmpl[i])
	}
	return dst
}
