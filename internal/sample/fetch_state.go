package sample

import (
	"fmt"
	"strings"
)

// Fetches of proxy and server state: identifiers, connections being
// served, queues, free slots, whether a server is up. The stream answers
// them through Txn.ProxyState, reading the same counters as the stats.

// StateKey names what ProxyState is asked.
type StateKey uint8

const (
	StateFrontendID       StateKey = iota // fe_id
	StateBackendID                        // be_id
	StateBackendConn                      // be_conn: requests being served
	StateQueue                            // queue: requests waiting for a server
	StateAvgQueue                         // avg_queue: queue per usable server
	StateConnSlots                        // connslots: free connection and queue slots
	StateServerUp                         // srv_is_up: 1 or 0
	StateServerConn                       // srv_conn: requests the server serves
	StateServerQueue                      // srv_queue: requests waiting for it
	StateFirstRequest                     // http_first_req: 1 on a connection's first request
	StateStopping                         // stopping: 1 once the process stops (soft stop)
	StateServerID                         // srv_id: the id of the server serving the request
	StateSocketID                         // so_id: the id of the socket that accepted the connection
	StateBackendSessRate                  // be_sess_rate: sessions of the last second
	StateFrontendConn                     // fe_conn: connections the frontend holds
	StateFrontendReqRate                  // fe_req_rate: HTTP requests of the last second
	StateFrontendSessRate                 // fe_sess_rate: sessions of the last second
	StateBackendConnFree                  // be_conn_free: free connection slots of the usable servers
	StateServerConnFree                   // srv_conn_free: the server's free connection slots
	StateServerSessRate                   // srv_sess_rate: its sessions of the last second
	StateServerWeight                     // srv_weight: its effective weight
	StateServerIWeight                    // srv_iweight: its configured weight
	StateServerUWeight                    // srv_uweight: its user weight (set weight, agent)
	StateClientTimeout                    // fe_client_timeout, in milliseconds
	StateServerTimeout                    // be_server_timeout: the backend's, in milliseconds
	StateTunnelTimeout                    // be_tunnel_timeout
	StateCurServerTimeout                 // cur_server_timeout: the stream's (0 before a server connection)
	StateCurTunnelTimeout                 // cur_tunnel_timeout
	StateSocketConn                       // dst_conn: connections of the socket that accepted the client's
	StateServerHTTPMajor                  // bc_http_major: 2 when the server connection speaks HTTP/2, else 1
)

