package logging

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"dhproxy/internal/config"
	"dhproxy/internal/model"
)

// headerLogger is a Logger with the tag/pid/hostname of one of the
// haproxy 2.6.12 runs the expected headers were captured from.
func headerLogger(tag, pid, host string) *Logger {
	return &Logger{tag: tag, pid: pid, hostname: host}
}

func TestHeaderFormats(t *testing.T) {
	now := at("2026-11-25 10:36:39.534505")
	cases := []struct {
		format, host, tag, pid string
		level                  int
		want                   string
	}{
		{"", "", "haproxy", "434", 6, "<134>Nov 25 10:36:39 haproxy[434]: "},
		{"", "myhost", "mytag", "1025", 6, "<134>Nov 25 10:36:39 myhost mytag[1025]: "},
		{"rfc3164", "", "haproxy", "595", 6, "<134>Nov 25 10:36:39 localhost haproxy[595]: "},
		{"rfc3164", "myhost", "mytag", "1079", 6, "<134>Nov 25 10:36:39 myhost mytag[1079]: "},
		{"local", "myhost", "haproxy", "699", 6, "<134>Nov 25 10:36:39 haproxy[699]: "},
		{"rfc5424", "", "haproxy", "647", 6, "<134>1 2026-11-25T10:36:39.534505+00:00 - haproxy 647 - - "},
		{"rfc5424", "myhost", "mytag", "1131", 6, "<134>1 2026-11-25T10:36:39.534505+00:00 myhost mytag 1131 - - "},
		{"short", "", "haproxy", "1", 6, "<6>"},
		{"priority", "", "haproxy", "1", 6, "<134>"},
		{"timed", "", "haproxy", "1", 6, "<6>2026-11-25T10:36:39.534505+00:00 "},
		{"iso", "", "haproxy", "1", 6, "2026-11-25T10:36:39.534505+00:00 "},
		{"raw", "myhost", "haproxy", "1", 6, ""},
		{"", "", "haproxy", "7", 0, "<128>Nov 25 10:36:39 haproxy[7]: "},
	}
	for _, c := range cases {
		l := headerLogger(c.tag, c.pid, c.host)
		tg := &target{format: c.format, facility: 16}
		if got := string(l.appendHeader(nil, tg, c.level, now, nil)); got != c.want {
			t.Errorf("format %q host %q: got %q, want %q", c.format, c.host, got, c.want)
		}
	}
	// Single-digit days are space-padded; facility user (1), level err (3).
	l := headerLogger("haproxy", "9", "")
	if got, want := string(l.appendHeader(nil, &target{facility: 1}, 3, at("2009-02-06 12:14:14.000000"), nil)), "<11>Feb  6 12:14:14 haproxy[9]: "; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// The zone offset of rfc5424 follows the local zone (haproxy with
	// TZ=America/Caracas printed ...-04:00).
	defer func(z *time.Location) { time.Local = z }(time.Local)
	time.Local = time.FixedZone("VET", -4*3600)
	if got, want := string(l.appendHeader(nil, &target{format: "rfc5424", facility: 16}, 6, now, nil)), "<134>1 2026-11-25T06:36:39.534505-04:00 - haproxy 9 - - "; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// udpSink is a real UDP socket standing in for a syslog server.
func udpSink(t *testing.T, network, addr string) (*net.UDPConn, string) {
	t.Helper()
	c, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("no %s socket on %s: %v", network, addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.UDPConn), c.LocalAddr().String()
}

func readDatagram(t *testing.T, c *net.UDPConn) string {
	t.Helper()
	buf := make([]byte, 70000)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return string(buf[:n])
}

func expectNoDatagram(t *testing.T, c *net.UDPConn) {
	t.Helper()
	buf := make([]byte, 70000)
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(buf); err == nil {
		t.Errorf("unexpected datagram %q", buf[:n])
	}
}

func mustLogger(t *testing.T, tag, host string, specs ...spec) *Logger {
	t.Helper()
	l, err := newLogger(specs, tag, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

var rfc3164Line = regexp.MustCompile(`^<(\d+)>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d (\S+)\[(\d+)\]: (.*)\n$`)

func TestUDPTargetDefaultFraming(t *testing.T) {
	sink, addr := udpSink(t, "udp4", "127.0.0.1:0")
	l := mustLogger(t, "", "", spec{address: addr, facility: "local0"})
	line := []byte(`127.0.0.1:48224 [25/Nov/2026:10:35:38.954] http-in static/srv1 0/0/0/2/2 200 137 - - ---- 1/1/0/0/0 0/0 "GET /index.html HTTP/1.1"`)
	l.Send(LevelInfo, line)
	got := readDatagram(t, sink)
	m := rfc3164Line.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("not an rfc3164 line: %q", got)
	}
	if m[1] != "134" || m[2] != filepath.Base(os.Args[0]) || m[3] != strconv.Itoa(os.Getpid()) || m[4] != string(line) {
		t.Errorf("pri %s tag %s pid %s msg %q", m[1], m[2], m[3], m[4])
	}
	// A trailing LF of the caller is not doubled (send_log's lines carry one).
	l.Send(LevelNotice, []byte("Proxy f started.\n"))
	if got := readDatagram(t, sink); !strings.HasPrefix(got, "<133>") || !strings.HasSuffix(got, ": Proxy f started.\n") {
		t.Errorf("got %q", got)
	}
}

func TestUDPTargetPrefixesAndIPv6(t *testing.T) {
	sink, addr := udpSink(t, "udp4", "127.0.0.1:0")
	l := mustLogger(t, "t", "", spec{address: "udp4@" + addr, format: "raw", facility: "local0"})
	l.Send(LevelInfo, []byte("via udp4@"))
	if got := readDatagram(t, sink); got != "via udp4@\n" {
		t.Errorf("got %q", got)
	}
	sink6, addr6 := udpSink(t, "udp6", "[::1]:0")
	l6 := mustLogger(t, "t", "", spec{address: addr6, format: "short", facility: "local7"})
	l6.Send(LevelWarning, []byte("via v6"))
	if got := readDatagram(t, sink6); got != "<4>via v6\n" {
		t.Errorf("got %q", got)
	}
}

// "len" bounds header+message of a datagram, the LF coming on top; haproxy
// 2.6 with "log 127.0.0.1:port len 80 local0" sent 80 bytes and an LF.
func TestUDPTargetLen(t *testing.T) {
	sink, addr := udpSink(t, "udp4", "127.0.0.1:0")
	l := mustLogger(t, "haproxy", "", spec{address: addr, facility: "local0", length: 80})
	l.Send(LevelInfo, []byte(strings.Repeat("x", 200)))
	got := readDatagram(t, sink)
	if len(got) != 81 || !strings.HasSuffix(got, "x\n") {
		t.Errorf("%d bytes: %q", len(got), got)
	}
	// Default length: 1024 + LF, however long the line.
	l2 := mustLogger(t, "haproxy", "", spec{address: addr, facility: "local0"})
	l2.Send(LevelInfo, []byte(strings.Repeat("y", 5000)))
	if got := readDatagram(t, sink); len(got) != 1025 {
		t.Errorf("%d bytes", len(got))
	}
}

func TestLevelFiltering(t *testing.T) {
	sink, addr := udpSink(t, "udp4", "127.0.0.1:0")
	// "local0 notice": info and debug are not sent; "err" as minimum level
	// caps more severe lines at err (HAProxy sends MAX(level, minlvl)).
	l := mustLogger(t, "h", "", spec{address: addr, format: "priority", facility: "local0", level: "notice", minimum: "err"})
	l.Send(LevelInfo, []byte("info"))
	l.Send(LevelDebug, []byte("debug"))
	l.Send(LevelNotice, []byte("notice"))
	l.Send(LevelEmerg, []byte("emerg"))
	if got := readDatagram(t, sink); got != "<133>notice\n" {
		t.Errorf("got %q", got)
	}
	if got := readDatagram(t, sink); got != "<131>emerg\n" {
		t.Errorf("got %q (emerg must be capped to err)", got)
	}
	expectNoDatagram(t, sink)
}

// pipeFD returns a pipe whose write end the logger reaches as fd@N.
func pipeFD(t *testing.T) (r *os.File, addr string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, "fd@" + strconv.Itoa(int(w.Fd()))
}

// Stream targets count the LF within "len": haproxy 2.6 with
// "log stdout len 80 format raw" wrote 79 bytes and the LF.
func TestFDTargetRawAndLen(t *testing.T) {
	r, addr := pipeFD(t)
	l := mustLogger(t, "h", "", spec{address: addr, format: "raw", facility: "local0", length: 80})
	l.Send(LevelInfo, []byte(strings.Repeat("z", 100)))
	l.Send(LevelInfo, []byte("short line"))
	l.Close() // flushes the queue
	br := bufio.NewReader(r)
	first, _ := br.ReadString('\n')
	second, _ := br.ReadString('\n')
	if first != strings.Repeat("z", 79)+"\n" || second != "short line\n" {
		t.Errorf("got %q then %q", first, second)
	}
}

func TestUnixTarget(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log.sock")
	sink, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	for _, address := range []string{path, "unix@" + path} {
		l := mustLogger(t, "h", "", spec{address: address, format: "rfc5424", facility: "daemon"})
		l.Send(LevelErr, []byte("to "+address))
		buf := make([]byte, 2048)
		sink.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := sink.Read(buf)
		if err != nil {
			t.Fatalf("%s: %v", address, err)
		}
		got := string(buf[:n])
		if !strings.HasPrefix(got, "<27>1 ") || !strings.HasSuffix(got, " - h "+strconv.Itoa(os.Getpid())+" - - to "+address+"\n") {
			t.Errorf("%s: got %q", address, got)
		}
	}
}

// A syslog socket that is missing at start is not an error; lines are lost
// until it appears (HAProxy alerts once and goes on).
func TestUnixTargetAbsentAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.sock")
	l := mustLogger(t, "h", "", spec{address: path, format: "raw", facility: "local0"})
	l.Send(LevelInfo, []byte("lost"))
	time.Sleep(100 * time.Millisecond) // let the writer fail its first dial
	sink, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	buf := make([]byte, 256)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) { // the writer redials at most once a second
		l.Send(LevelInfo, []byte("found"))
		sink.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := sink.Read(buf); err == nil {
			if got := string(buf[:n]); got != "found\n" {
				t.Fatalf("got %q, want only lines sent once the socket existed", got)
			}
			return
		}
	}
	t.Fatal("the writer never reached the socket once it existed")
}

