package peers

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"dhproxy/internal/stick"
)

// session is one established connection with a peer.
type session struct {
	sec      *section
	peer     string
	conn     net.Conn
	r        *bufio.Reader
	out      chan outItem
	teach    chan bool // a full teach is due; true: end it with "resync finished"
	done     chan struct{}
	once     sync.Once
	errMu    sync.Mutex
	firstErr error
	// handover: this (stopping) process teaches its successor through
	// its local peer; confirmed once the successor said so.
	handover  bool
	confirmed atomic.Bool
	taught    atomic.Int64

	// Receive state, owned by the reader.
	remote map[uint64]*remoteTable // the peer's table ids
	cur    *remoteTable            // table of the next updates (nil: ignored)
	warned map[string]bool
}

// remoteTable is a table as the peer defined it.
type remoteTable struct {
	def     definition
	local   *shared // nil: no table here matches it
	lastGet uint32  // last update id received
	acked   uint32
}

// outItem is one message for the writer: an update of a table, an ack, or
// a control message.
type outItem struct {
	table *shared
	typ   byte // update message type
	body  []byte
	ack   *remoteTable
	ctrl  byte
	isCtl bool
}

func newSession(s *section, peer string, c net.Conn, r *bufio.Reader) *session {
	return &session{sec: s, peer: peer, conn: c, r: r, out: make(chan outItem, queueLen), teach: make(chan bool, 1),
		done: make(chan struct{}), remote: map[uint64]*remoteTable{}, warned: map[string]bool{}}
}

func (ss *session) close() {
	ss.once.Do(func() {
		close(ss.done)
		ss.conn.Close()
	})
}

func (ss *session) fail(err error) {
	ss.errMu.Lock()
	if ss.firstErr == nil {
		ss.firstErr = err
	}
	ss.errMu.Unlock()
	ss.close()
}

func (ss *session) err() error {
	ss.errMu.Lock()
	defer ss.errMu.Unlock()
	if ss.firstErr == nil {
		return errors.New("session closed")
	}
	return ss.firstErr
}

// send queues it for the writer; a peer that lets queueLen messages pile
// up is cut (it relearns everything when it reconnects).
func (ss *session) send(it outItem) {
	select {
	case ss.out <- it:
	case <-ss.done:
	default:
		ss.fail(errors.New("peer too slow: its update queue is full"))
	}
}

func (ss *session) requestTeach(finish bool) {
	for {
		select {
		case ss.teach <- finish:
			return
		case prev := <-ss.teach:
			finish = finish || prev
		}
	}
}

// run runs the session until it ends. pushAll teaches the peer the whole
// tables first (what it may have missed while the session was down); the
// local hand-over always does, and ends with "resync finished".
func (ss *session) run(pushAll bool) {
	s := ss.sec
	where := fmt.Sprintf("peer '%s' (%s)", ss.peer, ss.conn.RemoteAddr())
	if ss.handover {
		ss.requestTeach(true)
	} else if pushAll {
		ss.requestTeach(false)
	}
	if !ss.handover && ss.peer != s.local {
		s.mu.Lock()
		if !s.learned && s.asking == nil {
			s.asking = ss
			ss.send(outItem{isCtl: true, ctrl: ctrlResyncReq})
		}
		s.mu.Unlock()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			if r := recover(); r != nil {
				ss.fail(fmt.Errorf("internal error in the writer: %v", r))
			}
		}()
		if err := ss.writeLoop(); err != nil {
			ss.fail(err)
		}
	}()
	err := ss.readLoop()
	ss.fail(err)
	wg.Wait()
	s.unregister(ss)
	switch {
	case ss.handover:
	case errors.Is(ss.err(), errRemoteClosed), s.ctx.Err() != nil:
	default:
		s.logf("WARNING", "%s: session closed: %v", where, ss.err())
	}
}

var errRemoteClosed = errors.New("closed by the peer")

