package tcp

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// testPipes is the pipe pool of the tests' sessions.
var testPipes = NewPipes(64)

// setup wires a real loopback session: cli is the test's client socket,
// back is the backend's socket, and Forward runs between the proxy-side ends.
// The returned channel yields Forward's result.
func setup(t testing.TB, to Timeouts) (cli, back *net.TCPConn, done <-chan Result) {
	t.Helper()
	return setupWith(t, to, false)
}

// setupWith is setup, optionally hiding the proxy-side conns' concrete type.
func setupWith(t testing.TB, to Timeouts, wrap bool) (cli, back *net.TCPConn, done <-chan Result) {
	t.Helper()
	front := listen(t)
	backend := listen(t)
	cli = dial(t, front.Addr())
	pc := accept(t, front)
	ps := dial(t, backend.Addr())
	back = accept(t, backend)
	ch := make(chan Result, 1)
	go func() {
		if wrap {
			ch <- Forward(wrapped{pc}, wrapped{ps}, to, testPipes)
		} else {
			ch <- Forward(pc, ps, to, testPipes)
		}
	}()
	t.Cleanup(func() { pc.Close(); ps.Close() })
	return cli, back, ch
}

func listen(t testing.TB) *net.TCPListener {
	t.Helper()
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func dial(t testing.TB, a net.Addr) *net.TCPConn {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, a.(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func accept(t testing.TB, l *net.TCPListener) *net.TCPConn {
	t.Helper()
	c, err := l.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func wait(t *testing.T, done <-chan Result, within time.Duration) Result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(within):
		t.Fatalf("Forward did not return within %v", within)
		return Result{}
	}
}

func randBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// sendAndRead writes data then half-closes, while reading everything the
// peer sends until EOF; it returns the sha256 of what was read.
func sendAndRead(c *net.TCPConn, data []byte) (sum [32]byte, n int64, err error) {
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.CloseWrite()
		}
		errc <- err
	}()
	h := sha256.New()
	n, rerr := io.Copy(h, c)
	if werr := <-errc; werr != nil {
		return sum, n, werr
	}
	copy(sum[:], h.Sum(nil))
	return sum, n, rerr
}

func TestForwardIntegrity(t *testing.T) {
	cli, back, done := setup(t, Timeouts{Client: 10 * time.Second, Server: 10 * time.Second})
	up := randBytes(t, 5<<20+123)
	down := randBytes(t, 3<<20+7)

	type out struct {
		sum [32]byte
		n   int64
		err error
	}
	bc := make(chan out, 1)
	go func() {
		s, n, err := sendAndRead(back, down)
		bc <- out{s, n, err}
	}()
	cs, cn, err := sendAndRead(cli, up)
	if err != nil {
		t.Fatal("client:", err)
	}
	b := <-bc
	if b.err != nil {
		t.Fatal("backend:", b.err)
	}
	if cn != int64(len(down)) || cs != sha256.Sum256(down) {
		t.Errorf("client got %d bytes, sha mismatch=%v", cn, cs != sha256.Sum256(down))
	}
	if b.n != int64(len(up)) || b.sum != sha256.Sum256(up) {
		t.Errorf("backend got %d bytes, sha mismatch=%v", b.n, b.sum != sha256.Sum256(up))
	}
	r := wait(t, done, 5*time.Second)
	if r.BytesIn != int64(len(up)) || r.BytesOut != int64(len(down)) || r.Term != [2]byte{'-', '-'} {
		t.Errorf("result = %+v (term %q)", r, r.Term[:])
	}
}

// Client sends a request and shuts its write side; the server only answers
// after seeing EOF, so the reply must travel over the half-closed session.
func TestHalfCloseClientFirst(t *testing.T) {
	cli, back, done := setup(t, Timeouts{Client: 5 * time.Second, Server: 5 * time.Second})
	go func() {
		got, _ := io.ReadAll(back)
		back.Write(append([]byte("reply to "), got...))
		back.CloseWrite()
	}()
	cli.Write([]byte("hello"))
	cli.CloseWrite()
	got, err := io.ReadAll(cli)
	if err != nil || string(got) != "reply to hello" {
		t.Fatalf("got %q, %v", got, err)
	}
	r := wait(t, done, 5*time.Second)
	if r.Term != [2]byte{'-', '-'} || r.BytesIn != 5 || r.BytesOut != 14 {
		t.Errorf("result = %+v (term %q)", r, r.Term[:])
	}
}

