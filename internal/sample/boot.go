package sample

import (
	"fmt"
	"net/netip"

	"dhproxy/internal/http1"
)

// Expressions of the global section's "set-var" are evaluated once, while
// the configuration is read, when no connection exists: only fetches that
// read constants, the environment, the clock or process variables work
// there, as in HAProxy.
var bootFetches = map[string]bool{
	"str": true, "int": true, "bool": true, "bin": true, "ipv4": true, "ipv6": true,
	"always_true": true, "always_false": true, "env": true, "var": true,
	"date": true, "date_us": true, "hostname": true, "rand": true, "uuid": true,
	"thread": true, "proc": true,
}

// CompileBoot compiles expr for evaluation while the configuration is read
// (EvalBoot).
func (c *Compiler) CompileBoot(expr string) (*Expr, error) {
	name, _, _, err := splitCall(expr)
	if err != nil {
		return nil, err
	}
	if fetches[name] != nil && !bootFetches[name] {
		return nil, fmt.Errorf("fetch method '%s' reads a connection or a request, none of which exists while the configuration is read; use constants (str, int, bool, bin, ipv4, ipv6), env, var(proc.<name>), date, hostname, rand or uuid", name)
	}
	return c.Compile(expr, PhaseConn)
}

// EvalBoot evaluates an expression compiled by CompileBoot; the value's
// bytes stay valid (they are its own).
func EvalBoot(e *Expr) (Value, bool) {
	t := &bootTxn{}
	var v Value
	ok := e.Eval(t, &v)
	return v, ok
}

// bootTxn is the transaction of an evaluation with no connection: it has
// no address, request, proxy nor variables but the process's.
type bootTxn struct{ scratch []byte }

func (*bootTxn) Src() netip.AddrPort                               { return netip.AddrPort{} }
func (*bootTxn) Dst() netip.AddrPort                               { return netip.AddrPort{} }
func (*bootTxn) FrontendName() []byte                              { return nil }
func (*bootTxn) BackendName() []byte                               { return nil }
func (*bootTxn) Request() *http1.Request                           { return nil }
func (*bootTxn) Response() *http1.Response                         { return nil }
func (*bootTxn) Status() int                                       { return 0 }
func (t *bootTxn) Scratch() *[]byte                                { return &t.scratch }
func (*bootTxn) UsableServers([]byte) int                          { return -1 }
func (*bootTxn) ProxyState(StateKey, []byte, []byte) (int64, bool) { return 0, false }
func (*bootTxn) ServerName() string                                { return "" }
func (*bootTxn) SocketName() string                                { return "" }
func (*bootTxn) Vars(Scope) *Vars                                  { return nil }

// SetProcVar stores v in a process variable (r.Proc is set) while the
// configuration is read.
func SetProcVar(r VarRef, v *Value) { r.Proc.set(r.ID, v) }
