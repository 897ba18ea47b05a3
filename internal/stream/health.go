package stream

import "dhproxy/internal/logging"

// Healthy reports whether the proxy is serving: it has not been stopped and
// every frontend reaches at least one server that is up (through its
// default_backend, its own servers, or any of its use_backend rules). VRRP
// uses it in place of "killall -0 haproxy" style track scripts.
func (rt *Runtime) Healthy() bool {
	select {
	case <-rt.done:
		return false
	default:
	}
	for _, fe := range rt.frontends {
		if !fe.hasUsableServer() {
			return false
		}
	}
	return true
}

func (fe *Frontend) hasUsableServer() bool {
	var names []string
	if fe.P.DefaultBE != nil {
		names = append(names, fe.P.DefaultBE.Name)
	}
	for _, u := range fe.P.UseBackends {
		names = append(names, u.Name)
	}
	if fe.P.IsBackend() {
		names = append(names, fe.P.Name) // a listen section's own servers
	}
	if len(names) == 0 {
		return true // nothing to forward to: a redirect-only or stats frontend
	}
	for _, n := range names {
		if b := fe.rt.backends[n]; b != nil {
			if act, bck := b.Usable(); act+bck > 0 {
				return true
			}
		}
	}
	return false
}

// LogGlobal sends one line to the global section's log targets (syslog),
// not to stderr: VRRP reports its state changes there, as keepalived does.
func (rt *Runtime) LogGlobal(level, msg string) {
	if rt.events == nil {
		return
	}
	if lv, ok := logging.ParseLevel(level); ok {
		rt.events.Send(lv, []byte(msg))
	}
}