// Server sends a banner and closes its write side first; the client keeps
// talking afterwards.
func TestHalfCloseServerFirst(t *testing.T) {
	cli, back, done := setup(t, Timeouts{Client: 5 * time.Second, Server: 5 * time.Second})
	back.Write([]byte("banner"))
	back.CloseWrite()
	got, err := io.ReadAll(cli)
	if err != nil || string(got) != "banner" {
		t.Fatalf("client got %q, %v", got, err)
	}
	cli.Write([]byte("late words"))
	cli.CloseWrite()
	got, err = io.ReadAll(back)
	if err != nil || string(got) != "late words" {
		t.Fatalf("backend got %q, %v", got, err)
	}
	r := wait(t, done, 5*time.Second)
	if r.Term != [2]byte{'-', '-'} {
		t.Errorf("term %q", r.Term[:])
	}
}

// With ServerFinEnds (an upgraded HTTP connection) the server's FIN ends
// the session, normally, while the client's side is still open.
func TestServerFinEnds(t *testing.T) {
	cli, back, done := setup(t, Timeouts{Client: time.Minute, Server: time.Minute, ServerFinEnds: true})
	back.Write([]byte("banner"))
	back.CloseWrite()
	got, err := io.ReadAll(cli)
	if err != nil || string(got) != "banner" {
		t.Fatalf("client got %q, %v", got, err)
	}
	r := wait(t, done, 5*time.Second)
	if r.Term != [2]byte{'-', '-'} || r.BytesOut != 6 {
		t.Errorf("result = %+v (term %q)", r, r.Term[:])
	}
}

func checkTerm(t *testing.T, r Result, want string) {
	t.Helper()
	if string(r.Term[:]) != want {
		t.Errorf("term = %q, want %q (result %+v)", r.Term[:], want, r)
	}
}

func TestClientTimeout(t *testing.T) {
	_, _, done := setup(t, Timeouts{Client: 200 * time.Millisecond, Server: 5 * time.Second})
	start := time.Now()
	r := wait(t, done, 3*time.Second)
	checkTerm(t, r, "cD")
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("timed out too early: %v", el)
	}
}

func TestServerTimeout(t *testing.T) {
	cli, back, done := setup(t, Timeouts{Client: 5 * time.Second, Server: 200 * time.Millisecond})
	cli.Write([]byte("query"))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(back, buf); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := wait(t, done, 3*time.Second)
	checkTerm(t, r, "sD")
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("timed out too early: %v", el)
	}
	if r.BytesIn != 5 {
		t.Errorf("BytesIn = %d", r.BytesIn)
	}
}

// Steady small traffic must keep a session alive well past its timeout,
// even though each ReadFrom chunk is far from full.
func TestActivityPreventsTimeout(t *testing.T) {
	// Generous margin (6 writes per timeout) so a loaded CI box cannot
	// starve the writer for a whole timeout.
	to := 600 * time.Millisecond
	cli, back, done := setup(t, Timeouts{Client: to, Server: to})
	go io.Copy(io.Discard, back)
	for range 15 { // 1.5 s of traffic, 2.5 timeouts' worth
		if _, err := cli.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			t.Fatalf("session ended during activity: term %q", r.Term[:])
		case <-time.After(100 * time.Millisecond):
		}
	}
	r := wait(t, done, 3*time.Second) // now idle: must time out
	if r.Term[1] != 'D' || (r.Term[0] != 'c' && r.Term[0] != 's') {
		t.Errorf("term = %q", r.Term[:])
	}
	if r.BytesIn != 15 {
		t.Errorf("BytesIn = %d", r.BytesIn)
	}
}

