package acl

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"dhproxy/internal/sample"
)

// Ref is a pattern or map file as the runtime API edits it ("add map",
// "del acl", ...): its entries, and the matchers compiled from them for
// each ACL and map converter that reads the file. An edit recompiles every
// matcher from the new entries and publishes each with an atomic store, so
// the request path reads a complete old or new matcher without a lock.
type Ref struct {
	ID    int    // "#<id>" in the runtime API
	File  string // the path as the configuration names it
	Map   bool   // read by a map converter: entries have values
	Where string // "file 'haproxy.cfg' line 12": the first line using it

	entries []RefEntry               // guarded by editMu
	users   []func([]RefEntry) error // recompile and publish one matcher
	// keys indexes the entries by key once a rule action edits the file
	// (nil before): the edit a request repeats finds its answer there
	// without a lock.
	keys atomic.Pointer[map[string]keyState]
}

// keyState is what the entries with one key hold.
type keyState struct {
	n     int    // how many entries have the key
	value string // their value, when they all have the same
	mixed bool   // they do not
}

// RefEntry is one line of a pattern or map file.
type RefEntry struct {
	ID         uint64 // unique: "#0x<id>" names the entry in the runtime API
	Key, Value string
	line       int // in the file; 0 when added at run time
}

// where names the entry in an error: file:line, or the file.
func (e *RefEntry) where(file string) string {
	if e.line > 0 {
		return fmt.Sprintf("%s:%d", file, e.line)
	}
	return file
}

var entryIDs atomic.Uint64

// editMu serializes the edits of all files and the matchers' builds:
// a matcher may gather several files, and the builds share the compiler,
// which regex compilation writes to.
var editMu sync.Mutex

// refFor returns the file's reference, reading the file the first time.
func refFor(c *sample.Compiler, file string, isMap bool) (*Ref, error) {
	v, err := c.Cached("ref:"+file, func() (any, error) {
		data, err := c.Read(file)
		if err != nil {
			return nil, err
		}
		r := &Ref{ID: len(Refs(c)), File: file}
		if c.WhereFile != "" {
			r.Where = fmt.Sprintf("file '%s' line %d", c.WhereFile, c.WhereLine)
		}
		err = parsePatternFile(data, func(n int, l string) error {
			key, val := l, ""
			if isMap {
				key, val, _ = strings.Cut(strings.ReplaceAll(l, "\t", " "), " ")
				val = strings.Trim(val, " ")
			}
			r.entries = append(r.entries, RefEntry{ID: entryIDs.Add(1), Key: key, Value: val, line: n})
			return nil
		})
		return r, err
	})
	if err != nil {
		return nil, err
	}
	r := v.(*Ref)
	r.Map = r.Map || isMap
	return r, nil
}

// Loaded returns the reference of file when an ACL or a map converter
// compiled by c loaded it, else nil.
func Loaded(c *sample.Compiler, file string) *Ref {
	r, _ := c.Files["ref:"+file].(*Ref)
	return r
}

// Refs lists the pattern and map files compiled by c, by id.
func Refs(c *sample.Compiler) []*Ref {
	var out []*Ref
	for k, v := range c.Files {
		if r, ok := v.(*Ref); ok && strings.HasPrefix(k, "ref:") {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *Ref) int { return a.ID - b.ID })
	return out
}

// use registers a matcher built from r's entries and builds it now.
// A matcher that refuses the entries is not registered: its
// configuration line fails to load.
func (r *Ref) use(build func([]RefEntry) error) error {
	editMu.Lock()
	defer editMu.Unlock()
	if err := build(r.entries); err != nil {
		return err
	}
	r.users = append(r.users, build)
	return nil
}

// Entries returns a copy of r's entries, in file order.
func (r *Ref) Entries() []RefEntry {
	editMu.Lock()
	defer editMu.Unlock()
	return slices.Clone(r.entries)
}

// edit applies change to a copy of the entries and republishes every
// matcher; when one of them refuses the new entries (a value that is not
// an integer for map_int, a bad network), nothing changes.
func (r *Ref) edit(change func([]RefEntry) []RefEntry) error {
	editMu.Lock()
	defer editMu.Unlock()
	return r.editLocked(change)
}

// editLocked is edit with editMu held.
func (r *Ref) editLocked(change func([]RefEntry) []RefEntry) error {
	next := change(slices.Clone(r.entries))
	for i, build := range r.users {
		if err := build(next); err != nil {
			for _, undo := range r.users[:i] {
				undo(r.entries)
			}
			return err
		}
	}
	r.entries = next
	if r.keys.Load() != nil {
		r.indexKeys()
	}
	return nil
}

