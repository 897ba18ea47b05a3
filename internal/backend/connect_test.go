package backend

import (
	"errors"
	"os"
	"testing"
)

// testConn is a connection the tests' dial makes: the server it reached.
type testConn struct{ srv *testServer }

// dialer fails towards the servers in down (with a timeout, so that
// retries do not pause) and counts the attempts per server.
func dialer(down ...*testServer) (func(*testServer) (testConn, error), map[*testServer]int) {
	tries := map[*testServer]int{}
	return func(s *testServer) (testConn, error) {
		tries[s]++
		for _, d := range down {
			if s == d {
				return testConn{}, os.ErrDeadlineExceeded
			}
		}
		return testConn{s}, nil
	}, tries
}

func TestConnectRedispatchesAfterAFailedConnect(t *testing.T) {
	f, srv := testFarm(t, "backend be\n option redispatch\n retries 2\n server s1 127.0.0.1:1\n server s2 127.0.0.1:2\n")
	s1, s2 := srv[0], srv[1]
	dial, tries := dialer(s1)
	var a Attempts
	got, c, reused, status := Connect(f, &s1.Server, PersistUp, 0, false, nil, dial, &a)
	if got != s2 || c.srv != s2 || reused || status != 0 {
		t.Fatalf("persistent request to a failing s1: %v %v %v %d; want a new connection to s2", got, c, reused, status)
	}
	if a.Retries != 1 || !a.Redispatched || tries[s1] != 1 {
		t.Errorf("retries %d, redispatched %v, s1 dialed %d times; want 1, true, 1", a.Retries, a.Redispatched, tries[s1])
	}
	if s1.Cur() != 0 || s2.Cur() != 1 || f.Cur() != 1 {
		t.Errorf("slots: s1 %d, s2 %d, farm %d; want 0 1 1", s1.Cur(), s2.Cur(), f.Cur())
	}
}

func TestConnectRetriesTheSameServerWithoutRedispatch(t *testing.T) {
	f, srv := testFarm(t, "backend be\n retries 2\n server s1 127.0.0.1:1\n server s2 127.0.0.1:2\n")
	s1 := srv[0]
	dial, tries := dialer(s1)
	var a Attempts
	got, _, _, status := Connect(f, &s1.Server, PersistUp, 0, false, nil, dial, &a)
	if got != nil || status != 503 || a.Retries != 2 || a.Redispatched || tries[s1] != 3 {
		t.Fatalf("got %v status %d, retries %d, redispatched %v, s1 dialed %d times; want 503 after 3 tries of s1",
			got, status, a.Retries, a.Redispatched, tries[s1])
	}
	if f.Cur() != 0 {
		t.Errorf("%d slots still held", f.Cur())
	}
}

func TestConnectReusesBeforeDialing(t *testing.T) {
	f, srv := testFarm(t, "backend be\n server s1 127.0.0.1:1\n")
	dial, tries := dialer()
	reuse := func(s *testServer) (testConn, bool) { return testConn{s}, true }
	got, _, reused, _ := Connect(f, nil, PersistUp, 0, false, reuse, dial, nil)
	if got != srv[0] || !reused || tries[srv[0]] != 0 {
		t.Fatalf("got %v reused %v, dialed %d times", got, reused, tries[srv[0]])
	}
	if !timedOut(os.ErrDeadlineExceeded) || timedOut(errors.New("refused")) {
		t.Error("timedOut")
	}
}

// force-persist: the preferred server is used although down, and a failed
// connect to it is retried there, never redispatched.
func TestConnectForcedUsesADownServerAndNeverRedispatches(t *testing.T) {
	f, srv := testFarm(t, "backend be\n option redispatch\n retries 2\n server s1 127.0.0.1:1\n server s2 127.0.0.1:2\n")
	s1, s2 := srv[0], srv[1]
	s1.SetUp(false)
	dial, _ := dialer()
	if got, _, _, status := Connect(f, &s1.Server, PersistForced, 0, false, nil, dial, nil); got != s1 || status != 0 {
		t.Fatalf("forced to a down s1: got %v status %d, want s1", got, status)
	}
	s1.Release()
	if got, _, _, _ := Connect(f, &s1.Server, PersistUp, 0, false, nil, dial, nil); got != s2 {
		t.Fatalf("not forced, s1 down: got %v, want s2", got)
	}
	s2.Release()
	s1.SetUp(true)
	dial, tries := dialer(s1)
	var a Attempts
	got, _, _, status := Connect(f, &s1.Server, PersistForced, 0, false, nil, dial, &a)
	if got != nil || status != 503 || a.Redispatched || tries[s1] != 3 || tries[s2] != 0 {
		t.Fatalf("forced to a failing s1: got %v status %d, redispatched %v, tries s1 %d s2 %d; want 503 after 3 tries of s1 only",
			got, status, a.Redispatched, tries[s1], tries[s2])
	}
}

// retry-on without conn-failure: a failed connect is not retried.
func TestConnectRetryOnWithoutConnFailure(t *testing.T) {
	f, srv := testFarm(t, "backend be\n retries 3\n retry-on 503\n server s1 127.0.0.1:1\n")
	dial, tries := dialer(srv[0])
	var a Attempts
	if got, _, _, status := Connect(f, nil, PersistUp, 0, false, nil, dial, &a); got != nil || status != 503 || tries[srv[0]] != 1 || a.Retries != 0 {
		t.Fatalf("got %v status %d after %d tries, retries %d; want 503 after 1 try", got, status, tries[srv[0]], a.Retries)
	}
}

// An L7 retry goes on with the attempts already made: with retries 2
// and 2 made, a failed connect is the last.
func TestConnectContinuesAnAttemptSequence(t *testing.T) {
	f, srv := testFarm(t, "backend be\n retries 2\n server s1 127.0.0.1:1\n")
	dial, tries := dialer(srv[0])
	a := Attempts{Retries: 2}
	if got, _, _, status := Connect(f, &srv[0].Server, PersistUp, 0, false, nil, dial, &a); got != nil || status != 503 || tries[srv[0]] != 1 || a.Retries != 2 {
		t.Fatalf("got %v status %d after %d tries, retries %d; want 503 after 1 try", got, status, tries[srv[0]], a.Retries)
	}
}