// Data written to a side refreshes its timeout too (HAProxy's default,
// without independent-streams): a client that only downloads stays alive.
func TestDownloadKeepsClientAlive(t *testing.T) {
	to := 600 * time.Millisecond
	cli, back, done := setup(t, Timeouts{Client: to, Server: 5 * time.Second})
	go io.Copy(io.Discard, cli)
	for range 15 { // 1.5 s, 2.5 timeouts' worth
		if _, err := back.Write([]byte("tick")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // paced traffic, not a sync point
	}
	back.CloseWrite()
	cli.CloseWrite()
	r := wait(t, done, 3*time.Second)
	checkTerm(t, r, "--")
	if r.BytesOut != 60 {
		t.Errorf("BytesOut = %d", r.BytesOut)
	}
}

func TestTunnelReplacesTimeouts(t *testing.T) {
	cli, back, done := setup(t, Timeouts{Client: 50 * time.Millisecond, Server: 50 * time.Millisecond, Tunnel: 2 * time.Second})
	select {
	case r := <-done:
		t.Fatalf("ended before tunnel timeout: %q", r.Term[:])
	case <-time.After(400 * time.Millisecond):
	}
	cli.Write([]byte("still here"))
	cli.CloseWrite()
	got, _ := io.ReadAll(back)
	back.CloseWrite()
	if string(got) != "still here" {
		t.Fatalf("backend got %q", got)
	}
	checkTerm(t, wait(t, done, 3*time.Second), "--")
}

// Once the server's FIN was forwarded to the client, the client side is
// half-closed and client-fin replaces the longer client timeout.
func TestClientFin(t *testing.T) {
	cli, back, done := setup(t, Timeouts{Client: 10 * time.Second, Server: 10 * time.Second, ClientFin: 200 * time.Millisecond})
	back.CloseWrite()
	if _, err := cli.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("client read: %v, want EOF", err)
	}
	checkTerm(t, wait(t, done, 3*time.Second), "cD")
}

// Once the client's FIN was forwarded to the server, server-fin applies.
func TestServerFin(t *testing.T) {
	cli, back, done := setup(t, Timeouts{Client: 10 * time.Second, Server: 10 * time.Second, ServerFin: 200 * time.Millisecond})
	cli.CloseWrite()
	if _, err := back.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("backend read: %v, want EOF", err)
	}
	checkTerm(t, wait(t, done, 3*time.Second), "sD")
}

// A client that stops reading while the server streams is a client timeout
// (HAProxy's write timeout on the client side).
func TestClientNotReading(t *testing.T) {
	_, back, done := setup(t, Timeouts{Client: 300 * time.Millisecond, Server: 10 * time.Second})
	go func() {
		blob := make([]byte, 64<<10)
		for {
			if _, err := back.Write(blob); err != nil {
				return
			}
		}
	}()
	checkTerm(t, wait(t, done, 5*time.Second), "cD")
}

func reset(t *testing.T, c *net.TCPConn) {
	t.Helper()
	c.SetLinger(0) // close sends RST instead of FIN
	c.Close()
}

func TestClientReset(t *testing.T) {
	cli, _, done := setup(t, Timeouts{Client: 10 * time.Second, Server: 10 * time.Second})
	reset(t, cli)
	checkTerm(t, wait(t, done, 3*time.Second), "CD")
}

func TestServerReset(t *testing.T) {
	_, back, done := setup(t, Timeouts{Client: 10 * time.Second, Server: 10 * time.Second})
	reset(t, back)
	checkTerm(t, wait(t, done, 3*time.Second), "SD")
}

