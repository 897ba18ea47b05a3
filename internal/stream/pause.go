package stream

import (
	"fmt"
	"sync"
)

// pauseState is SIGTTOU's pause (HAProxy's): the listening sockets stop
// listening (connection attempts are refused, or go to another process
// bound with SO_REUSEPORT) until SIGTTIN resumes them.
type pauseState struct {
	mu      sync.Mutex
	resumed chan struct{} // non-nil while paused; closed on resume
}

// Pause stops listening on every bind, with HAProxy's "Pausing" lines.
func (rt *Runtime) Pause() {
	rt.pause.mu.Lock()
	defer rt.pause.mu.Unlock()
	if rt.pause.resumed != nil {
		return
	}
	rt.pause.resumed = make(chan struct{})
	// The accepts failing on the stopped sockets wait for the resume
	// (acceptLoop).
	for _, fe := range rt.frontends {
		for _, s := range fe.sockets {
			s.Stop()
		}
	}
	rt.frontendEvents("Pausing")
}

// Resume listens again on every bind ("Enabling" lines).
func (rt *Runtime) Resume() {
	rt.pause.mu.Lock()
	defer rt.pause.mu.Unlock()
	if rt.pause.resumed == nil {
		return
	}
	for _, fe := range rt.frontends {
		for _, s := range fe.sockets {
			if err := s.Listen(); err != nil {
				rt.logEvent(nil)("alert", fmt.Sprintf("cannot listen again on %s: %v", s.Addr(), err))
			}
		}
	}
	close(rt.pause.resumed)
	rt.pause.resumed = nil
	rt.frontendEvents("Enabling")
}

func (rt *Runtime) frontendEvents(verb string) {
	for _, fe := range rt.frontends {
		if len(fe.P.Binds) > 0 {
			rt.logEvent(nil)("warning", fmt.Sprintf("%s %s %s.", verb, frontendWord(fe.P), fe.P.Name))
		}
	}
}

// waitResume blocks while the listeners are paused; it tells whether they
// were (the accept error then came from the pause).
func (rt *Runtime) waitResume() bool {
	rt.pause.mu.Lock()
	ch := rt.pause.resumed
	rt.pause.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
	case <-rt.done:
	}
	return true
}