// readLoop reads and applies the peer's messages until an error.
func (ss *session) readLoop() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error reading from the peer: %v", r)
		}
	}()
	var buf []byte
	for {
		ss.conn.SetReadDeadline(time.Now().Add(readTimeout))
		var m msg
		m, buf, err = readMsg(ss.r, buf)
		if err != nil {
			select {
			case <-ss.done:
				return errRemoteClosed // closed here: nothing to report
			default:
			}
			if err == io.EOF {
				return errRemoteClosed
			}
			if errors.Is(err, errBodyTooLarge) {
				ss.writeNow(appendMsg(nil, classError, errSizeLimit, nil))
				return fmt.Errorf("protocol error: %v", err)
			}
			return err
		}
		if err := ss.handle(m); err != nil {
			ss.writeNow(appendMsg(nil, classError, errProtocol, nil))
			return fmt.Errorf("protocol error: %v (in a message of %v)", err, m)
		}
		if ss.r.Buffered() == 0 {
			ss.sendAcks()
		}
	}
}

// writeNow writes b directly, for the error message that ends a session.
func (ss *session) writeNow(b []byte) {
	ss.conn.SetWriteDeadline(time.Now().Add(time.Second))
	ss.conn.Write(b)
}

func (ss *session) sendAcks() {
	for id, rt := range ss.remote {
		if rt.local != nil && rt.lastGet != rt.acked {
			rt.acked = rt.lastGet
			ss.send(outItem{ack: &remoteTable{def: definition{id: id}, lastGet: rt.lastGet}})
		}
	}
}

// handle applies one message.
func (ss *session) handle(m msg) error {
	s := ss.sec
	switch m.class {
	case classControl:
		switch m.typ {
		case ctrlResyncReq:
			ss.requestTeach(true)
		case ctrlResyncFinished, ctrlResyncPartial:
			ss.send(outItem{isCtl: true, ctrl: ctrlResyncConfirm})
			s.mu.Lock()
			if s.asking == ss || ss.peer == s.local {
				s.learned, s.asking = true, nil
			}
			s.mu.Unlock()
			if ss.peer == s.local {
				s.logf("NOTICE", "tables learned from the previous process")
			}
		case ctrlResyncConfirm:
			if ss.handover {
				ss.confirmed.Store(true)
				ss.close()
			}
		case ctrlHeartbeat:
		}
		return nil
	case classError:
		what := "a protocol error"
		if m.typ == errSizeLimit {
			what = "a message too large"
		}
		return fmt.Errorf("the peer reports %s in what this process sent", what)
	case classReserved:
		return errors.New("reserved message class 255")
	case classStickTable:
	default:
		return nil // unknown classes are skipped, as HAProxy does
	}
	switch m.typ {
	case stktDefine:
		return ss.define(m.body)
	case stktSwitch:
		c := cursor{b: m.body}
		id := c.varint("table id")
		if c.err != nil {
			return c.err
		}
		ss.cur = ss.remote[id]
	case stktUpdate, stktIncUpdate, stktUpdateTimed, stktIncUpdateTimed:
		return ss.update(m)
	case stktAck:
		c := cursor{b: m.body}
		c.varint("table id")
		c.uint32("update id")
		return c.err
	}
	return nil
}

// define records a table definition; a table unknown here, or defined
// differently, is logged once and its updates are ignored.
func (ss *session) define(body []byte) error {
	d, err := parseDefinition(body)
	ss.cur = nil
	if err != nil {
		if d.name == "" || errors.Is(err, errTruncated) {
			return fmt.Errorf("table definition: %v", err)
		}
		ss.warnOnce(d.name, "table '%s' ignored: %v", d.name, err)
		return nil
	}
	rt := &remoteTable{def: d}
	for _, sh := range ss.sec.tables {
		if sh.def.name != d.name {
			continue
		}
		if sh.def.keyType != d.keyType || sh.def.keySize != d.keySize {
			ss.warnOnce(d.name, "table '%s' ignored: the peer's keys are of type %s, %d bytes; this process's are %s, %d bytes",
				d.name, keyTypeName(d.keyType), d.keySize, keyTypeName(sh.def.keyType), sh.def.keySize)
			break
		}
		rt.local = sh
	}
	if rt.local == nil {
		ss.warnOnce(d.name, "table '%s' is not shared through this peers section here: its updates are ignored", d.name)
	}
	if old := ss.remote[d.id]; old != nil && old.local == rt.local {
		rt.lastGet, rt.acked = old.lastGet, old.acked
	}
	ss.remote[d.id] = rt
	ss.cur = rt
	return nil
}

