package stream

import (
	"context"

	"golang.org/x/net/dns/dnsmessage"

	"dhproxy/internal/resolvers"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// doResolve runs "http-request do-resolve(<var>,<resolvers>,[ipv4|ipv6])
// <expr>": the name the expression gives is asked of the section's
// nameservers, the preferred family first (haproxy prefers IPv6), the
// other one when that gives no address; the first address goes in the
// variable, as an IP. Any failure leaves the variable unset.
func (rt *Runtime) doResolve(t sample.Txn, r *rules.Rule, v *sample.Value, scratch *[]byte) {
	if !r.Expr.Eval(t, v) || !sample.Cast(v, sample.TypeStr, scratch) || len(v.Bytes) == 0 {
		return
	}
	var client *resolvers.Client
	for _, run := range rt.resolvers {
		if run.client.Conf.Name == r.Resolvers {
			client = run.client
			break
		}
	}
	if client == nil {
		return
	}
	name := string(v.Bytes)
	order := [2]dnsmessage.Type{dnsmessage.TypeAAAA, dnsmessage.TypeA}
	if r.ResolveFamily == 4 {
		order[0], order[1] = order[1], order[0]
	}
	for _, qtype := range order {
		a := client.Query(context.Background(), name, qtype)
		if a.Status == resolvers.StatusValid && len(a.Addrs) > 0 {
			v.SetIP(a.Addrs[0])
			sample.SetVar(t, r.Var, v)
			return
		}
	}
}