// A target whose writer is stuck must not block Send: lines beyond the
// queue are dropped and counted, and nothing is both delivered and counted.
func TestQueueOverflowDropsAndCounts(t *testing.T) {
	defer func(n int) { queueLen = n }(queueLen)
	queueLen = 8
	r, addr := pipeFD(t)
	// Shrink the pipe so the writer blocks after a few lines.
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, r.Fd(), 1031 /* F_SETPIPE_SZ */, 4096); errno != 0 {
		t.Logf("F_SETPIPE_SZ: %v (pipe stays larger)", errno)
	}
	l := mustLogger(t, "h", "", spec{address: addr, format: "raw", facility: "local0"})
	line := []byte(strings.Repeat("q", 1000))
	const sent = 500
	start := time.Now()
	for range sent {
		l.Send(LevelInfo, line)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Send blocked for %v", d)
	}
	dropped := l.Dropped()
	if dropped == 0 {
		t.Fatal("nothing dropped although the writer is stuck")
	}
	// Unblock the writer, let it flush what was queued, count what arrived.
	got := make(chan int)
	go func() {
		n := 0
		br := bufio.NewReader(r)
		for {
			s, err := br.ReadString('\n')
			if err != nil {
				break
			}
			if s != string(line)+"\n" {
				t.Errorf("garbled line of %d bytes", len(s))
			}
			n++
		}
		got <- n
	}()
	l.Close()
	// The logger owns a duplicate of the pipe's write end; closing ours
	// and the logger's ends the reader.
	if err := closeWriteEnd(addr); err != nil {
		t.Fatal(err)
	}
	delivered := <-got
	if uint64(delivered)+dropped != sent {
		t.Errorf("delivered %d + dropped %d != sent %d", delivered, dropped, sent)
	}
}