func init() {
	// A fetch with an optional proxy name: the backend (or frontend)
	// named, else the rule's own; ProxyState gets the name either way.
	namedFetch := func(name string, key StateKey, ref func(string) PrepareFunc) {
		RegisterFetch(&FetchDef{Name: name, Args: []ArgType{ArgStr}, Out: TypeInt, Phases: PhaseAll, Prepare: ref(name),
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				n, ok := t.ProxyState(key, a.Byt[0], nil)
				if ok {
					v.SetInt(n)
				}
				return ok
			}})
	}
	namedFetch("be_conn", StateBackendConn, prepareBackendRef)
	namedFetch("be_sess_rate", StateBackendSessRate, prepareBackendRef)
	namedFetch("queue", StateQueue, prepareBackendRef)
	namedFetch("avg_queue", StateAvgQueue, prepareBackendRef)
	namedFetch("connslots", StateConnSlots, prepareBackendRef)
	namedFetch("be_conn_free", StateBackendConnFree, prepareBackendRef)
	namedFetch("fe_conn", StateFrontendConn, prepareFrontendRef)
	namedFetch("fe_req_rate", StateFrontendReqRate, prepareFrontendRef)
	namedFetch("fe_sess_rate", StateFrontendSessRate, prepareFrontendRef)
	idFetch := func(name string, key StateKey) {
		RegisterFetch(&FetchDef{Name: name, Out: TypeInt, Phases: PhaseAll,
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				n, ok := t.ProxyState(key, nil, nil)
				if ok {
					v.SetInt(n)
				}
				return ok
			}})
	}
	idFetch("fe_id", StateFrontendID)
	idFetch("be_id", StateBackendID)
	idFetch("so_id", StateSocketID)
	idFetch("fe_client_timeout", StateClientTimeout)
	idFetch("be_server_timeout", StateServerTimeout)
	idFetch("be_tunnel_timeout", StateTunnelTimeout)
	idFetch("cur_server_timeout", StateCurServerTimeout)
	idFetch("cur_tunnel_timeout", StateCurTunnelTimeout)
	// fe_defbe: the frontend's default backend; no sample without one.
	RegisterFetch(&FetchDef{Name: "fe_defbe", Out: TypeStr, Phases: PhaseAll,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			d, ok := t.(DefaultBackendNamer)
			if !ok {
				return false
			}
			name := d.DefaultBackendName()
			if name == "" {
				return false
			}
			setScratchStr(t, v, name)
			return true
		}})
	// so_name: the bind's "name"; no sample without one.
	RegisterFetch(&FetchDef{Name: "so_name", Out: TypeStr, Phases: PhaseAll,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			name := t.SocketName()
			if name == "" {
				return false
			}
			setScratchStr(t, v, name)
			return true
		}})
	boolFetch := func(name string, key StateKey, phases Phase) {
		RegisterFetch(&FetchDef{Name: name, Out: TypeBool, Phases: phases, Needs: needsRequest,
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				n, ok := t.ProxyState(key, nil, nil)
				if ok {
					v.SetBool(n != 0)
				}
				return ok
			}})
	}
	boolFetch("http_first_req", StateFirstRequest, PhaseReq|PhaseRes)

	// srv_id and srv_name: the server that answers, once the response
	// arrived (tcp-response content rules too, as in haproxy).
	const needsServer = "the server that answered (http-response rules)"
	RegisterFetch(&FetchDef{Name: "srv_id", Out: TypeInt, Phases: PhaseRes | PhaseResContent, Needs: needsServer,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			n, ok := t.ProxyState(StateServerID, nil, nil)
			if ok {
				v.SetInt(n)
			}
			return ok
		}})
	RegisterFetch(&FetchDef{Name: "srv_name", Out: TypeStr, Phases: PhaseRes | PhaseResContent, Needs: needsServer,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			name := t.ServerName()
			if name == "" {
				return false
			}
			setScratchStr(t, v, name)
			return true
		}})
	boolFetch("stopping", StateStopping, PhaseAll)
	serverFetch := func(name string, key StateKey, out Type) {
		RegisterFetch(&FetchDef{Name: name, Args: []ArgType{ArgStr}, MinArgs: 1, Out: out, Phases: PhaseAll, Prepare: prepareServerArg(name),
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				n, ok := t.ProxyState(key, a.Byt[1], a.Byt[2])
				if !ok {
					return false
				}
				if out == TypeBool {
					v.SetBool(n != 0)
				} else {
					v.SetInt(n)
				}
				return true
			}})
	}
	serverFetch("srv_is_up", StateServerUp, TypeBool)
	serverFetch("srv_conn", StateServerConn, TypeInt)
	serverFetch("srv_queue", StateServerQueue, TypeInt)
	serverFetch("srv_conn_free", StateServerConnFree, TypeInt)
	serverFetch("srv_sess_rate", StateServerSessRate, TypeInt)
	serverFetch("srv_weight", StateServerWeight, TypeInt)
	serverFetch("srv_iweight", StateServerIWeight, TypeInt)
	serverFetch("srv_uweight", StateServerUWeight, TypeInt)
}

// DefaultBackendNamer is a transaction that knows its frontend's default
// backend (fe_defbe).
type DefaultBackendNamer interface{ DefaultBackendName() string }

// prepareFrontendRef records the frontend a fetch names (none: the rule's
// own proxy, which must then be a frontend) for the configuration to
// check.
func prepareFrontendRef(fetch string) PrepareFunc {
	return func(c *Compiler, a *Args) error {
		c.ProxyRefs = append(c.ProxyRefs, ProxyRef{Fetch: fetch, Frontend: a.Str[0], OfFrontend: true})
		return nil
	}
}

// prepareBackendRef records the backend a fetch names (none: the
// rule's own proxy) for the configuration to check.
func prepareBackendRef(fetch string) PrepareFunc {
	return func(c *Compiler, a *Args) error {
		c.ProxyRefs = append(c.ProxyRefs, ProxyRef{Fetch: fetch, Backend: a.Str[0]})
		return nil
	}
}

// prepareServerArg splits "[backend/]server" into Byt[1] and Byt[2] and
// records both names for the configuration to check.
func prepareServerArg(fetch string) PrepareFunc {
	return func(c *Compiler, a *Args) error {
		be, srv, found := strings.Cut(a.Str[0], "/")
		if !found {
			be, srv = "", a.Str[0]
		}
		if srv == "" {
			return fmt.Errorf("expects [<backend>/]<server>, got '%s'", a.Str[0])
		}
		a.Byt[1], a.Byt[2] = []byte(be), []byte(srv)
		c.ProxyRefs = append(c.ProxyRefs, ProxyRef{Fetch: fetch, Backend: be, Server: srv})
		return nil
	}
}
