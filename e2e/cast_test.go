package e2e

import (
	"fmt"
	"testing"
)

// TestStringToIntCastAsHAProxy: strings read as integers (add, mul, bool)
// give what haproxy 2.6 gives: the leading number, 0 for a string that
// does not start with one, no value for an empty string.
func TestStringToIntCastAsHAProxy(t *testing.T) {
	const want = "a=1 e= m=-11 b=0 c=0 d=1\n"
	for _, path := range []string{haproxyBin, bin} {
		fe := freePort(t)
		p := startBinary(t, path, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    http-request set-var(txn.a) str(abc),add(1)
    http-request set-var(txn.e) str(),add(1)
    http-request set-var(txn.m) str(-12x),add(1)
    http-request return status 200 content-type text/plain lf-string "a=%%[var(txn.a)] e=%%[var(txn.e)] m=%%[var(txn.m)] b=%%[str(zz),mul(3)] c=%%[str(x),bool] d=%%[str(7y),bool]\n"
`, fe), fe)
		got, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", fe))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s answered %q, want %q", path, got, want)
		}
		p.stop()
	}
}
