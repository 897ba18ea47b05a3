package h2

import "slices"

// streamTable holds a connection's open streams by id. A client opens its
// streams in increasing id order (RFC 9113 5.1.1; fragment refuses any
// other), so they are appended to sorted slices and found by binary
// search; a stream removed leaves a hole, dropped when the table empties
// or compacted once holes outnumber streams. Opening, finding and
// forgetting a stream touch a cache line or two and hash nothing: with a
// map, the lookup and delete of each stream's end were ~0.6% of an h2
// stream's CPU.
type streamTable struct {
	ids []uint32  // increasing
	sts []*Stream // sts[i] has id ids[i]; nil: removed
	n   int       // streams in the table
}

// len is the number of streams in the table.
func (t *streamTable) len() int { return t.n }

// find returns the index of the stream id, -1 when it is not there.
func (t *streamTable) find(id uint32) int {
	i, ok := slices.BinarySearch(t.ids, id)
	if !ok || t.sts[i] == nil {
		return -1
	}
	return i
}

// get returns the stream id, nil when it is not there.
func (t *streamTable) get(id uint32) *Stream {
	if i := t.find(id); i >= 0 {
		return t.sts[i]
	}
	return nil
}

// add adds st, replacing a stream of the same id. A client's streams come
// in increasing id order: they are appended.
func (t *streamTable) add(st *Stream) {
	if k := len(t.ids); k > 0 && t.ids[k-1] >= st.id {
		i, found := slices.BinarySearch(t.ids, st.id)
		if found {
			if t.sts[i] == nil {
				t.n++
			}
			t.sts[i] = st
			return
		}
		t.ids, t.sts = slices.Insert(t.ids, i, st.id), slices.Insert(t.sts, i, st)
		t.n++
		return
	}
	if len(t.ids) >= 2*t.n+16 {
		t.compact()
	}
	t.ids = append(t.ids, st.id)
	t.sts = append(t.sts, st)
	t.n++
}

// remove removes st; false when it is not in the table.
func (t *streamTable) remove(st *Stream) bool {
	i := t.find(st.id)
	if i < 0 || t.sts[i] != st {
		return false
	}
	t.sts[i] = nil
	t.n--
	if t.n == 0 {
		t.ids, t.sts = t.ids[:0], t.sts[:0]
	}
	return true
}

// compact drops the holes.
func (t *streamTable) compact() {
	k := 0
	for i, st := range t.sts {
		if st != nil {
			t.ids[k], t.sts[k] = t.ids[i], st
			k++
		}
	}
	clear(t.sts[k:])
	t.ids, t.sts = t.ids[:k], t.sts[:k]
}

// all yields the streams in the table; the table must not change meanwhile.
func (t *streamTable) all(yield func(*Stream) bool) {
	for _, st := range t.sts {
		if st != nil && !yield(st) {
			return
		}
	}
}
