package peers

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"dhproxy/internal/model"
	"dhproxy/internal/stick"
)

// testSection runs a peers section "p" whose local peer is "a" with one
// table "fe" (type ip, http_req_cnt) holding 10.0.0.1, and remote peer "b"
// at bAddr. It returns the runtime, a's address and the log.
func testSection(t *testing.T, bAddr string) (*Runtime, string, *logBuf) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	aAddr := l.Addr().String()
	l.Close()
	ps := &model.Peers{Name: "p", Peers: []*model.Peer{{Name: "a", Addr: aAddr}, {Name: "b", Addr: bAddr}}}
	ps.Local = ps.Peers[0]
	p := &model.Proxy{Name: "fe", StickTable: &model.StickTable{Peers: "p", PeersSection: ps}}
	cfg := &model.Config{Proxies: []*model.Proxy{p}, PeersList: []*model.Peers{ps}, LocalPeer: "a"}
	var sc stick.Config
	sc.Type, sc.Size, sc.Expire, sc.Store[stick.HTTPReqCnt] = stick.IP, 10, time.Minute, true
	tab := stick.New(sc)
	e := tab.Track([]byte{10, 0, 0, 1}, time.Now())
	tab.Count(e, stick.HTTPReqCnt, stick.HTTPReqRate, 5, time.Now())
	lb := &logBuf{}
	rt, err := Start(cfg, func(*model.Proxy) *stick.Table { return tab }, Options{PID: 1, Log: lb.log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt, aAddr, lb
}

type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) log(level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, "%s %s\n", level, msg)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// readUntil reads messages until one of class/type, returning the updates
// seen on the way.
func readUntil(t *testing.T, r *bufio.Reader, class, typ byte) (updates int) {
	t.Helper()
	var buf []byte
	for {
		m, b, err := readMsg(r, buf)
		buf = b
		if err != nil {
			t.Fatalf("waiting for message %d/%d: %v (%d updates seen)", class, typ, err, updates)
		}
		if m.class == classStickTable && m.typ == stktUpdateTimed {
			updates++
		}
		if m.class == class && m.typ == typ {
			return updates
		}
	}
}

// A peer asking for a resync is taught every entry, then told it is over.
func TestTeachOnResyncRequest(t *testing.T) {
	_, aAddr, _ := testSection(t, "127.0.0.1:1")
	c, err := net.Dial("tcp", aAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(hello{major: 2, minor: 1, remote: "a", local: "b", pid: 9}.append(nil))
	r := bufio.NewReader(c)
	if line, _ := readLine(r); line != "200" {
		t.Fatalf("status %q", line)
	}
	c.Write(appendMsg(nil, classControl, ctrlResyncReq, nil))
	if n := readUntil(t, r, classControl, ctrlResyncFinished); n == 0 {
		t.Fatal("resync finished without any update")
	}
	c.Write(appendMsg(nil, classControl, ctrlResyncConfirm, nil))
}

// A process with remote peers asks the first one it reaches for a resync,
// and confirms the end of the lesson.
func TestLearnAsksForResync(t *testing.T) {
	lb, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	testSection(t, lb.Addr().String())
	lb.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	c, err := lb.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	h, err := readHello(r)
	if err != nil || h.remote != "b" || h.local != "a" {
		t.Fatalf("hello %+v %v", h, err)
	}
	fmt.Fprintf(c, "200\n")
	readUntil(t, r, classControl, ctrlResyncReq)
	c.Write(appendMsg(nil, classControl, ctrlResyncFinished, nil))
	readUntil(t, r, classControl, ctrlResyncConfirm)
}

// A protocol error from the peer ends the session with a log line naming
// the peer, and an error message sent back.
func TestProtocolErrorLogged(t *testing.T) {
	_, aAddr, lb := testSection(t, "127.0.0.1:1")
	c, err := net.Dial("tcp", aAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(hello{major: 2, minor: 1, remote: "a", local: "b", pid: 9}.append(nil))
	r := bufio.NewReader(c)
	readLine(r)
	// A definition cut short.
	c.Write(appendMsg(nil, classStickTable, stktDefine, []byte{1, 9, 'f'}))
	readUntil(t, r, classError, errProtocol)
	for deadline := time.Now().Add(3 * time.Second); !strings.Contains(lb.String(), "protocol error"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line naming the peer:\n%s", lb.String())
		}
	}
	if !strings.Contains(lb.String(), "peer 'b' (127.0.0.1:") || !strings.Contains(lb.String(), "protocol error: table definition: table name: truncated value") {
		t.Errorf("log:\n%s", lb.String())
	}
}
