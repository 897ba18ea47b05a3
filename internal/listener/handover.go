package listener

import (
	"fmt"
	"net"
	"os"
	"sort"
	"sync"

	"dhproxy/internal/model"
)

// In master-worker mode the master holds every listening socket and each
// worker it starts receives them as inherited descriptors: a reload never
// closes a listener, so no connection attempt is refused while workers
// change.

// Key names the socket a bind opens; binds with equal keys share one socket
// across configurations.
func Key(b *model.Bind) string {
	k := b.Network + "@" + b.Addr
	for _, o := range []string{"v6only", "freebind", "transparent"} {
		if _, on := b.Options[o]; on {
			k += " " + o
		}
	}
	// A socket is bound once to its namespace and device.
	if ns := b.Sock.Namespace; ns != "" {
		k += " namespace=" + ns
	}
	if dev := b.Sock.Interface; dev != "" {
		k += " interface=" + dev
	}
	return k
}

var (
	inheritedMu sync.Mutex
	inherited   map[string]*os.File
)

// Inherit makes Open use files (by Key) instead of binding anew.
func Inherit(files map[string]*os.File) {
	inheritedMu.Lock()
	inherited = files
	inheritedMu.Unlock()
}

func inheritedFor(b *model.Bind) *os.File { return Inherited(Key(b)) }

// Inherited returns the socket passed for key, or nil.
func Inherited(key string) *os.File {
	inheritedMu.Lock()
	defer inheritedMu.Unlock()
	return inherited[key]
}

// StatsKey names a "stats socket"'s listener; the master holds these too,
// so that a reload keeps the runtime API's address.
func StatsKey(s *model.StatsSocket) string { return "stats " + s.Network + "@" + s.Addr }

// Set is the master's listening sockets, by Key.
type Set struct {
	files map[string]*os.File
}

// Open makes sure s holds a socket for every bind of cfg's enabled
// frontends, and returns their keys and files sorted by key. Sockets
// already held are reused; an error names the bind line.
func (s *Set) Open(cfg *model.Config) (keys []string, files []*os.File, err error) {
	if s.files == nil {
		s.files = map[string]*os.File{}
	}
	want := map[string]bool{}
	for _, p := range cfg.Proxies {
		if !p.IsFrontend() || p.Disabled {
			continue
		}
		for _, b := range p.Binds {
			k := Key(b)
			want[k] = true
			if s.files[k] != nil {
				continue
			}
			l, err := Open(b, Backlog(b, p, &cfg.Global))
			if err != nil {
				return nil, nil, fmt.Errorf("Starting frontend %s: %w", p.Name, err)
			}
			f, err := listenerFile(l)
			if err != nil {
				return nil, nil, fmt.Errorf("Starting frontend %s: [%s] : %w", p.Name, b.Pos, err)
			}
			s.files[k] = f
		}
	}
	for i := range cfg.Global.StatsSockets {
		sock := &cfg.Global.StatsSockets[i]
		k := StatsKey(sock)
		want[k] = true
		if s.files[k] != nil {
			continue
		}
		f, err := openStats(sock)
		if err != nil {
			return nil, nil, err
		}
		s.files[k] = f
	}
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		files = append(files, s.files[k])
	}
	return keys, files, nil
}

// Keep closes the sockets whose key is not in keys (binds a reload removed).
func (s *Set) Keep(keys []string) {
	keep := map[string]bool{}
	for _, k := range keys {
		keep[k] = true
	}
	for k, f := range s.files {
		if !keep[k] {
			f.Close()
			delete(s.files, k)
		}
	}
}

func openStats(sock *model.StatsSocket) (*os.File, error) {
	if sock.Network == "unix" {
		if fi, err := os.Lstat(sock.Addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(sock.Addr)
		}
	}
	l, err := net.Listen(sock.Network, sock.Addr)
	if err == nil && sock.Network == "unix" && sock.Mode != 0 {
		err = os.Chmod(sock.Addr, os.FileMode(sock.Mode))
	}
	var f *os.File
	if err == nil {
		f, err = listenerFile(l)
	} else if l != nil {
		l.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: 'stats socket %s': %w", sock.Pos, sock.Addr, err)
	}
	return f, nil
}

// listenerFile moves l's socket into a file and closes l; a unix socket's
// path stays, for the workers serve it.
func listenerFile(l net.Listener) (*os.File, error) {
	defer l.Close()
	switch l := l.(type) {
	case *net.TCPListener:
		return l.File()
	case *net.UnixListener:
		l.SetUnlinkOnClose(false)
		return l.File()
	}
	return nil, fmt.Errorf("cannot hand over a %T", l)
}
