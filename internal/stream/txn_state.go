package stream

import (
	"dhproxy/internal/lb"
	"dhproxy/internal/sample"
)

// The proxy and server state fetches (be_conn, queue, srv_is_up, ...)
// read the counters the stats read; see sample/fetch_state.go.

func (s *httpSession) ProxyState(key sample.StateKey, backend, server []byte) (int64, bool) {
	switch key {
	case sample.StateFirstRequest:
		return boolInt(s.nreq == 0), true
	case sample.StateServerID:
		if s.tx.srv == nil {
			return 0, false
		}
		return int64(s.tx.srv.Conf.ID), true
	case sample.StateSocketID:
		return socketID(s.bind)
	case sample.StateSocketConn:
		return socketConns(s.bind)
	case sample.StateServerHTTPMajor:
		if s.tx.srv == nil {
			return 0, false
		}
		return 1 + boolInt(s.tx.bconnH2), true
	case sample.StateCurServerTimeout, sample.StateCurTunnelTimeout:
		// set-timeout shows at once, before any server connection
		if d, ok := s.tx.timeoutSet(key == sample.StateCurTunnelTimeout); ok {
			return d.Milliseconds(), true
		}
		return curTimeout(s.tx.srv, key)
	}
	be := s.tx.be
	if be == nil {
		be = s.fe.backend
	}
	n, ok := proxyState(s.fe, be, key, backend, server)
	// HAProxy counts a request in its backend's be_conn from the moment
	// the backend is chosen; dhproxy once it holds a server connection.
	if key == sample.StateBackendConn && ok && s.tx.be != nil && s.tx.srv == nil &&
		(len(backend) == 0 || string(backend) == s.tx.be.P.Name) {
		n++
	}
	return n, ok
}

func (t *tcpTxn) ProxyState(key sample.StateKey, backend, server []byte) (int64, bool) {
	switch {
	case key == sample.StateFirstRequest:
		return 0, false // no HTTP request in mode tcp
	case key == sample.StateServerID && t.srv == nil:
		return 0, false
	case key == sample.StateServerID:
		return int64(t.srv.Conf.ID), true
	case key == sample.StateSocketID:
		return socketID(t.bind)
	case key == sample.StateSocketConn:
		return socketConns(t.bind)
	case key == sample.StateServerHTTPMajor:
		// mode tcp: haproxy's pass-through connection counts as HTTP/1
		return 1, t.srv != nil
	case key == sample.StateCurServerTimeout, key == sample.StateCurTunnelTimeout:
		return curTimeout(t.srv, key)
	}
	return proxyState(t.fe, t.be, key, backend, server)
}

// proxyState answers key for fe and the named backend (cur when no name
// is given).
func proxyState(fe *Frontend, cur *Backend, key sample.StateKey, backend, server []byte) (int64, bool) {
	switch key {
	case sample.StateFrontendID:
		return int64(fe.P.ID), true
	case sample.StateStopping:
		select {
		case <-fe.rt.done:
			return 1, true
		default:
			return 0, true
		}
	case sample.StateFrontendConn, sample.StateFrontendReqRate, sample.StateFrontendSessRate:
		return frontendState(fe, key, backend)
	case sample.StateClientTimeout:
		return fe.P.Timeouts.Client.Milliseconds(), true
	}
	be := cur
	if len(backend) > 0 {
		be = fe.rt.backends[string(backend)]
	}
	if be == nil {
		return 0, false
	}
	switch key {
	case sample.StateBackendID:
		return int64(be.P.ID), true
	case sample.StateBackendConn:
		return int64(be.Cur()), true
	case sample.StateBackendSessRate:
		n, _ := be.Stats.Rate() // the stats' "rate" column
		return int64(n), true
	case sample.StateQueue:
		return int64(be.Queued()), true
	case sample.StateAvgQueue:
		// rounded up per usable server; twice the queue without one
		q, n := int64(be.Queued()), int64(usableServers(be))
		if n <= 0 {
			return 2 * q, true
		}
		return (q + n - 1) / n, true
	case sample.StateServerTimeout:
		return be.P.Timeouts.Server.Milliseconds(), true
	case sample.StateTunnelTimeout:
		return be.P.Timeouts.Tunnel.Milliseconds(), true
	case sample.StateBackendConnFree:
		return backendConnFree(be), true
	case sample.StateConnSlots:
		// free connection and queue slots of the servers that are up;
		// -1 when one of them has no limit, as HAProxy answers
		var slots int64
		for _, srv := range be.ServerList() {
			if !srv.Up() {
				continue
			}
			maxconn, maxqueue := int64(srv.Maxconn()), int64(srv.Conf.Maxqueue)
			if maxconn == 0 || maxqueue == 0 {
				return -1, true
			}
			slots += maxconn - int64(srv.Cur()) + maxqueue - int64(srv.QueueLen())
		}
		return slots, true
	}
	for _, srv := range be.ServerList() {
		if srv.Name != string(server) {
			continue
		}
		switch key {
		case sample.StateServerUp:
			return boolInt(srv.Up()), true
		case sample.StateServerConn:
			return int64(srv.Cur()), true
		case sample.StateServerQueue:
			return int64(srv.QueueLen()), true
		case sample.StateServerConnFree:
			// -1 when the server has no limit, as HAProxy answers
			if srv.Maxconn() == 0 {
				return -1, true
			}
			return int64(srv.Maxconn() - srv.Cur()), true
		case sample.StateServerSessRate:
			n, _ := srv.Stats.Rate()
			return int64(n), true
		case sample.StateServerWeight:
			return int64(srv.EffectiveWeight() / lb.WeightScale), true
		case sample.StateServerIWeight:
			_, initial := srv.Weight()
			return int64(initial), true
		case sample.StateServerUWeight:
			cur, _ := srv.Weight()
			return int64(cur), true
		}
	}
	return 0, false
}