// Add appends an entry ("add map", "add acl").
func (r *Ref) Add(key, value string) error {
	return r.edit(func(es []RefEntry) []RefEntry {
		return append(es, RefEntry{ID: entryIDs.Add(1), Key: key, Value: value})
	})
}

// matches tells whether e is named by sel: "#0x<id>" or its key.
func (e *RefEntry) matches(sel string) bool {
	if id, ok := strings.CutPrefix(sel, "#"); ok {
		return fmt.Sprintf("%#x", e.ID) == id || fmt.Sprint(e.ID) == id
	}
	return e.Key == sel
}

// Set changes the value of the entries sel names ("set map"); false when
// there is none.
func (r *Ref) Set(sel, value string) (bool, error) {
	found := false
	err := r.edit(func(es []RefEntry) []RefEntry {
		for i := range es {
			if es[i].matches(sel) {
				es[i].Value, found = value, true
			}
		}
		return es
	})
	return found, err
}

// Delete removes the entries sel names ("del map", "del acl"); false when
// there is none.
func (r *Ref) Delete(sel string) (bool, error) {
	found := false
	err := r.edit(func(es []RefEntry) []RefEntry {
		return slices.DeleteFunc(es, func(e RefEntry) bool {
			found = found || e.matches(sel)
			return e.matches(sel)
		})
	})
	return found, err
}

// Clear removes every entry ("clear map", "clear acl").
func (r *Ref) Clear() error {
	return r.edit(func([]RefEntry) []RefEntry { return nil })
}

// The rule actions add-acl, set-map, del-acl and del-map edit a file by
// key (never by "#<id>", which is a key there like any other) as
// haproxy's do: they look the key up first, so that an edit a request
// repeats finds the entries as wanted, in the key index without a lock,
// and republishes nothing; only a change takes the lock and rebuilds the
// matchers (a cost linear in the file's size, as haproxy's lookup is).

// indexKeys publishes the key index of the entries; editMu is held.
func (r *Ref) indexKeys() {
	idx := make(map[string]keyState, len(r.entries))
	for _, e := range r.entries {
		st, seen := idx[e.Key]
		st.n++
		if !seen {
			st.value = e.Value
		} else if st.value != e.Value {
			st.mixed = true
		}
		idx[e.Key] = st
	}
	r.keys.Store(&idx)
}

// keyEdit applies an edit by key unless done tells, from the key's
// state, that the entries are as wanted already: first on the published
// index, then again under the lock, where change edits them.
func (r *Ref) keyEdit(key []byte, done func(keyState) bool, change func([]RefEntry) []RefEntry) error {
	if idx := r.keys.Load(); idx != nil && done((*idx)[string(key)]) {
		return nil
	}
	editMu.Lock()
	defer editMu.Unlock()
	if r.keys.Load() == nil {
		r.indexKeys()
	}
	if done((*r.keys.Load())[string(key)]) {
		return nil
	}
	return r.editLocked(change)
}

// AddKey adds key unless an entry has it already (add-acl).
func (r *Ref) AddKey(key []byte) error {
	return r.keyEdit(key, func(st keyState) bool { return st.n > 0 }, func(es []RefEntry) []RefEntry {
		return append(es, RefEntry{ID: entryIDs.Add(1), Key: string(key)})
	})
}

// SetKey gives the entries with key the value, or adds one (set-map).
func (r *Ref) SetKey(key, value []byte) error {
	found := false
	return r.keyEdit(key, func(st keyState) bool {
		found = st.n > 0
		return found && !st.mixed && st.value == string(value)
	}, func(es []RefEntry) []RefEntry {
		if !found {
			return append(es, RefEntry{ID: entryIDs.Add(1), Key: string(key), Value: string(value)})
		}
		v := string(value)
		for i := range es {
			if es[i].Key == string(key) {
				es[i].Value = v
			}
		}
		return es
	})
}

// DeleteKey removes every entry with key (del-acl, del-map).
func (r *Ref) DeleteKey(key []byte) error {
	return r.keyEdit(key, func(st keyState) bool { return st.n == 0 }, func(es []RefEntry) []RefEntry {
		return slices.DeleteFunc(es, func(e RefEntry) bool { return e.Key == string(key) })
	})
}
