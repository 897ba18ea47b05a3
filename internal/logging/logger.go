package logging

import (
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"dhproxy/internal/config"
	"dhproxy/internal/logging/logtarget"
	"dhproxy/internal/model"
)

// Level is a syslog severity; lower is more severe.
type Level int

const (
	LevelEmerg Level = iota
	LevelAlert
	LevelCrit
	LevelErr
	LevelWarning
	LevelNotice
	LevelInfo
	LevelDebug
)

// ParseLevel returns the level named like in haproxy.cfg ("info", "err", ...).
func ParseLevel(name string) (Level, bool) {
	n := logtarget.Level(name)
	return Level(n), n >= 0
}

// queueLen bounds the lines waiting for one target's writer: with lines of
// the default 1 KiB, at most 4 MiB per target, and enough to ride out a
// stall of the writer at tens of thousands of lines per second.
var queueLen = 4096

// spec is one resolved "log" line.
type spec struct {
	pos                               config.Pos
	address, facility, level, minimum string
	format, sample                    string
	length                            int
}

// specOf copies what the model knows of a "log" line.
func specOf(t model.LogTarget) spec {
	return spec{pos: t.Pos, address: t.Address, facility: t.Facility, level: t.Level, minimum: t.MinLevel,
		format: t.Format, sample: t.Sample, length: t.Len}
}

// Logger sends lines to the log targets of one proxy (or of the global
// section). It is safe for concurrent use; a nil or target-less Logger
// drops everything.
type Logger struct {
	targets  []*target
	tag      string
	hostname string
	pid      string
	maxMsg   int // HAProxy builds lines in a buffer of the largest "len" (default 1024): at most len-1 bytes

	free    chan *[]byte // line buffers not in a queue
	dropped atomic.Uint64
	closed  atomic.Bool
	done    chan struct{}
	wg      sync.WaitGroup
}

// target is one destination and its writer's state. Only the writer
// goroutine touches the connection fields.
type target struct {
	name     string // the address as written, for messages
	num      int    // position among the logger's targets, like HAProxy's "logger #N"
	addr     logtarget.Addr
	format   string
	maxLen   int
	facility int
	maxLevel int // lines less severe than this are not sent
	minLevel int // lines more severe than this are sent at this level
	queue    chan *[]byte
	sample   *logtarget.Sample // "sample": the lines sent; nil: all
	seen     atomic.Uint64     // lines offered to a sampled target

	udp      *net.UDPConn
	unix     *net.UnixConn
	nextDial time.Time
	file     *os.File
	ownsFile bool
	sink     *fileSink // file@ targets
	ring     *Ring     // ring@ targets
	batch    []byte    // file@ lines gathered for one write
	reported bool      // a write error was already reported (HAProxy alerts once)
}

// New builds the Logger of a proxy: proxy are its "log" lines, where
// "log global" stands for all of global's. For process-wide messages (the
// global section's own targets) pass global twice. tag is the syslog tag
// ("log-tag"; empty means the program name, as HAProxy), hostname the
// "log-send-hostname" value (empty: no hostname in the header). Errors name
// the file:line of every bad "log" line; no goroutine is left running then.
func New(global, proxy []model.LogTarget, tag, hostname string) (*Logger, error) {
	var specs []spec
	for _, t := range proxy {
		if t.Global {
			for _, g := range global {
				specs = append(specs, specOf(g))
			}
			continue
		}
		specs = append(specs, specOf(t))
	}
	return newLogger(specs, tag, hostname)
}

func newLogger(specs []spec, tag, hostname string) (*Logger, error) {
	if tag == "" {
		tag = filepath.Base(os.Args[0])
	}
	l := &Logger{tag: tag, hostname: hostname, pid: strconv.Itoa(os.Getpid()), done: make(chan struct{})}
	maxLen := 0
	var errs []error
	for i, s := range specs {
		t, err := openTarget(s, i+1)
		if err != nil {
			errs = append(errs, fmt.Errorf("parsing [%s] : 'log %s': %v", s.pos, s.address, err))
			continue
		}
		maxLen = max(maxLen, t.maxLen)
		l.targets = append(l.targets, t)
	}
	if len(errs) > 0 {
		for _, t := range l.targets {
			t.close()
		}
		return nil, errors.Join(errs...)
	}
	l.maxMsg = maxLen - 1
	l.free = make(chan *[]byte, len(l.targets)*queueLen)
	for _, t := range l.targets {
		l.wg.Add(1)
		go l.run(t)
	}
	return l, nil
}