// frontendState answers fe_conn and the frontend rates for the frontend
// named (fe when no name is given).
func frontendState(fe *Frontend, key sample.StateKey, name []byte) (int64, bool) {
	if len(name) > 0 {
		named := fe.rt.frontendNamed(name)
		if named == nil {
			return 0, false
		}
		fe = named
	}
	switch key {
	case sample.StateFrontendConn:
		return int64(fe.Cur()), true
	case sample.StateFrontendReqRate:
		n, _ := fe.Stats.ReqRate()
		return int64(n), true
	default:
		n, _ := fe.Stats.Rate()
		return int64(n), true
	}
}

// frontendNamed is the frontend (or listen section) called name, or nil.
func (rt *Runtime) frontendNamed(name []byte) *Frontend {
	for _, f := range rt.frontends {
		if f.P.Name == string(name) {
			return f
		}
	}
	return nil
}

// backendConnFree is be_conn_free: the free connection slots of the
// active servers that are up (of the backup ones when no active one is),
// -1 when one of them has no limit, as HAProxy answers.
func backendConnFree(be *Backend) int64 {
	var free int64
	for _, backup := range []bool{false, true} {
		counted := false
		for _, srv := range be.ServerList() {
			if srv.Conf.Backup != backup || !srv.Up() {
				continue
			}
			if srv.Maxconn() == 0 {
				return -1
			}
			counted = true
			free += int64(srv.Maxconn() - srv.Cur())
		}
		if counted {
			return free
		}
	}
	return 0
}

// DefaultBackendName is fe_defbe: the frontend's default_backend (a
// listen section without one has none, as in HAProxy).
func (s *httpSession) DefaultBackendName() string { return defaultBackendName(s.fe) }

// DefaultBackendName is fe_defbe in mode tcp.
func (t *tcpTxn) DefaultBackendName() string { return defaultBackendName(t.fe) }

func defaultBackendName(fe *Frontend) string {
	if fe.P.DefaultBE == nil || fe.P.DefaultBE == fe.P {
		return ""
	}
	return fe.P.DefaultBE.Name
}

// curTimeout is cur_server_timeout or cur_tunnel_timeout without
// set-timeout: the backend's once a server connection exists; 0 before,
// as HAProxy answers.
func curTimeout(srv *Server, key sample.StateKey) (int64, bool) {
	switch {
	case srv == nil:
		return 0, true
	case key == sample.StateCurServerTimeout:
		return srv.backend.P.Timeouts.Server.Milliseconds(), true
	}
	return srv.backend.P.Timeouts.Tunnel.Milliseconds(), true
}

// socketID is so_id; no sample where the socket is unknown.
func socketID(b *bindRef) (int64, bool) {
	if b == nil {
		return 0, false
	}
	return int64(b.id), true
}

// LastRule is the line of the last rule that ended its rule list
// (last_rule_file, last_rule_line).
func (s *httpSession) LastRule() (file string, line int, ok bool) {
	if p := s.tx.LastRule; p != nil {
		return p.File, p.Line, true
	}
	return "", 0, false
}

// LastRule is the tcp-request (tcp-response) content rule that accepted
// or rejected the connection, in mode tcp.
func (t *tcpTxn) LastRule() (file string, line int, ok bool) {
	if p := t.lastRule; p != nil {
		return p.File, p.Line, true
	}
	return "", 0, false
}

// Priority is the request's place in the queues (prio_class, prio_offset).
func (s *httpSession) Priority() (class, offset int64) {
	return int64(s.tx.PrioClass), int64(s.tx.PrioOffset)
}

// Priority is the connection's place in the queues, in mode tcp.
func (t *tcpTxn) Priority() (class, offset int64) {
	return int64(t.prio.Class), int64(t.prio.Offset)
}

// socketConns is dst_conn: the connections the bind b accepted that are
// still open, the current one included.
func socketConns(b *bindRef) (int64, bool) {
	if b == nil {
		return 0, false
	}
	return int64(b.conns.Load()), true
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// ServerName is srv_name: the server serving the request, "" before one
// is connected.
func (s *httpSession) ServerName() string {
	if s.tx.srv == nil {
		return ""
	}
	return s.tx.srv.Name
}

// ServerName is srv_name in tcp-response rules: the server connected.
func (t *tcpTxn) ServerName() string {
	if t.srv == nil {
		return ""
	}
	return t.srv.Name
}

// SocketName is so_name: the "name" of the bind that accepted the
// connection.
func (s *httpSession) SocketName() string { return socketName(s.bind) }

// SocketName is so_name in mode tcp.
func (t *tcpTxn) SocketName() string { return socketName(t.bind) }

func socketName(b *bindRef) string {
	if b == nil {
		return ""
	}
	return b.sockName
}
