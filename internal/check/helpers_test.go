package check

import (
	"bufio"
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dhproxy/internal/model"
)

// logRecorder collects what the checks log.
type logRecorder struct {
	mu    sync.Mutex
	lines []logLine
	added chan struct{}
}

type logLine struct{ level, msg string }

func newRecorder() *logRecorder { return &logRecorder{added: make(chan struct{}, 1)} }

func (r *logRecorder) logf(level, msg string) {
	r.mu.Lock()
	r.lines = append(r.lines, logLine{level, msg})
	r.mu.Unlock()
	select {
	case r.added <- struct{}{}:
	default:
	}
}

var durRe = regexp.MustCompile(`check duration: \d+ms`)

// normalized returns "level: msg" lines with durations replaced by N, for
// comparisons with golden lines.
func (r *logRecorder) normalized() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		out = append(out, l.level+": "+durRe.ReplaceAllString(l.msg, "check duration: Nms"))
	}
	return out
}

// waitFor polls until a line contains sub and returns its index.
func (r *logRecorder) waitFor(t *testing.T, sub string, within time.Duration) int {
	t.Helper()
	return r.waitForAfter(t, -1, sub, within)
}

// waitForAfter polls until a line after index from contains sub.
func (r *logRecorder) waitForAfter(t *testing.T, from int, sub string, within time.Duration) int {
	t.Helper()
	deadline := time.After(within)
	for {
		for i, l := range r.normalized() {
			if i > from && strings.Contains(l, sub) {
				return i
			}
		}
		select {
		case <-r.added:
		case <-deadline:
			t.Fatalf("no log line containing %q within %v; got:\n%s", sub, within, strings.Join(r.normalized(), "\n"))
		}
	}
}

// acceptServer accepts connections on a loopback port and closes them,
// recording when each arrived.
type acceptServer struct {
	l     net.Listener
	mu    sync.Mutex
	times []time.Time
}

func newAcceptServer(t *testing.T, addr string) *acceptServer {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	// A port just closed by this test may take a moment to be reusable.
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &acceptServer{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.times = append(s.times, time.Now())
			s.mu.Unlock()
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return s
}

func (s *acceptServer) addr() string { return s.l.Addr().String() }

func (s *acceptServer) arrivals() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

// rawServer runs handle on every connection it accepts.
func rawServer(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); handle(c) }()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// readRequest consumes one request head.
func readRequest(c net.Conn) (string, error) {
	br := bufio.NewReader(c)
	var b strings.Builder
	for {
		l, err := br.ReadString('\n')
		b.WriteString(l)
		if err != nil {
			return b.String(), err
		}
		if l == "\r\n" || l == "\n" {
			return b.String(), nil
		}
	}
}

// replyServer answers every request with resp, then closes.
func replyServer(t *testing.T, resp string) string {
	return rawServer(t, func(c net.Conn) {
		defer c.Close()
		if _, err := readRequest(c); err != nil {
			return
		}
		c.Write([]byte(resp))
	})
}

// blackHole accepts and never answers.
func blackHole(t *testing.T) string {
	return rawServer(t, func(c net.Conn) {
		var b [1]byte
		for {
			if _, err := c.Read(b[:]); err != nil {
				return
			}
		}
	})
}

// closedPort returns a loopback address that refuses connections until the
// test ends.
func closedPort(t *testing.T) string {
	addr, _ := refusingPort(t)
	return addr
}

// refusingPort returns a loopback address whose port a socket holds,
// bound but not listening, so that connections to it are refused; release
// frees it (early, for a test that listens there later; else at cleanup).
// A port merely closed again can be handed to the next listener bound on
// port 0, this process's or another's: a "refused" check then passes. A
// port bound without SO_REUSEADDR goes to no other bind, and to no
// connect as its ephemeral source port either.
func refusingPort(t *testing.T) (addr string, release func()) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { syscall.Close(fd) }) }
	t.Cleanup(release)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)), release
}

// server builds a checked model server.
func server(name, addr string, inter time.Duration, rise, fall int) *model.Server {
	return &model.Server{Name: name, Addr: addr, Check: true, Inter: inter, Rise: rise, Fall: fall, Weight: 1}
}

func backend(name string, servers ...*model.Server) *model.Proxy {
	return &model.Proxy{Name: name, Cap: model.CapBE, Servers: servers, Options: map[string]bool{}}
}

func targetsOf(be *model.Proxy, setUp func(srv string, up bool)) []Target {
	var ts []Target
	for _, s := range be.Servers {
		s := s
		ts = append(ts, Target{
			Proxy: be.Name, Server: s.Name, Conf: s, Backend: be,
			SetUp: func(up bool) {
				if setUp != nil {
					setUp(s.Name, up)
				}
			},
		})
	}
	return ts
}

// within fails unless d lies in [lo, hi].
func within(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("%s: %v, want between %v and %v", what, d, lo, hi)
	}
}

// The port refusingPort holds refuses connections, and no listener can
// take it until it is released (a merely closed port could be).
func TestRefusingPortIsHeld(t *testing.T) {
	addr, release := refusingPort(t)
	if c, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial: %v, want connection refused", err)
	}
	if l, err := net.Listen("tcp", addr); !errors.Is(err, syscall.EADDRINUSE) {
		if l != nil {
			l.Close()
		}
		t.Fatalf("listen while held: %v, want address in use", err)
	}
	release()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal("listen once released:", err)
	}
	l.Close()
}
