package stream

import (
	"testing"
	"time"

	"dhproxy/internal/http1"
	"dhproxy/internal/model"
)

// HAProxy 2.6 sent "SRV=c1|awbuU|awbuU" at Unix time 1795616333.
func TestCookieDateEncoding(t *testing.T) {
	if got := string(appendCookieDate(nil, 1795616333)); got != "awbuU" {
		t.Fatalf("date 1795616333 encoded %q, want awbuU as haproxy wrote it", got)
	}
	for _, unix := range []int64{4, 1795616333, 1795616336, 1<<32 - 4} {
		want := (unix + 3) &^ 3
		if got := b64ToDate(appendCookieDate(nil, unix)); got != want {
			t.Errorf("round trip of %d gave %d, want %d", unix, got, want)
		}
	}
	if b64ToDate([]byte("aw-uU")) != 0 {
		t.Error("an invalid digit must make the date unreadable")
	}
}

func cookieRequest(t *testing.T, method, cookie string) *http1.Request {
	t.Helper()
	var req http1.Request
	if _, err := http1.ParseRequest([]byte(method+" / HTTP/1.1\r\nHost: x\r\nCookie: "+cookie+"\r\n\r\n"), &req); err != nil {
		t.Fatal(err)
	}
	return &req
}

func TestCookieMaxIdleMaxLife(t *testing.T) {
	srv := &Server{}
	srv.Init(srv, &model.Server{Cookie: "c1"}) // up
	pc := newPersistCookie(&model.Cookie{Name: "SRV", Mode: "insert", MaxIdle: 30 * time.Second, MaxLife: time.Hour}, []*Server{srv})
	now := startOfDateTick()
	date := func(ago int64) string { return string(appendCookieDate(nil, now-ago)) }
	cases := []struct {
		cookie       string
		wantSrv      bool
		wantRefresh  bool
		wantFirstAgo int64 // the first-seen date kept in the refreshed cookie
	}{
		{"SRV=c1|" + date(0) + "|" + date(100), true, false, 100},
		{"SRV=c1|" + date(12) + "|" + date(100), true, true, 100},
		{"SRV=c1|" + date(40) + "|" + date(100), false, true, 0}, // idle too long
		{"SRV=c1|" + date(0) + "|" + date(4000), false, true, 0}, // lived too long
		{"SRV=c1|" + date(-90000), false, true, 0},               // a day ahead
		{"SRV=c1", true, true, 0},                                // no dates: accepted, dated
		{"SRV=|" + date(0) + "|" + date(0), false, true, 0},      // empty value never persists
		{"SRV=c1|AA-AA|" + date(100), true, true, 100},           // unreadable last date
	}
	for _, c := range cases {
		st := pc.request(cookieRequest(t, "GET", c.cookie), nil, false)
		if (st.srv == srv) != c.wantSrv {
			t.Errorf("%s: server chosen %v, want %v", c.cookie, st.srv != nil, c.wantSrv)
		}
		refresh := st.srv != srv || pc.needsDates(&st)
		if refresh != c.wantRefresh {
			t.Errorf("%s: new Set-Cookie %v, want %v", c.cookie, refresh, c.wantRefresh)
		}
		want := "c1|" + date(0) + "|" + date(c.wantFirstAgo)
		if got := string(pc.appendInsertValue(nil, srv, &st)); refresh && got != want {
			t.Errorf("%s: inserted %q, want %q", c.cookie, got, want)
		}
	}
}

func TestCookiePostOnlyMethod(t *testing.T) {
	pc := newPersistCookie(&model.Cookie{Name: "SRV", Mode: "insert", PostOnly: true}, nil)
	if pc.request(cookieRequest(t, "GET", "a=1"), nil, false).post || !pc.request(cookieRequest(t, "POST", "a=1"), nil, false).post || !pc.postOnly {
		t.Fatal("postonly must tell POST from other methods")
	}
}

// startOfDateTick waits until the second after a 4-second boundary, so that
// a cookie dated now stays current (not yet passed) for the next 2 seconds.
func startOfDateTick() int64 {
	for {
		if now := time.Now().Unix(); now%4 == 1 {
			return now
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Whatever a client puts after "SRV=c1|", reading its dates must not fail,
// and a date dhproxy wrote reads back as written.
func FuzzCookieDates(f *testing.F) {
	f.Add([]byte("awbuU|awbuU"), int64(1795616333))
	f.Add([]byte("|||"), int64(0))
	f.Add([]byte("AA-AA|zzzzzz"), int64(-5))
	f.Fuzz(func(t *testing.T, v []byte, unix int64) {
		cookieDates(v)
		unix &= 1<<32 - 1 - 3 // a 30-bit count of 4-second units
		if got := b64ToDate(appendCookieDate(nil, unix)); got != (unix+3)&^3 {
			t.Fatalf("date %d read back as %d", unix, got)
		}
	})
}
