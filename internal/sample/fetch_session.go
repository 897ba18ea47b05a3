package sample

// Fetches of the stream itself: the listening socket's connections, the
// HTTP major version spoken on each side, and where the last final rule
// is in the configuration (for logs).

// RuleTxn is a transaction that remembers the last final rule that
// matched: an accept, reject, allow, deny, return, redirect (haproxy's
// last_rule_file and last_rule_line).
type RuleTxn interface {
	LastRule() (file string, line int, ok bool)
}

// PriorityTxn is a transaction with a place in the queues
// (set-priority-class, set-priority-offset).
type PriorityTxn interface {
	Priority() (class, offset int64)
}

func init() {
	prio := func(name string, pick func(class, offset int64) int64) {
		RegisterFetch(&FetchDef{Name: name, Out: TypeInt, Phases: PhaseAll,
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				var class, offset int64 // mode tcp: no priority set
				if p, ok := t.(PriorityTxn); ok {
					class, offset = p.Priority()
				}
				v.SetInt(pick(class, offset))
				return true
			}})
	}
	prio("prio_class", func(c, _ int64) int64 { return c })
	prio("prio_offset", func(_, o int64) int64 { return o })
	RegisterFetch(&FetchDef{Name: "dst_conn", Out: TypeInt, Phases: PhaseAll,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			n, ok := t.ProxyState(StateSocketConn, nil, nil)
			if ok {
				v.SetInt(n)
			}
			return ok
		}})
	// fc_http_major: the encoding on the wire, 2 for HTTP/2 (whose
	// requests the pipeline sees as HTTP/1.1), 1 otherwise, mode tcp too.
	RegisterFetch(&FetchDef{Name: "fc_http_major", Out: TypeInt, Phases: PhaseAll,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			if h, ok := t.(H2Txn); ok && h.OverH2() {
				v.SetInt(2)
			} else {
				v.SetInt(1)
			}
			return true
		}})
	RegisterFetch(&FetchDef{Name: "bc_http_major", Out: TypeInt, Phases: PhaseRes | PhaseResContent,
		Needs: "a connection to a server (http-response rules or the log)",
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			n, ok := t.ProxyState(StateServerHTTPMajor, nil, nil)
			if ok {
				v.SetInt(n)
			}
			return ok
		}})
	RegisterFetch(&FetchDef{Name: "last_rule_file", Out: TypeStr, Phases: PhaseAll,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			r, ok := t.(RuleTxn)
			if !ok {
				return false
			}
			file, _, ok := r.LastRule()
			if ok {
				setScratchStr(t, v, file)
			}
			return ok
		}})
	RegisterFetch(&FetchDef{Name: "last_rule_line", Out: TypeInt, Phases: PhaseAll,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			r, ok := t.(RuleTxn)
			if !ok {
				return false
			}
			_, line, ok := r.LastRule()
			if ok {
				v.SetInt(int64(line))
			}
			return ok
		}})
}