func closeWriteEnd(addr string) error {
	fd, _ := strconv.Atoi(strings.TrimPrefix(addr, "fd@"))
	return syscall.Close(fd)
}

// In the steady state (the writers keep up) Send allocates nothing: line
// buffers circulate between Send and the writers.
func TestSendDoesNotAllocate(t *testing.T) {
	sink, addr := udpSink(t, "udp4", "127.0.0.1:0")
	go func() { // drain so that the writers never stall
		buf := make([]byte, 2048)
		for {
			if _, err := sink.Read(buf); err != nil {
				return
			}
		}
	}()
	l := mustLogger(t, "haproxy", "host", spec{address: addr, facility: "local0"}, spec{address: addr, format: "rfc5424", facility: "local1"})
	line := []byte(`127.0.0.1:48224 [25/Nov/2026:10:35:38.954] http-in static/srv1 0/0/0/2/2 200 137 - - ---- 1/1/0/0/0 0/0 "GET /index.html HTTP/1.1"`)
	// A tight loop outruns the writers and would measure the queue's
	// growth, not the steady state: pace each Send until it was taken.
	send := func() {
		l.Send(LevelInfo, line)
		for _, tg := range l.targets {
			for len(tg.queue) > 0 {
				runtime.Gosched()
			}
		}
	}
	for range 100 {
		send()
	}
	if n := testing.AllocsPerRun(1000, send); n > 0 {
		t.Errorf("%v allocations per Send", n)
	}
}

