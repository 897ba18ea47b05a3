package stream

import (
	"testing"

	"dhproxy/internal/conn"
)

// newAccounted returns a session as handle leaves it after a 200 served
// by srv of be.
func newAccounted() (*httpSession, *Backend, *Server) {
	be := &Backend{}
	srv := &Server{backend: be}
	s := &httpSession{fe: &Frontend{}, fdStore: new(conn.FD), tx: new(txnState)}
	s.lg.be, s.lg.srv, s.lg.status = be, srv, 200
	return s, be, srv
}

func TestAccount(t *testing.T) {
	s, be, srv := newAccounted()
	s.fdStore.SetCounts(100, 300)
	s.lg.bytesIn, s.lg.bytesOut = 90, 250 // bin and bout are the log's sizes
	s.account()
	s.fdStore.SetCounts(150, 700)
	s.lg.bytesIn, s.lg.bytesOut = 40, 380
	s.lg.status, s.lg.term = 502, [2]byte{'S', 'H'}
	s.account()
	if c := &s.fe.Stats; c.H1BytesIn.Load() != 150 || c.H1BytesOut.Load() != 700 {
		t.Errorf("h1 module: bytes in %d out %d, want the connection's", c.H1BytesIn.Load(), c.H1BytesOut.Load())
	}
	for name, c := range map[string]*Counters{"frontend": &s.fe.Stats, "backend": &be.Stats, "server": &srv.Stats} {
		if c.Bin.Load() != 130 || c.Bout.Load() != 630 || c.ReqTot.Load() != 2 || c.Hrsp[Hrsp2xx].Load() != 1 || c.Hrsp[Hrsp5xx].Load() != 1 {
			t.Errorf("%s: bin %d bout %d req %d 2xx %d 5xx %d", name, c.Bin.Load(), c.Bout.Load(), c.ReqTot.Load(), c.Hrsp[Hrsp2xx].Load(), c.Hrsp[Hrsp5xx].Load())
		}
	}
	if be.Stats.Eresp.Load() != 1 || srv.Stats.Eresp.Load() != 1 || s.fe.Stats.Eresp.Load() != 0 {
		t.Errorf("eresp: backend %d server %d", be.Stats.Eresp.Load(), srv.Stats.Eresp.Load())
	}
}

func TestAccountAllocs(t *testing.T) {
	s, _, _ := newAccounted()
	if n := testing.AllocsPerRun(100, s.account); n != 0 {
		t.Errorf("account allocates %v times per request", n)
	}
}

func TestRateCounter(t *testing.T) {
	var r rateCounter
	for i := 0; i < 5; i++ {
		r.add(100_500) // the period runs from the first event: 100.5 s to 101.5 s
	}
	r.add(101_400)
	if cur, max := r.read(101_400); cur != 6 || max != 6 {
		t.Errorf("rate at 101.4 s: %d (max %d), want the 6 of the period", cur, max)
	}
	r.add(101_600) // next period; the previous one weighs 90% at 101.6 s
	if cur, max := r.read(101_600); cur != 1+6*900/1000 || max != 6 {
		t.Errorf("rate at 101.6 s: %d (max %d)", cur, max)
	}
	if cur, _ := r.read(104_000); cur != 0 {
		t.Errorf("rate after a quiet second: %d", cur)
	}
	r.add(110_000) // after a quiet period the counter starts afresh
	if cur, _ := r.read(110_000); cur != 1 {
		t.Errorf("rate after a restart: %d", cur)
	}
}

// BenchmarkAccount is the stats cost added to every HTTP request.
func BenchmarkAccount(b *testing.B) {
	s, _, _ := newAccounted()
	conn.StartClock()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		in, out := s.fdStore.Counts()
		s.fdStore.SetCounts(in+100, out)
		s.account()
	}
}

// TestTimeStats checks HAProxy's arithmetic: the sums only accumulate up
// to the 1024th sample, then decay by sum/1024 per sample, and the
// average divides by the samples counted until the window is full.
func TestTimeStats(t *testing.T) {
	var c Counters
	for i, v := range []int32{100, 200, 301} {
		c.times.add(int64(i+1), [4]int32{v, 1, 2, 3})
	}
	if got := c.TimeAvg(TimeQueue, 3); got != 201 { // ceil(601/3)
		t.Errorf("qtime after 3 samples: %d, want 201", got)
	}
	if got := c.TimeMax(TimeQueue); got != 301 {
		t.Errorf("qtime_max: %d", got)
	}
	for n := int64(4); n <= 5000; n++ {
		c.times.add(n, [4]int32{50, 1, 2, 3})
	}
	if got := c.TimeAvg(TimeQueue, 5000); got != 50 {
		t.Errorf("qtime after 5000 samples of 50: %d", got)
	}
	if got := c.TimeAvg(TimeTotal, 5000); got != 3 {
		t.Errorf("ttime: %d", got)
	}
	c.ClearMax()
	if c.TimeMax(TimeQueue) != 0 {
		t.Errorf("clear counters left qtime_max")
	}
}
