package lvs

// svc returns the state of s, nil for a service the datapath no longer has.
func (u *Userspace) svc(s *Service) *usvc {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.svcs[s]
}

// Reload switches to svcs. A service found again keeps its listeners, so
// proxied connections and the sockets clients are queued on are untouched;
// it keeps its persistence entries, connection counts and traffic
// counters, and its scheduler's position when lb_algo did not change. New
// services open their listeners; removed ones close them (their proxied
// connections finish on their own, as at Close).
func (u *Userspace) Reload(svcs []*Service, ds []Desired) (Dataplane, error) {
	u.mu.Lock()
	// New services first: one that cannot listen undoes them, and the
	// running services stay as they were.
	var opened []string
	for _, s := range svcs {
		key := serviceKey(s)
		if u.slots[key] != nil {
			continue
		}
		err := u.open(s, newUsvc(s))
		opened = append(opened, key)
		if err != nil {
			for _, k := range opened {
				u.closeSlot(k)
			}
			u.mu.Unlock()
			return nil, err
		}
	}
	next := map[string]bool{}
	for _, s := range svcs {
		key := serviceKey(s)
		next[key] = true
		slot := u.slots[key]
		old := slot.cur.Load()
		if old.svc == s {
			continue // just opened
		}
		us := newUsvc(s)
		us.dests.Store(old.dests.Load())
		for a, c := range old.traffic {
			if _, ok := us.traffic[a]; ok {
				us.traffic[a] = c
			}
		}
		if old.svc.Sched == s.Sched {
			us.picker.next.Store(old.picker.next.Load()) // the round-robin position
		}
		if old.svc.Persist == s.Persist && old.svc.Mask == s.Mask {
			old.mu.Lock()
			for k, e := range old.persist {
				us.persist[k] = e
			}
			old.mu.Unlock()
		}
		delete(u.svcs, old.svc)
		u.svcs[s] = us
		slot.cur.Store(us)
	}
	for key := range u.slots {
		if !next[key] {
			u.closeSlot(key)
		}
	}
	u.mu.Unlock()
	return u, u.Apply(ds)
}

// closeSlot closes the listeners of one service and forgets it.
func (u *Userspace) closeSlot(key string) {
	slot := u.slots[key]
	delete(u.svcs, slot.cur.Load().svc)
	delete(u.slots, key)
	for _, c := range slot.close {
		c.Close()
	}
}
