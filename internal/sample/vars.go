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
	Proc *ProcVars
}

// ProcVars are the process-scope variables, shared by every connection.
type ProcVars struct {
	mu   sync.Mutex
	vars Vars
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
			c.proc = &ProcVars{}
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

// getVar reads a variable through the transaction. A process variable's
// bytes are copied to the transaction's scratch: another connection may
// overwrite the variable's buffer meanwhile.
func getVar(t Txn, r VarRef) (Value, bool) {
	if r.Proc != nil {
		r.Proc.mu.Lock()
		v, ok := r.Proc.vars.Get(r.ID)
		if ok && v.Bytes != nil {
			sc := t.Scratch()
			start := len(*sc)
			*sc = append(*sc, v.Bytes...)
			v.Bytes = (*sc)[start:len(*sc):len(*sc)]
		}
		r.Proc.mu.Unlock()
		return v, ok
	}
	vs := t.Vars(r.Scope)
	if vs == nil {
		return Value{}, false
	}
	return vs.Get(r.ID)
}

// SetVar stores v in the variable through the transaction.
func SetVar(t Txn, r VarRef, v *Value) {
	if r.Proc != nil {
		r.Proc.mu.Lock()
		r.Proc.vars.Set(r.ID, v)
		r.Proc.mu.Unlock()
		return
	}
	if vs := t.Vars(r.Scope); vs != nil {
		vs.Set(r.ID, v)
	}
}

// UnsetVar forgets the variable through the transaction.
func UnsetVar(t Txn, r VarRef) {
	if r.Proc != nil {
		r.Proc.mu.Lock()
		r.Proc.vars.Unset(r.ID)
		r.Proc.mu.Unlock()
		return
	}
	if vs := t.Vars(r.Scope); vs != nil {
		vs.Unset(r.ID)
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