func (ss *session) warnOnce(key, format string, args ...any) {
	if ss.warned[key] {
		return
	}
	ss.warned[key] = true
	ss.sec.logf("WARNING", "peer '%s' (%s): "+format, append([]any{ss.peer, ss.conn.RemoteAddr()}, args...)...)
}

func keyTypeName(t uint64) string {
	switch t {
	case keySInt:
		return "integer"
	case keyIPv4:
		return "ip"
	case keyIPv6:
		return "ipv6"
	case keyStr:
		return "string"
	case keyBin:
		return "binary"
	}
	return fmt.Sprintf("#%d", t)
}

func (ss *session) update(m msg) error {
	rt := ss.cur
	if rt == nil {
		return nil // a table ignored here
	}
	u, err := parseUpdate(m.body, m.typ, &rt.def)
	if err != nil {
		return fmt.Errorf("update of table '%s': %v", rt.def.name, err)
	}
	if u.hasID {
		rt.lastGet = u.id
	} else {
		rt.lastGet++
	}
	if rt.local == nil {
		return nil
	}
	var l stick.Learned
	learnedFrom(&u, &rt.def, &l)
	rt.local.t.Learn(&l, time.Now())
	return nil
}

// writeLoop sends the queued messages, the full teach when due, and a
// heartbeat when nothing else went out for a while.
func (ss *session) writeLoop() error {
	w := bufio.NewWriterSize(ss.conn, 16<<10)
	var last *shared // table of the last update sent
	var scratch []byte
	hb := time.NewTicker(time.Second)
	defer hb.Stop()
	lastWrite := time.Now()
	write := func(it outItem) error {
		ss.conn.SetWriteDeadline(time.Now().Add(readTimeout))
		switch {
		case it.isCtl:
			scratch = appendMsg(scratch[:0], classControl, it.ctrl, nil)
		case it.ack != nil:
			scratch = appendMsg(scratch[:0], classStickTable, stktAck, appendAck(nil, it.ack.def.id, it.ack.lastGet))
		default:
			scratch = scratch[:0]
			if it.table != last {
				scratch = appendMsg(scratch, classStickTable, stktDefine, it.table.def.append(nil))
				last = it.table
			}
			scratch = appendMsg(scratch, classStickTable, it.typ, it.body)
		}
		_, err := w.Write(scratch)
		lastWrite = time.Now()
		return err
	}
	for {
		select {
		case <-ss.done:
			return nil
		case it := <-ss.out:
			if err := write(it); err != nil {
				return err
			}
			for more := true; more; {
				select {
				case it := <-ss.out:
					if err := write(it); err != nil {
						return err
					}
				default:
					more = false
				}
			}
		case finish := <-ss.teach:
			n, err := ss.teachAll(write)
			if err != nil {
				return err
			}
			ss.taught.Add(int64(n))
			if finish {
				if err := write(outItem{isCtl: true, ctrl: ctrlResyncFinished}); err != nil {
					return err
				}
			}
		case <-hb.C:
			if time.Since(lastWrite) < heartbeatEvery {
				continue
			}
			if err := write(outItem{isCtl: true, ctrl: ctrlHeartbeat}); err != nil {
				return err
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}

// teachAll sends every live entry of every table.
func (ss *session) teachAll(write func(outItem) error) (int, error) {
	s := ss.sec
	var entries []*stick.Entry
	var snap stick.Snapshot
	n := 0
	for _, sh := range s.tables {
		now := time.Now()
		entries = sh.t.Entries(now, entries[:0])
		for _, e := range entries {
			if !sh.t.Snapshot(e, now, &snap) {
				continue
			}
			if err := write(s.encodeUpdate(sh, &snap)); err != nil {
				return n, err
			}
			n++
		}
		clear(entries)
	}
	return n, nil
}
