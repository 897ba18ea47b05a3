package sample

import (
	"fmt"
	"strings"
	"sync"
)

// Variables: "set-var(<scope>.<name>)" actions and converter, the var()
// fetch, variables as operands of concat and the arithmetic converters.
// Names are numbered at load time (one number per name across the
// configuration), so a variable is an index into its scope's Vars.

// Scope is a variable's lifetime, as HAProxy names them.
type Scope uint8

const (
	ScopeSess Scope = iota // the client connection
	ScopeTxn               // the transaction (request and response)
	ScopeReq               // the request processing
	ScopeRes               // the response processing
	ScopeProc              // the process: every connection shares it
	numScopes
)

var scopeNames = map[string]Scope{"sess": ScopeSess, "txn": ScopeTxn, "req": ScopeReq, "res": ScopeRes, "proc": ScopeProc}

// VarRef is a compiled variable name.
type VarRef struct {
	Scope Scope
	ID    int
	// Proc is the process scope's store for ScopeProc: it belongs to the
	// configuration that compiled the name, so that a reload, which
	// numbers names anew, starts with no variable as a new haproxy does.
	Proc *SharedVars
}

// SharedVars are variables that concurrent transactions share behind a
// lock: the process scope, and the sess scope of an HTTP/2 connection's
// streams.
type SharedVars struct {
	mu   sync.Mutex
	vars Vars
}

// NewSharedVars returns a store holding a copy of init's variables (init
// may be nil).
func NewSharedVars(init *Vars) *SharedVars {
	sv := &SharedVars{}
	if init != nil {
		sv.vars.CopyFrom(init)
	}
	return sv
}

// get copies the variable's bytes to scratch: another transaction may
// overwrite the store's buffer once the lock is released.
func (sv *SharedVars) get(id int, scratch *[]byte) (Value, bool) {
	sv.mu.Lock()
	v, ok := sv.vars.Get(id)
	if ok && v.Bytes != nil {
		start := len(*scratch)
		*scratch = append(*scratch, v.Bytes...)
		v.Bytes = (*scratch)[start:len(*scratch):len(*scratch)]
	}
	sv.mu.Unlock()
	return v, ok
}

func (sv *SharedVars) set(id int, v *Value) {
	sv.mu.Lock()
	sv.vars.Set(id, v)
	sv.mu.Unlock()
}

func (sv *SharedVars) unset(id int) {
	sv.mu.Lock()
	sv.vars.Unset(id)
	sv.mu.Unlock()
}

// SharedSess is implemented by a transaction whose sess variables live in
// a shared store (an HTTP/2 stream: the connection's streams share them);
// its Vars(ScopeSess) then returns nil.
type SharedSess interface {
	SharedSessVars() *SharedVars
}

// store is r's locked store, if it has one: the process scope, or the
// sess scope of a transaction whose Vars(ScopeSess) gave none.
func (r VarRef) store(t Txn) *SharedVars {
	if r.Proc != nil {
		return r.Proc
	}
	if r.Scope == ScopeSess {
		if sh, ok := t.(SharedSess); ok {
			return sh.SharedSessVars()
		}
	}
	return nil
}

// ParseVar reads "<scope>.<name>", numbering the name in c.
func (c *Compiler) ParseVar(s string) (VarRef, error) {
	scope, name, ok := strings.Cut(s, ".")
	if !ok || name == "" {
		return VarRef{}, fmt.Errorf("'%s' is not a variable name; write <scope>.<name> with scope sess, txn, req or res", s)
	}
	sc, ok := scopeNames[scope]
	if !ok {
		return VarRef{}, fmt.Errorf("'%s': unknown variable scope '%s'; use proc, sess, txn, req or res", s, scope)
	}
	for _, ch := range name {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '.') {
			return VarRef{}, fmt.Errorf("'%s': character '%c' is not permitted in a variable name", s, ch)
		}
	}
	if c.varIDs == nil {
		c.varIDs = map[string]int{}
	}
	id, ok := c.varIDs[name]
	if !ok {
		id = len(c.varIDs)
		c.varIDs[name] = id
	}
	r := VarRef{Scope: sc, ID: id}
	if sc == ScopeProc {
		if c.proc == nil {
			c.proc = &SharedVars{}
		}
		r.Proc = c.proc
	}
	return r, nil
}

