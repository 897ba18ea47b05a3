package stream

import (
	"fmt"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// pauseState is SIGTTOU's pause (HAProxy's): the listening sockets stop
// listening (connection attempts are refused, or go to another process
// bound with SO_REUSEPORT) until SIGTTIN resumes them.
type pauseState struct {
	mu      sync.Mutex
	resumed chan struct{} // non-nil while paused; closed on resume
}

// listenerFD returns the descriptor of rt.listeners[i], or -1.
func (rt *Runtime) listenerFD(i int) int {
	var rc syscall.RawConn
	switch l := rt.listeners[i].(type) {
	case *lazyListener:
		rc = l.rc
	case syscall.Conn:
		rc, _ = l.SyscallConn()
	}
	fd := -1
	if rc != nil {
		rc.Control(func(f uintptr) { fd = int(f) })
	}
	return fd
}

// Pause stops listening on every bind, with HAProxy's "Pausing" lines.
func (rt *Runtime) Pause() {
	rt.pause.mu.Lock()
	defer rt.pause.mu.Unlock()
	if rt.pause.resumed != nil {
		return
	}
	rt.pause.resumed = make(chan struct{})
	for i := range rt.listeners {
		if fd := rt.listenerFD(i); fd >= 0 {
			// On Linux a listening socket shut down for reading stops
			// listening; the accept waiting on it fails and waits for
			// the resume (acceptLoop).
			unix.Shutdown(fd, unix.SHUT_RD)
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
	for i := range rt.listeners {
		if fd := rt.listenerFD(i); fd >= 0 {
			if err := unix.Listen(fd, rt.backlogs[i]); err != nil {
				rt.logEvent(nil)("alert", fmt.Sprintf("cannot listen again on %s: %v", rt.listeners[i].Addr(), err))
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
