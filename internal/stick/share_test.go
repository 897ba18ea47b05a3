package stick

import (
	"testing"
	"time"
)

func TestShareQueuesLocalChangesOnce(t *testing.T) {
	cfg := Config{Type: IP, Size: 10, Expire: time.Minute}
	cfg.Store[HTTPReqCnt], cfg.Store[HTTPReqRate], cfg.Period[HTTPReqRate] = true, true, 10*time.Second
	tab := New(cfg)
	notify := make(chan struct{}, 1)
	tab.Share(notify)
	now := time.Unix(1000, 0)
	key := []byte{10, 0, 0, 1}
	e := tab.Track(key, now)
	tab.Count(e, HTTPReqCnt, HTTPReqRate, 3, now)
	tab.Refresh(e, now)
	select {
	case <-notify:
	default:
		t.Fatal("no notification for a tracked entry")
	}
	if got := tab.TakeUpdates(nil); len(got) != 1 || got[0] != e {
		t.Fatalf("updates %v, want the entry once", got)
	}
	if got := tab.TakeUpdates(nil); len(got) != 0 {
		t.Fatalf("updates taken twice: %v", got)
	}
	var s Snapshot
	if !tab.Snapshot(e, now.Add(time.Second), &s) || s.Vals[HTTPReqCnt] != 3 || s.Rates[HTTPReqRate].Curr != 3 || s.Expire != 59*time.Second {
		t.Fatalf("snapshot: %+v", s)
	}

	// What a peer sends is written but not queued back.
	other := New(cfg)
	other.Share(make(chan struct{}, 1))
	l := Learned{Snapshot: s, Timed: true}
	l.Has[HTTPReqCnt], l.Has[HTTPReqRate] = true, true
	if !other.Learn(&l, now) {
		t.Fatal("learn refused")
	}
	if got := other.TakeUpdates(nil); len(got) != 0 {
		t.Fatalf("a learned entry was queued for the peers: %v", got)
	}
	le := other.Find(key, now)
	if le == nil {
		t.Fatal("learned entry missing")
	}
	if n, _ := other.Get(le, HTTPReqCnt, now); n != 3 {
		t.Errorf("learned http_req_cnt %d, want 3", n)
	}
	if r, _ := other.Get(le, HTTPReqRate, now.Add(time.Second)); r != 3 {
		t.Errorf("learned http_req_rate %d, want 3", r)
	}
	if ms := other.remaining(le, now); ms != 59000 {
		t.Errorf("learned entry expires in %d ms, want the peer's 59000", ms)
	}
}

func TestLearnBadKeyAndFullTable(t *testing.T) {
	tab := New(Config{Type: IPv6, Size: 1, NoPurge: true})
	if tab.Learn(&Learned{Snapshot: Snapshot{Key: []byte{1, 2, 3, 4}}}, time.Now()) {
		t.Error("a 4-byte key was learned into an ipv6 table")
	}
	k := make([]byte, 16)
	if !tab.Learn(&Learned{Snapshot: Snapshot{Key: k}}, time.Now()) {
		t.Fatal("first key refused")
	}
	k2 := append([]byte{1}, k[1:]...)
	if tab.Learn(&Learned{Snapshot: Snapshot{Key: k2}}, time.Now()) {
		t.Error("nopurge table took a second key")
	}
}
