package model

import "testing"

func TestRetryOnBits(t *testing.T) {
	var unset RetryOn
	if !unset.ConnFailure() || unset&RetryL7 != 0 {
		t.Error("an unset retry-on is conn-failure alone")
	}
	if none := retrySet; none.ConnFailure() || none&RetryL7 != 0 {
		t.Error("retry-on none retries nothing")
	}
	r := retrySet | retryStatusBit(503) | retryStatusBit(401)
	if r.ConnFailure() || r&RetryL7 == 0 || !r.Status(503) || !r.Status(401) || r.Status(504) || r.Status(200) {
		t.Errorf("retry-on 401 503: %b", r)
	}
	if retryStatusBit(200) != 0 || retryStatusBit(599) != 0 {
		t.Error("statuses haproxy does not retry on have no bit")
	}
}
