package logging

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"dhproxy/internal/model"
)

// Ring is a ring section's buffer of log lines (haproxy's sink of type
// buffer): "log ring@<name>" targets write to it, "show events" reads it
// and its servers receive every line over TCP. When full, the oldest
// lines make room, counted as haproxy's ring counts its bytes.
type Ring struct {
	Name, Description string
	format            string
	maxLen            int

	mu      sync.Mutex
	size    int      // bytes the buffer holds
	used    int      // bytes taken: a marker byte, then per line 1 + varint(len) + len
	lines   [][]byte // oldest first
	first   uint64   // sequence number of lines[0]
	wake    chan struct{}
	dropped uint64 // lines that could never fit
}

var (
	ringsMu sync.Mutex
	rings   []*Ring
)

// Rings runs the ring sections of a configuration: their buffers and the
// connections to their servers.
type Rings struct {
	done chan struct{}
	wg   sync.WaitGroup
}

// StartRings creates the rings of cfg (which "log ring@" targets then
// find) and starts sending their lines to their servers.
func StartRings(cfg *model.Config) *Rings {
	rs := &Rings{done: make(chan struct{})}
	var list []*Ring
	for _, rc := range cfg.Rings {
		r := &Ring{Name: rc.Name, Description: rc.Description, format: rc.Format, maxLen: rc.MaxLen,
			size: rc.Size, used: 1, wake: make(chan struct{})}
		list = append(list, r)
		for _, srv := range rc.Servers {
			rs.wg.Add(1)
			go rs.forward(r, srv, rc.TimeoutConnect)
		}
	}
	ringsMu.Lock()
	rings = list
	ringsMu.Unlock()
	return rs
}

// Close stops the connections to the rings' servers.
func (rs *Rings) Close() {
	if rs == nil {
		return
	}
	close(rs.done)
	rs.wg.Wait()
}

// AllRings returns the rings, in configuration order.
func AllRings() []*Ring {
	ringsMu.Lock()
	defer ringsMu.Unlock()
	return rings
}

// FindRing returns the ring named name, or nil.
func FindRing(name string) *Ring {
	for _, r := range AllRings() {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// varintLen is the size of haproxy's varint encoding of n.
func varintLen(n int) int {
	l := 1
	if n >= 240 {
		n = (n - 240) >> 4
		for {
			l++
			if n < 128 {
				break
			}
			n = (n - 128) >> 7
		}
	}
	return l
}

// Write appends a copy of line (cut to maxlen), dropping the oldest lines
// as needed; a line larger than the whole ring is dropped.
func (r *Ring) Write(line []byte) {
	if len(line) > r.maxLen {
		line = line[:r.maxLen]
	}
	need := 1 + varintLen(len(line)) + len(line)
	r.mu.Lock()
	defer r.mu.Unlock()
	if need > r.size-1 {
		r.dropped++
		return
	}
	for r.size-r.used < need && len(r.lines) > 0 {
		old := r.lines[0]
		r.used -= 1 + varintLen(len(old)) + len(old)
		r.lines[0] = nil
		r.lines = r.lines[1:]
		r.first++
	}
	r.lines = append(r.lines, append([]byte(nil), line...))
	r.used += need
	close(r.wake)
	r.wake = make(chan struct{})
}

// Dropped counts the lines too large for the ring.
func (r *Ring) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Lines returns the lines held, oldest first.
func (r *Ring) Lines() [][]byte {
	lines, _, _ := r.since(0)
	return lines
}

// Since returns the lines from sequence number seq on (or from the oldest
// still held), the next sequence number, and a channel closed by the next
// Write: "show events -w" follows the ring with it.
func (r *Ring) Since(seq uint64) ([][]byte, uint64, <-chan struct{}) { return r.since(seq) }

// Next is the sequence number the next line will take.
func (r *Ring) Next() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first + uint64(len(r.lines))
}

// since returns the lines from sequence number seq on (or from the oldest
// still held), the next sequence number, and a channel closed by the next
// Write.
func (r *Ring) since(seq uint64) ([][]byte, uint64, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq < r.first {
		seq = r.first
	}
	lines := append([][]byte(nil), r.lines[seq-r.first:]...)
	return lines, r.first + uint64(len(r.lines)), r.wake
}

// forward keeps a connection to one server of r and sends it every line,
// from the oldest held when it starts: "<line>\n", or "<len> <line>" with
// log-proto octet-count. A lost connection is made again a second later
// and goes on from the first line not sent.
func (rs *Rings) forward(r *Ring, srv model.RingServer, connectTimeout time.Duration) {
	defer rs.wg.Done()
	defer func() {
		if v := recover(); v != nil {
			log.Printf("ring %s: forwarder of server %s recovered from: %v", r.Name, srv.Name, v)
		}
	}()
	var next uint64
	for {
		d := net.Dialer{Timeout: connectTimeout}
		c, err := d.Dial("tcp", srv.Addr)
		if err == nil {
			next, err = rs.send(r, c, srv.OctetCount, next)
			c.Close()
		}
		if errors.Is(err, errStopped) {
			return
		}
		select {
		case <-rs.done:
			return
		case <-time.After(time.Second):
		}
	}
}

var errStopped = errors.New("stopped")

func (rs *Rings) send(r *Ring, c net.Conn, octetCount bool, next uint64) (uint64, error) {
	gone := make(chan struct{})
	go func() { // the server sends nothing: a read ends when it closes
		io.Copy(io.Discard, c)
		close(gone)
	}()
	var buf []byte
	for {
		lines, upto, wake := r.since(next)
		buf = buf[:0]
		for _, l := range lines {
			if octetCount {
				buf = fmt.Appendf(buf, "%d ", len(l))
				buf = append(buf, l...)
			} else {
				buf = append(append(buf, l...), '\n')
			}
		}
		if len(buf) > 0 {
			if _, err := c.Write(buf); err != nil {
				return next, err
			}
		}
		next = upto
		select {
		case <-wake:
		case <-gone:
			return next, io.EOF
		case <-rs.done:
			return next, errStopped
		}
	}
}