func openTarget(s spec, num int) (*target, error) {
	a, err := logtarget.ParseAddress(s.address)
	if err != nil {
		return nil, err
	}
	t := &target{name: s.address, num: num, addr: a, format: s.format, maxLen: s.length,
		maxLevel: int(LevelDebug), minLevel: int(LevelEmerg), queue: make(chan *[]byte, queueLen)}
	if t.maxLen == 0 {
		t.maxLen = logtarget.DefaultLen
	}
	if s.sample != "" {
		if t.sample, err = logtarget.ParseSample(s.sample); err != nil {
			return nil, err
		}
	}
	if t.facility = logtarget.Facility(s.facility); t.facility < 0 {
		return nil, fmt.Errorf("unknown log facility '%s'", s.facility)
	}
	if s.level != "" {
		if t.maxLevel = logtarget.Level(s.level); t.maxLevel < 0 {
			return nil, fmt.Errorf("unknown optional log level '%s'", s.level)
		}
	}
	if s.minimum != "" {
		if t.minLevel = logtarget.Level(s.minimum); t.minLevel < 0 {
			return nil, fmt.Errorf("unknown optional minimum log level '%s'", s.minimum)
		}
	}
	switch a.Kind {
	case logtarget.UDP:
		raddr := net.UDPAddrFromAddrPort(a.IP)
		if a.Host != "" {
			// Resolved once, at start, like HAProxy's PA_O_RESOLVE.
			if raddr, err = net.ResolveUDPAddr(a.Network, a.Host); err != nil {
				return nil, fmt.Errorf("could not resolve address '%s': %v", a.Host, err)
			}
		}
		// Connected so that Write needs no address conversion (no
		// allocation); a refused datagram only fails a later Write, which
		// the writer ignores as HAProxy's unconnected socket would.
		if t.udp, err = net.DialUDP(a.Network, nil, raddr); err != nil {
			return nil, err
		}
	case logtarget.FD:
		switch a.FD {
		case 1:
			t.file = os.Stdout
		case 2:
			t.file = os.Stderr
		default:
			// Own a duplicate so that closing or collecting our *os.File
			// never closes the inherited descriptor under its owner.
			fd, err := syscall.Dup(a.FD)
			if err != nil {
				return nil, fmt.Errorf("file descriptor %d: %v", a.FD, err)
			}
			syscall.CloseOnExec(fd)
			t.file, t.ownsFile = os.NewFile(uintptr(fd), s.address), true
		}
	case logtarget.Unix:
		// Dialed by the writer: a syslog daemon that is not up yet (or
		// restarts) must not stop the proxy, as with HAProxy.
	case logtarget.File:
		if t.sink, err = openFileSink(a.Path); err != nil {
			return nil, err
		}
	case logtarget.Ring:
		if t.ring = FindRing(a.Path); t.ring == nil {
			return nil, fmt.Errorf("no ring section named '%s'", a.Path)
		}
		// the ring's format writes the header, not the target's
		t.format = t.ring.format
	case logtarget.TCP:
		// model.Build turns it into ring@ an implicit ring
		return nil, fmt.Errorf("log target '%s' needs the implicit ring the configuration gives it", s.address)
	}
	return t, nil
}

// Enabled reports whether the Logger has any target, so that callers can
// skip building lines nobody will receive.
func (l *Logger) Enabled() bool { return l != nil && len(l.targets) > 0 }

// WantsSD reports whether a target writes structured data (format
// rfc5424), so that a log-format-sd is rendered only when it is sent.
func (l *Logger) WantsSD() bool {
	if l == nil {
		return false
	}
	for _, t := range l.targets {
		if t.format == "rfc5424" {
			return true
		}
	}
	return false
}

// Dropped counts the lines lost because a target's queue was full (HAProxy's
// DroppedLogs).
func (l *Logger) Dropped() uint64 {
	if l == nil {
		return 0
	}
	return l.dropped.Load()
}

// getBuf takes a line buffer from the Logger's free list. A channel rather
// than a sync.Pool: buffers are taken on request goroutines and given back
// by the writers, and a sync.Pool's per-P caches miss in that pattern
// (and are emptied by every GC), which would allocate on the request path.
func (l *Logger) getBuf() *[]byte {
	select {
	case bp := <-l.free:
		return bp
	default:
		b := make([]byte, 0, 1152)
		return &b
	}
}

func (l *Logger) putBuf(bp *[]byte) {
	if cap(*bp) > 64<<10 { // don't keep what one oversized "len" grew
		return
	}
	*bp = (*bp)[:0]
	select {
	case l.free <- bp:
	default:
	}
}

// Send queues line for every target whose level admits level, with the
// target's header. It copies line, never blocks and, in the steady state,
// does not allocate. A full queue drops the line and counts it.
func (l *Logger) Send(level Level, line []byte) { l.SendSD(level, nil, line) }