func BenchmarkSend(b *testing.B) {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, err := sink.Read(buf); err != nil {
				return
			}
		}
	}()
	l, err := newLogger([]spec{{address: sink.LocalAddr().String(), facility: "local0"}}, "haproxy", "")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	line := FormatHTTP(nil, httpEntry())
	b.ReportAllocs()
	for b.Loop() {
		l.Send(LevelInfo, line)
	}
}

func BenchmarkFormatHTTP(b *testing.B) {
	e := httpEntry()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = FormatHTTP(buf[:0], e)
	}
}

func TestNewResolvesLogGlobalAndReportsEveryBadLine(t *testing.T) {
	sinkG, addrG := udpSink(t, "udp4", "127.0.0.1:0")
	sinkP, addrP := udpSink(t, "udp4", "127.0.0.1:0")
	global := []model.LogTarget{{Address: addrG, Facility: "local0"}}
	proxy := []model.LogTarget{{Global: true}, {Address: addrP, Facility: "local1"}}
	l, err := New(global, proxy, "tag", "")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Send(LevelInfo, []byte("both"))
	if got := readDatagram(t, sinkG); !strings.HasPrefix(got, "<134>") {
		t.Errorf("global target got %q", got)
	}
	if got := readDatagram(t, sinkP); !strings.HasPrefix(got, "<142>") {
		t.Errorf("proxy target got %q", got)
	}

	_, err = New(nil, []model.LogTarget{
		{Pos: config.Pos{File: "haproxy.cfg", Line: 3}, Address: "tcp@127.0.0.1:514", Facility: "local0"},
		{Pos: config.Pos{File: "haproxy.cfg", Line: 4}, Address: "127.0.0.1:99999", Facility: "local0"},
		{Pos: config.Pos{File: "haproxy.cfg", Line: 5}, Address: "127.0.0.1", Facility: "nope"},
		{Pos: config.Pos{File: "haproxy.cfg", Line: 6}, Address: "stdout", Facility: "local0"},
	}, "", "")
	if err == nil {
		t.Fatal("bad log lines accepted")
	}
	for _, want := range []string{"parsing [haproxy.cfg:3]", "parsing [haproxy.cfg:4]", "parsing [haproxy.cfg:5] : 'log 127.0.0.1': unknown log facility 'nope'"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "haproxy.cfg:6") {
		t.Errorf("a good line was reported: %v", err)
	}
}