// The server resets while the client is uploading: the client→server copy
// fails on its write, which must still be blamed on the server.
func TestServerResetDuringUpload(t *testing.T) {
	cli, back, done := setup(t, Timeouts{Client: 10 * time.Second, Server: 10 * time.Second})
	go func() {
		blob := make([]byte, 64<<10)
		for {
			if _, err := cli.Write(blob); err != nil {
				return
			}
		}
	}()
	if _, err := io.ReadFull(back, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	reset(t, back)
	checkTerm(t, wait(t, done, 3*time.Second), "SD")
}

// The client resets while the server is streaming to it.
func TestClientResetDuringDownload(t *testing.T) {
	cli, back, done := setup(t, Timeouts{Client: 10 * time.Second, Server: 10 * time.Second})
	go func() {
		blob := make([]byte, 64<<10)
		for {
			if _, err := back.Write(blob); err != nil {
				return
			}
		}
	}()
	if _, err := io.ReadFull(cli, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	reset(t, cli)
	checkTerm(t, wait(t, done, 3*time.Second), "CD")
}

// Unix stream sockets are HalfClosers too (e.g. a server on a unix path).
func TestUnixServer(t *testing.T) {
	front := listen(t)
	path := filepath.Join(t.TempDir(), "s")
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	cli := dial(t, front.Addr())
	pc := accept(t, front)
	ps, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	back, err := ul.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	done := make(chan Result, 1)
	go func() { done <- Forward(pc, ps, Timeouts{Client: 5 * time.Second, Server: 5 * time.Second}, testPipes) }()

	up := randBytes(t, 1<<20)
	go func() {
		got, _ := io.ReadAll(back)
		back.Write(got) // echo after EOF
		back.CloseWrite()
	}()
	_, n, err := sendAndRead(cli, up)
	if err != nil || n != int64(len(up)) {
		t.Fatalf("echo: %d bytes, %v", n, err)
	}
	r := wait(t, done, 5*time.Second)
	checkTerm(t, r, "--")
	if r.BytesIn != int64(len(up)) || r.BytesOut != int64(len(up)) {
		t.Errorf("result %+v", r)
	}
}

// wrapped hides the concrete *net.TCPConn, forcing the buffered copy path
// (as for TLS or other userspace conns).
type wrapped struct{ *net.TCPConn }

func TestForwardNonSplice(t *testing.T) {
	cli, back, done := setupWith(t, Timeouts{Client: 5 * time.Second, Server: 5 * time.Second}, true)
	up := randBytes(t, 2<<20)
	go func() {
		got, _ := io.ReadAll(back)
		back.Write(got) // echo after EOF
		back.CloseWrite()
	}()
	sum, n, err := sendAndRead(cli, up)
	if err != nil || n != int64(len(up)) || sum != sha256.Sum256(up) {
		t.Fatalf("echo: %d bytes, %v", n, err)
	}
	checkTerm(t, wait(t, done, 5*time.Second), "--")

	// Timeouts and resets behave the same on this path.
	_, _, done2 := setupWith(t, Timeouts{Client: 150 * time.Millisecond, Server: 5 * time.Second}, true)
	checkTerm(t, wait(t, done2, 3*time.Second), "cD")
	_, back3, done3 := setupWith(t, Timeouts{Client: 5 * time.Second, Server: 5 * time.Second}, true)
	reset(t, back3)
	checkTerm(t, wait(t, done3, 3*time.Second), "SD")
}

func TestWindow(t *testing.T) {
	if w := window(0, 0); w != 0 {
		t.Errorf("window(0,0) = %v", w)
	}
	if w := window(0, 8*time.Second, 16*time.Second); w != time.Second {
		t.Errorf("window = %v", w)
	}
	if w := window(time.Microsecond); w != time.Millisecond {
		t.Errorf("window floor = %v", w)
	}
}

// BenchmarkForward moves 64 MiB client→server per iteration through a
// loopback session (splice on the proxy side).
func BenchmarkForward(b *testing.B) {
	const total = 64 << 20
	blob := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	b.SetBytes(total)
	for b.Loop() {
		cli, back, done := setup(b, Timeouts{Client: 30 * time.Second, Server: 30 * time.Second})
		go func() {
			for sent := 0; sent < total; sent += len(blob) {
				if _, err := cli.Write(blob); err != nil {
					return
				}
			}
			cli.CloseWrite()
		}()
		n, err := io.Copy(io.Discard, back)
		if err != nil || n != total {
			b.Fatalf("received %d, %v", n, err)
		}
		back.CloseWrite()
		if r := <-done; r.BytesIn != total {
			b.Fatalf("result %+v", r)
		}
		cli.Close()
		back.Close()
	}
}

// With TimeoutHalfCloses an idle client's timeout sends the server a FIN
// and the session goes on until the server closes too, named cD; without
// it the session ends at the timeout (TestClientTimeout).
func TestTimeoutHalfCloses(t *testing.T) {
	cli, back, done := setup(t, Timeouts{Client: 200 * time.Millisecond, Server: 10 * time.Second, TimeoutHalfCloses: true})
	cli.SetDeadline(time.Now().Add(3 * time.Second))
	back.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := back.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("backend read: %v, want EOF", err)
	}
	back.Write([]byte("late"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(cli, buf); err != nil || string(buf) != "late" {
		t.Fatalf("client read %q, %v: the server's direction is still open", buf, err)
	}
	back.CloseWrite()
	r := wait(t, done, 3*time.Second)
	checkTerm(t, r, "cD")
	if r.ResetServer || r.BytesOut != 4 {
		t.Errorf("result %+v: want the server closed with a FIN, 4 bytes out", r)
	}
}
