package stream

import (
	"dhproxy/internal/acl"
	"dhproxy/internal/backend"
	"dhproxy/internal/model"
	"dhproxy/internal/sample"
)

// useServerRule is a "use-server" rule ready for requests.
type useServerRule struct {
	cond *acl.Cond
	srv  *Server        // nil for a computed name
	dyn  *sample.Format // the computed name
}

// persistMode is what a request's force-persist and ignore-persist rules
// decided (haproxy's SF_FORCE_PRST and SF_IGNORE_PRST).
type persistMode uint8

const (
	persistNormal persistMode = iota
	persistForce              // use-server, the cookie and stick matches may pick a DOWN server; no redispatch
	persistIgnore             // the persistence cookie is neither read nor set
)

func (b *Backend) setUseServers(p *model.Proxy) {
	for _, u := range p.UseServers {
		r := useServerRule{cond: u.Cond, dyn: u.Dynamic}
		if u.Server != nil {
			for _, s := range b.Servers {
				if s.Conf == u.Server {
					r.srv = s
				}
			}
		}
		b.useServers = append(b.useServers, r)
	}
}

// connPersist is how the connection treats the server persistence chose:
// force-persist takes it even when down and never redispatches; "option
// persist" takes it even when down.
func (b *Backend) connPersist(pm persistMode) backend.Persist {
	switch {
	case pm == persistForce:
		return backend.PersistForced
	case b.persistOpt:
		return backend.PersistDown
	}
	return backend.PersistUp
}

// mayPickDown tells whether persistence may pick a DOWN server.
func mayPickDown(p backend.Persist) bool { return p != backend.PersistUp }

// persistMode runs the force-persist and ignore-persist rules: the first
// whose condition holds decides.
func (b *Backend) persistMode(tx sample.Txn, as *acl.State, phase sample.Phase) persistMode {
	for i := range b.P.PersistRules {
		r := &b.P.PersistRules[i]
		if !r.Cond.MatchIn(tx, as, phase) {
			continue
		}
		if r.Force {
			return persistForce
		}
		return persistIgnore
	}
	return persistNormal
}

// useServer runs the use-server rules: the first whose condition holds
// and whose server is up (or anyDown: force-persist, option persist)
// assigns it. A computed name that
// names no server ends the rules, as in haproxy. A computed name is
// written at the end of *buf, which is given back as it was.
func (b *Backend) useServer(tx sample.Txn, v *sample.Value, buf *[]byte, as *acl.State, phase sample.Phase, anyDown bool) *Server {
	for i := range b.useServers {
		u := &b.useServers[i]
		if !u.cond.MatchIn(tx, as, phase) {
			continue
		}
		srv := u.srv
		if u.dyn != nil {
			start := len(*buf)
			*buf = u.dyn.Append(tx, v, *buf)
			srv = b.serverByName((*buf)[start:])
			*buf = (*buf)[:start]
			if srv == nil {
				return nil
			}
		}
		if srv.Up() || anyDown {
			return srv
		}
		// a DOWN server: the next rules may name another one
	}
	return nil
}

// lastServer is "option prefer-last-server": the server of the
// connection the session kept (http-reuse never, send-proxy), while it is
// usable and, with "max-keep-alive-queue", has room or a queue shorter
// than that; nil otherwise.
func (b *Backend) lastServer(kept *serverConn) *Server {
	if !b.preferLast || kept == nil || kept.srv.backend != b {
		return nil
	}
	srv := kept.srv
	if !srv.Usable() {
		return nil
	}
	if limit := b.P.MaxKeepAliveQueue; limit != -1 && !srv.HasRoom() && srv.QueueLen() >= max(limit, 0) {
		return nil
	}
	return srv
}

// serverByName returns the backend's server called name, or nil.
func (b *Backend) serverByName(name []byte) *Server {
	for _, s := range b.ServerList() {
		if s.Conf.Name == string(name) {
			return s
		}
	}
	return nil
}
