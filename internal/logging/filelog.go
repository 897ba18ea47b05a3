package logging

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// File targets ("log file@/path ...") append lines to a file with no
// syslog daemon. Every Logger naming the same path (a "log global" in
// several proxies, the checks' loggers, a reload's new generation) shares
// one open file, so "reopen logs" moves all of them to the new file at
// once, and their lines stay whole (one write each, under the file's lock).

// fileSink is one open log file, shared by the targets that name its path.
type fileSink struct {
	path string
	mu   sync.Mutex // held by a write and by a reopen's swap
	f    *os.File
	refs int // targets using it; guarded by filesMu
}

var (
	filesMu sync.Mutex
	files   = map[string]*fileSink{}
)

// fileMode is the permission of a log file dhproxy creates: readable by
// the group (adm on Debian reads /var/log), not by others.
const fileMode = 0o640

// droppedTotal counts the lines every Logger of the process dropped
// (queues full): "show info" DroppedLogs.
var droppedTotal atomic.Uint64

// DroppedTotal is the number of log lines the process dropped because a
// target's queue was full (the writer behind: a slow disk, a stalled
// syslog socket).
func DroppedTotal() uint64 { return droppedTotal.Load() }

// openFileSink returns the shared sink of path, opening the file (created
// if missing) on first use.
func openFileSink(path string) (*fileSink, error) {
	filesMu.Lock()
	defer filesMu.Unlock()
	if s := files[path]; s != nil {
		s.refs++
		return s, nil
	}
	f, err := openLogFile(path)
	if err != nil {
		return nil, err
	}
	s := &fileSink{path: path, f: f, refs: 1}
	files[path] = s
	return s, nil
}

func openLogFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("cannot open log file: %v", err)
	}
	return f, nil
}

// write appends one framed line.
func (s *fileSink) write(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.f.Write(b)
	return err
}

// release drops a target's use of the sink, closing the file after the
// last one.
func (s *fileSink) release() {
	filesMu.Lock()
	defer filesMu.Unlock()
	if s.refs--; s.refs > 0 {
		return
	}
	delete(files, s.path)
	s.mu.Lock()
	s.f.Close()
	s.f = nil // a reopen racing with this must not revive it
	s.mu.Unlock()
}

// ReopenFiles reopens every log file by its path, as logrotate's
// postrotate needs: lines written before the swap are in the renamed
// file, lines after it in the new one, none lost. A file that cannot be
// reopened keeps its old descriptor (its lines still land somewhere) and
// is reported. It returns the number of files reopened.
func ReopenFiles() (int, error) {
	filesMu.Lock()
	sinks := make([]*fileSink, 0, len(files))
	for _, s := range files {
		sinks = append(sinks, s)
	}
	filesMu.Unlock()
	var errs []error
	n := 0
	for _, s := range sinks {
		f, err := openLogFile(s.path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", s.path, err))
			continue
		}
		s.mu.Lock()
		old := s.f
		if old != nil {
			s.f = f
		}
		s.mu.Unlock()
		if old == nil { // released meanwhile
			f.Close()
			continue
		}
		old.Close()
		n++
	}
	return n, errors.Join(errs...)
}