// Vars holds the variables of one scope. Values are copied in, each
// variable into its own buffer reused by the next value, so that they
// outlive the buffers they were taken from and a long-lived scope (sess)
// does not grow with every request; a reset keeps capacity.
type Vars struct {
	vals []Value
	has  []bool
	bufs [][]byte
}

// Reset forgets every variable.
func (vs *Vars) Reset() { clear(vs.has) }

// Empty reports whether no variable is set.
func (vs *Vars) Empty() bool {
	for _, set := range vs.has {
		if set {
			return false
		}
	}
	return true
}

// Get returns the variable's value.
func (vs *Vars) Get(id int) (Value, bool) {
	if id >= len(vs.has) || !vs.has[id] {
		return Value{}, false
	}
	return vs.vals[id], true
}

// Set stores a copy of v.
func (vs *Vars) Set(id int, v *Value) {
	for id >= len(vs.has) {
		vs.has = append(vs.has, false)
		vs.vals = append(vs.vals, Value{})
		vs.bufs = append(vs.bufs, nil)
	}
	c := *v
	if c.Bytes != nil {
		vs.bufs[id] = append(vs.bufs[id][:0], c.Bytes...)
		c.Bytes = vs.bufs[id]
	}
	vs.vals[id], vs.has[id] = c, true
}

// CopyFrom makes vs hold o's variables, in vs's own buffers (o may be
// read meanwhile, not written).
func (vs *Vars) CopyFrom(o *Vars) {
	vs.Reset()
	for id, set := range o.has {
		if set {
			vs.Set(id, &o.vals[id])
		}
	}
}

// Unset forgets the variable.
func (vs *Vars) Unset(id int) {
	if id < len(vs.has) {
		vs.has[id] = false
	}
}

// getVar reads a variable through the transaction. A shared variable's
// bytes are copied to the transaction's scratch.
func getVar(t Txn, r VarRef) (Value, bool) {
	if r.Proc == nil {
		if vs := t.Vars(r.Scope); vs != nil {
			return vs.Get(r.ID)
		}
	}
	if sv := r.store(t); sv != nil {
		return sv.get(r.ID, t.Scratch())
	}
	return Value{}, false
}

// SetVar stores v in the variable through the transaction.
func SetVar(t Txn, r VarRef, v *Value) {
	if r.Proc == nil {
		if vs := t.Vars(r.Scope); vs != nil {
			vs.Set(r.ID, v)
			return
		}
	}
	if sv := r.store(t); sv != nil {
		sv.set(r.ID, v)
	}
}

// UnsetVar forgets the variable through the transaction.
func UnsetVar(t Txn, r VarRef) {
	if r.Proc == nil {
		if vs := t.Vars(r.Scope); vs != nil {
			vs.Unset(r.ID)
			return
		}
	}
	if sv := r.store(t); sv != nil {
		sv.unset(r.ID)
	}
}

func init() {
	// var(<name>[,<default>]): the variable's value, typed as it was stored.
	RegisterFetch(&FetchDef{Name: "var", Args: []ArgType{ArgStr, ArgStr}, MinArgs: 1, Out: TypeAny, Phases: PhaseAll,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			r := a.Data.(VarRef)
			if val, ok := getVar(t, r); ok {
				*v = val
				return true
			}
			if a.N > 1 {
				v.SetStr(a.Byt[1])
				return true
			}
			return false
		},
		Prepare: func(c *Compiler, a *Args) error {
			r, err := c.ParseVar(a.Str[0])
			a.Data = r
			return err
		}})
	// set-var(<name>): stores the sample and passes it on.
	RegisterConverter(&ConvDef{Name: "set-var", Args: []ArgType{ArgStr}, MinArgs: 1, In: TypeAny, Out: TypeAny,
		Fn: func(t Txn, a *Args, v *Value) bool {
			SetVar(t, a.Data.(VarRef), v)
			return true
		},
		Prepare: func(c *Compiler, a *Args) error {
			r, err := c.ParseVar(a.Str[0])
			a.Data = r
			return err
		}})
	RegisterConverter(&ConvDef{Name: "unset-var", Args: []ArgType{ArgStr}, MinArgs: 1, In: TypeAny, Out: TypeAny,
		Fn: func(t Txn, a *Args, v *Value) bool {
			UnsetVar(t, a.Data.(VarRef))
			return true
		},
		Prepare: func(c *Compiler, a *Args) error {
			r, err := c.ParseVar(a.Str[0])
			a.Data = r
			return err
		}})
}
