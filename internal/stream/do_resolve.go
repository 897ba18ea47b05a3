package stream

import (
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// doResolve runs "http-request do-resolve(<var>,<resolvers>,[ipv4|ipv6])
// <expr>": the address the section gives for the name the expression
// gives goes in the variable, as an IP (see resolvers.Client.Resolve for
// the families asked, the answers kept and how long the request waits).
// Any failure leaves the variable unset.
func (rt *Runtime) doResolve(t sample.Txn, r *rules.Rule, v *sample.Value, scratch *[]byte) {
	if !r.Expr.Eval(t, v) || !sample.Cast(v, sample.TypeStr, scratch) || len(v.Bytes) == 0 {
		return
	}
	for _, run := range rt.resolvers {
		if run.client.Conf.Name == r.Resolvers {
			if ip, ok := run.client.Resolve(string(v.Bytes), r.ResolveFamily == 4); ok {
				v.SetIP(ip)
				sample.SetVar(t, r.Var, v)
			}
			return
		}
	}
}
