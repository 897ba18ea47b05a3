package stream

// SoftStop stops accepting connections and lets the sessions in flight
// finish, as HAProxy's soft stop (SIGUSR1, or the old worker of a
// reload): a request being served gets its response with "Connection:
// close"; an idle keep-alive connection is not cut, since the client may
// be sending on it at that very moment, but its next request is answered
// with "Connection: close", or it ends at its keep-alive timeout. Wait
// returns once every session has ended; Close then releases the rest.
func (rt *Runtime) SoftStop() {
	if !rt.stopped.CompareAndSwap(false, true) {
		return
	}
	// "close-spread-time infinite": connections are not asked to end,
	// idle ones close at their timeout (or at hard-stop-after).
	if !rt.cfg.Global.CloseSpreadInfinite {
		rt.stopping.Store(true)
		rt.stopOnce.Do(func() { close(rt.stopH2) })
	}
	// The sockets themselves stay open where another process shares them
	// (the master and the next worker): only this process's copy goes.
	for _, l := range rt.listeners {
		l.Close()
	}
	// As in haproxy, a stopping process checks no more: the servers are
	// the next process's to follow, and mails or logs would come twice.
	rt.stopAllChecks()
}

// stopAllChecks ends the health and agent checks, those of servers added
// at run time too.
func (rt *Runtime) stopAllChecks() {
	if rt.stopCheck != nil {
		rt.stopCheck()
	}
	for _, b := range rt.backends {
		b.checkMu.Lock()
		for _, s := range b.ServerList() {
			if s.stopChecks != nil {
				s.stopChecks()
				s.stopChecks = nil
			}
		}
		b.checkMu.Unlock()
	}
}
