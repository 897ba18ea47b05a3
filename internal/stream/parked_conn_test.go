package stream

import (
	"bufio"
	"net"
	"net/http"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// A parked keep-alive connection keeps its connection state only: the
// session object (about 3 KiB) stays with its worker, and state that few
// connections have (private server connection, sess variables, trackers)
// is kept apart. Measured in the whole test process, so the client's own
// socket counts too; it was about 3.8 KiB when parked connections kept
// their session, 830-870 bytes before the parked record shrank (650-760
// since, 440-680 since it fits the 96-byte size class, 610-630 on a busy
// machine before a plain socket parked without its 128-byte connection
// object, 480-555 since, and 360-375 once a first crowd grows the
// process's wait and park tables before the measured one: single readings
// had included that one-time growth, ~200 bytes per connection).
func TestParkedConnectionMemory(t *testing.T) {
	fastParking(t)
	cfg, port := keepAliveConfig(t, "always")
	rt := startRuntime(t, cfg)
	buf := make([]byte, 4096)
	req := []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	const n = 1000
	conns := make([]net.Conn, 0, n+1)
	dial := func() {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c, req, buf)
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	dial() // workers, pools and the server connection exist from here on
	waitFor(t, "the first connection parks", func() bool { return rt.parker.Parked() == 1 })
	// A first crowd, closed again, grows the process's tables (the wait
	// set's and the Parker's slots) to this size once: the second one is
	// measured.
	for range n {
		dial()
	}
	waitFor(t, "the first crowd parks", func() bool { return rt.parker.Parked() == n+1 })
	for _, c := range conns[1:] {
		c.Close()
	}
	clear(conns[1:])
	conns = conns[:1]
	waitFor(t, "the first crowd leaves", func() bool { return rt.parker.Parked() == 1 })
	waitFor(t, "idle workers end", func() bool { return rt.idleWork.Load() == 0 })
	var before, after runtime.MemStats
	settledHeap(&before)
	for range n {
		dial()
	}
	waitFor(t, "every connection parks", func() bool { return rt.parker.Parked() == n+1 })
	// The workers that served them end after a tick or two of the purge loop, with their session
	// objects: what stays is what parked connections keep.
	waitFor(t, "idle workers end", func() bool { return rt.idleWork.Load() == 0 })
	settledHeap(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes of heap per parked connection (client side included)", per)
	if per > 450 {
		t.Errorf("%d bytes of heap per parked connection, want at most 450", per)
	}
}

// settledHeap reads the heap with sync.Pool's contents gone (a first
// collection moves them to the victim cache, the second frees them): they
// made single readings swing by hundreds of bytes per connection.
func settledHeap(m *runtime.MemStats) {
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(m)
}

// What belongs to the connection survives parking: sess variables, the
// real source address after a set-src that lasted one request, the socket
// that accepted it (so_id, so_name) and the connection's byte counts.
func TestParkedConnectionKeepsItsState(t *testing.T) {
	fastParking(t)
	cfg, port := keepAliveConfig(t, "safe")
	cfg = strings.Replace(cfg, " default_backend be\n", ` http-request set-var(sess.first) path if !{ var(sess.first) -m found }
 http-request set-src hdr(x-src) if { hdr(x-src) -m found }
 http-request set-var(txn.src) src
 http-response set-header X-First %[var(sess.first)]
 http-response set-header X-Src %[var(txn.src)]
 http-response set-header X-So "%[so_id] %[so_name]"
 default_backend be
`, 1)
	cfg = strings.Replace(cfg, "\n bind 127.0.0.1:"+strconv.Itoa(port)+"\n", "\n bind 127.0.0.1:"+strconv.Itoa(port)+" id 7 name web\n", 1)
	rt := startRuntime(t, cfg)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	get := func(path, extra string) (first, src string) {
		t.Helper()
		if _, err := c.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if so := resp.Header.Get("X-So"); so != "7 web" {
			t.Errorf("%s: X-So %q, want the socket's id and name \"7 web\"", path, so)
		}
		return resp.Header.Get("X-First"), resp.Header.Get("X-Src")
	}
	sent := 0
	for i, step := range []struct{ path, extra, first, src string }{
		{"/a", "X-Src: 10.1.2.3\r\n", "/a", "10.1.2.3"},
		{"/b", "", "/a", "127.0.0.1"},
		{"/c", "", "/a", "127.0.0.1"},
	} {
		if i > 0 {
			waitFor(t, "the connection parks", func() bool { return rt.parker.Parked() == 1 })
		}
		first, src := get(step.path, step.extra)
		if first != step.first || src != step.src {
			t.Errorf("request %s: X-First %q X-Src %q, want %q %q", step.path, first, src, step.first, step.src)
		}
		sent += len("GET " + step.path + " HTTP/1.1\r\nHost: t\r\n" + step.extra + "\r\n")
	}
	c.Close()
	fe := rt.frontends[0]
	waitFor(t, "the connection ends", func() bool { return fe.feconn.Load() == 0 })
	// the h1 module's count is the connection's (bin counts HTX sizes)
	if got := fe.Stats.H1BytesIn.Load(); got != int64(sent) {
		t.Errorf("frontend h1 bytes in %d, want %d", got, sent)
	}
}

// The parked record stays in the 64-byte size class.
func TestParkedConnSize(t *testing.T) {
	if n := unsafe.Sizeof(parkedConn{}); n > 64 {
		t.Errorf("parkedConn is %d bytes, want at most 64", n)
	}
}

// Every field of a session is either the current request's, rebuilt for
// each request, or the connection's, which parking must carry in
// parkedConn. A new field has to be sorted here, so that nobody adds
// connection state that a parked connection silently loses.
func TestSessionFieldsSortedForParking(t *testing.T) {
	carried := map[string]bool{ // copied into parkedConn and back
		"fe": true, "c": true, "clientIP": true, "clientPort": true, "dstPort": true, "accept": true,
		"priv": true, "nreq": true, "sessVars": true, "connSC": true, "epollAdded": true, "parkExpired": true,
		"seenIn": true, "seenOut": true, "fdStore": true, // byte counts as unread/unwritten
		"ln": true, "lg": true, // its "on" is the frontend's log format
		"bind":    true, // as its index in fe.binds
		"tlsInfo": true,
	}
	rebuilt := map[string]bool{ // per request, or derived again on restore
		"live": true, "buf": true, "r": true, "w": true, "bufBox": true, "sbuf": true, "sbufBox": true,
		"sr": true, "sw": true, "out": true, "req": true, "resp": true, "chunks": true, "rchunks": true,
		"cfd": true, "cio": true, "cdl": true, "sentBody": true, "ck": true, "stick": true,
		"bodyCh": true, "bodyBad": true, "upgrades": true, "tx": true, "sc": true, "trackKey": true, "reqID": true,
		"caps": true, "idle": true, "pp": true, "listed": true, "h2": true, "parkNow": true, "entry": true, "resumed": true,
		"h2Sess": true,                 // HTTP/2 streams never park
		"comp":   true, "compOn": true, // the request's compression choice
		"upgradeH2": true, // set and handed over at once
		"starting":  true, // false from a connection's first wait, before it can park
	}
	st := reflect.TypeOf(httpSession{})
	for i := range st.NumField() {
		name := st.Field(i).Name
		if !carried[name] && !rebuilt[name] {
			t.Errorf("httpSession.%s: say whether a parked connection keeps it (parkedConn) or not", name)
		}
	}
}