// "format" and "len" parsed by the model reach the target.
func TestNewTakesFormatAndLenFromModel(t *testing.T) {
	sink, addr := udpSink(t, "udp4", "127.0.0.1:0")
	l, err := New(nil, []model.LogTarget{{Address: addr, Facility: "local0", Format: "raw", Len: 80}}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Send(LevelInfo, []byte(strings.Repeat("r", 100)))
	if got := readDatagram(t, sink); got != strings.Repeat("r", 79)+"\n" {
		// A raw datagram holds len bytes, but HAProxy built the line in a
		// len-byte buffer first, leaving len-1 of message.
		t.Errorf("got %d bytes: %q", len(got), got)
	}
}

func TestNilAndClosedLoggers(t *testing.T) {
	var l *Logger
	l.Send(LevelInfo, []byte("x")) // must not panic
	l.Close()
	if l.Enabled() || l.Dropped() != 0 {
		t.Error("nil logger claims targets or drops")
	}
	sink, addr := udpSink(t, "udp4", "127.0.0.1:0")
	l2 := mustLogger(t, "h", "", spec{address: addr, format: "raw", facility: "local0"})
	if !l2.Enabled() {
		t.Error("logger with a target not enabled")
	}
	l2.Close()
	l2.Close()
	l2.Send(LevelInfo, []byte("after close"))
	expectNoDatagram(t, sink)
	empty := mustLogger(t, "h", "")
	if empty.Enabled() {
		t.Error("logger without targets enabled")
	}
	empty.Send(LevelInfo, []byte("nowhere"))
}

// A log-format-sd's structured data goes in the rfc5424 header only, where
// haproxy 2.6 writes it: "<pri>1 time host tag pid - SD msg"; other formats
// send the message alone.
func TestSendStructuredData(t *testing.T) {
	c5424, a5424 := udpSink(t, "udp4", "127.0.0.1:0")
	c3164, a3164 := udpSink(t, "udp4", "127.0.0.1:0")
	l := mustLogger(t, "haproxy", "", spec{address: a5424, format: "rfc5424", facility: "local0"},
		spec{address: a3164, facility: "local0"})
	if !l.WantsSD() {
		t.Fatal("WantsSD is false with an rfc5424 target")
	}
	l.SendSD(LevelInfo, []byte(`[ex@1234 status="200"]`), []byte("GET /"))
	got := readDatagram(t, c5424)
	if !regexp.MustCompile(`^<134>1 \S+ - haproxy \d+ - \[ex@1234 status="200"\] GET /\n$`).MatchString(got) {
		t.Errorf("rfc5424 line %q", got)
	}
	if got := readDatagram(t, c3164); !strings.HasSuffix(got, "]: GET /\n") || strings.Contains(got, "ex@1234") {
		t.Errorf("rfc3164 line %q", got)
	}
	l.SendSD(LevelInfo, nil, []byte("no sd"))
	if got := readDatagram(t, c5424); !strings.HasSuffix(got, " - - no sd\n") {
		t.Errorf("rfc5424 line without sd %q", got)
	}
	if mustLogger(t, "haproxy", "", spec{address: a3164, facility: "local0"}).WantsSD() {
		t.Error("WantsSD is true without an rfc5424 target")
	}
}