// SendSD is Send with sd, the RFC5424 structured data of the line
// ("log-format-sd"), written in the header of the rfc5424 targets only;
// the others, and an empty sd, get none ("-" for rfc5424).
func (l *Logger) SendSD(level Level, sd, line []byte) {
	if l == nil || len(l.targets) == 0 || l.closed.Load() {
		return
	}
	// Trailing LFs and NULs are removed before framing, as __do_send_log does.
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == 0) {
		line = line[:len(line)-1]
	}
	if len(line) > l.maxMsg {
		line = line[:l.maxMsg]
	}
	now := time.Now()
	for _, t := range l.targets {
		lv := int(level)
		if lv > t.maxLevel {
			continue
		}
		lv = max(lv, t.minLevel)
		if !t.sampled() {
			continue
		}
		bp := l.getBuf()
		b := l.appendHeader((*bp)[:0], t, lv, now, sd)
		b = append(b, t.body(line)...)
		l.queueLine(t, bp, b)
	}
}

// queueLine cuts b, a header and its message in bp's buffer, to t's
// length, ends it with a LF and queues it for t's writer.
func (l *Logger) queueLine(t *target, bp *[]byte, b []byte) {
	// Datagrams carry at most len bytes before the LF; stream targets
	// (fd_write_frag_line) count the LF within len. A ring holds lines
	// without LF, cut to its own maxlen.
	limit := t.maxLen
	if t.addr.Kind == logtarget.FD || t.addr.Kind == logtarget.File {
		limit--
	}
	if t.ring == nil {
		if len(b) > limit {
			b = b[:limit]
		}
		b = append(b, '\n')
	}
	*bp = b
	select {
	case t.queue <- bp:
	default:
		l.dropped.Add(1)
		droppedTotal.Add(1)
		l.putBuf(bp)
	}
}

// body is the message as t sends it: a ring target cuts the message alone
// to its len, the header then comes on top (haproxy's sink_write).
func (t *target) body(msg []byte) []byte {
	if t.ring != nil && len(msg) > t.maxLen {
		return msg[:t.maxLen]
	}
	return msg
}

// sampled reports whether the next line goes to t: with "sample
// <ranges>:<size>", only the lines whose rank (counted from 1, modulo
// size) is in a range do, as haproxy's log sampling.
func (t *target) sampled() bool {
	if t.sample == nil {
		return true
	}
	n := int(t.seen.Add(1)-1)%t.sample.Size + 1
	return t.sample.Has(n)
}

// appendHeader writes the syslog header of t's format (HAProxy's
// build_log_header). The default (no "format") is rfc3164 with the
// hostname only when log-send-hostname is set; an explicit rfc3164 always
// has one ("localhost" by default).
func (l *Logger) appendHeader(b []byte, t *target, lv int, now time.Time, sd []byte) []byte {
	pri := t.facility*8 + lv
	switch t.format {
	case "", "rfc3164", "local":
		b = appendPri(b, pri)
		b = appendStamp3164(b, now)
		host := l.hostname
		if t.format == "rfc3164" && host == "" {
			host = "localhost"
		}
		if t.format != "local" && host != "" {
			b = append(b, host...)
			b = append(b, ' ')
		}
		if l.tag != "" {
			b = append(b, l.tag...)
			b = append(b, '[')
			b = append(b, l.pid...)
			b = append(b, "]: "...)
		}
	case "rfc5424":
		b = appendPri(b, pri)
		b = append(b, "1 "...)
		b = appendISO(b, now)
		b = append(b, ' ')
		b = appendOrNil(b, l.hostname)
		b = append(b, ' ')
		b = appendOrNil(b, l.tag)
		b = append(b, ' ')
		b = append(b, l.pid...)
		b = append(b, " - "...) // no MSGID
		if len(sd) == 0 {
			sd = nilSD
		}
		b = append(b, sd...)
		b = append(b, ' ')
	case "priority":
		b = appendPri(b, pri)
	case "short":
		b = appendPri(b, lv) // facility omitted by design of the format
	case "timed":
		b = appendPri(b, lv)
		b = appendISO(b, now)
		b = append(b, ' ')
	case "iso":
		b = appendISO(b, now)
		b = append(b, ' ')
	case "raw":
	}
	return b
}

// nilSD is RFC5424's NILVALUE for a line without structured data.
var nilSD = []byte("-")

func appendOrNil(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return append(b, s...)
}

func appendPri(b []byte, pri int) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(pri), 10)
	return append(b, '>')
}

// appendStamp3164 writes "Feb  6 12:14:14 " in local time.
func appendStamp3164(b []byte, t time.Time) []byte {
	t = t.Local()
	_, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = append(b, months[mo-1]...)
	b = append(b, ' ')
	if d < 10 {
		b = append(b, ' ', byte('0'+d))
	} else {
		b = append2(b, d)
	}
	b = append(b, ' ')
	b = appendClock(b, h, mi, s)
	return append(b, ' ')
}

// appendISO writes "2009-02-06T12:14:14.655123+01:00" in local time.
func appendISO(b []byte, t time.Time) []byte {
	t = t.Local()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, int(mo))
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = appendClock(b, h, mi, s)
	b = append(b, '.')
	us := t.Nanosecond() / 1000
	b = append3(b, us/1000)
	b = append3(b, us%1000)
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	b = append(b, sign)
	b = append2(b, off/3600)
	b = append(b, ':')
	return append2(b, off/60%60)
}

// Close stops the writers after they wrote what was already queued. Lines
// sent after Close are discarded.
func (l *Logger) Close() {
	if l == nil || !l.closed.CompareAndSwap(false, true) {
		return
	}
	close(l.done)
	l.wg.Wait()
}

// run is a target's writer goroutine, owned by the Logger.
func (l *Logger) run(t *target) {
	defer l.wg.Done()
	defer t.close()
	for {
		select {
		case bp := <-t.queue:
			l.write(t, bp)
			if t.sink != nil && len(t.queue) < fileLingerBelow {
				// A file's writer lets lines gather before its next
				// write: one wake-up and one write per batch instead of
				// per line, the lines reaching the file at most
				// fileLinger later.
				time.Sleep(fileLinger)
			}
		case <-l.done:
			for {
				select {
				case bp := <-t.queue:
					l.write(t, bp)
				default:
					return
				}
			}
		}
	}
}

// write sends one framed line; a panic loses that line only.
func (l *Logger) write(t *target, bp *[]byte) {
	defer l.putBuf(bp)
	defer func() {
		if r := recover(); r != nil {
			log.Printf("logging: writer of log target '%s' recovered from: %v", t.name, r)
		}
	}()
	var err error
	switch t.addr.Kind {
	case logtarget.UDP:
		_, err = t.udp.Write(*bp)
		if errors.Is(err, syscall.ECONNREFUSED) {
			err = nil // an earlier datagram met no listener; HAProxy never sees that
		}
	case logtarget.FD:
		_, err = t.file.Write(*bp)
	case logtarget.Unix:
		err = t.writeUnix(*bp)
	case logtarget.File:
		err = l.writeFile(t, *bp)
	case logtarget.Ring:
		t.ring.Write(*bp)
	}
	if err != nil && !t.reported {
		t.reported = true
		log.Printf("[ALERT] sendmsg()/writev() failed in logger #%d (%s): %v", t.num, t.name, err)
	}
}

// fileLinger is how long a file's writer waits after a write for more
// lines, unless fileLingerBelow are already queued (a busy log keeps it
// writing, so the 4096-line queue does not fill). Why 50 ms and not less:
// a write to a file that lasts more than 20 us lets the Go runtime's
// sysmon take the P away and then keeps sysmon waking every 20 us for the
// next milliseconds; one write every 5 ms kept it so all the time (4 % of
// a logging proxy's CPU in perf, +12 % CPU per request against no log),
// one every 50 ms lets it back off between writes.
const (
	fileLinger      = 50 * time.Millisecond
	fileLingerBelow = 2048
)

// fileBatch bounds what one write to a log file gathers: the lines
// already queued behind the first, up to 256 KiB (50 ms of 1 KiB lines at
// 5 000 requests a second), so a busy file costs one system call per batch
// rather than per line.
const fileBatch = 256 << 10

// writeFile appends first and the lines queued behind it in one write;
// lines stay whole and in order.
func (l *Logger) writeFile(t *target, first []byte) error {
	batch := append(t.batch[:0], first...)
	for len(batch) < fileBatch {
		select {
		case bp := <-t.queue:
			batch = append(batch, *bp...)
			l.putBuf(bp)
			continue
		default:
		}
		break
	}
	if cap(batch) <= 2*fileBatch { // keep the usual size, not an outlier's
		t.batch = batch
	}
	return t.sink.write(batch)
}

// writeUnix (re)connects to the syslog socket at most once a second, so a
// restarted daemon is found again without a dial per line while it is down.
func (t *target) writeUnix(b []byte) error {
	if t.unix == nil {
		now := time.Now()
		if now.Before(t.nextDial) {
			return nil
		}
		c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: t.addr.Path, Net: "unixgram"})
		if err != nil {
			t.nextDial = now.Add(time.Second)
			return err
		}
		t.unix = c
	}
	if _, err := t.unix.Write(b); err != nil {
		t.unix.Close()
		t.unix = nil
		return err
	}
	return nil
}

func (t *target) close() {
	if t.udp != nil {
		t.udp.Close()
	}
	if t.unix != nil {
		t.unix.Close()
	}
	if t.ownsFile {
		t.file.Close()
	}
	if t.sink != nil {
		t.sink.release()
	}
}
