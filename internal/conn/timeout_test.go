package conn

import (
	"fmt"
	"io"
	"net"
	"os"
	"testing"
)

// IsTimeout tells deadlines from other errors, and the common EOF costs
// no allocation.
func TestIsTimeout(t *testing.T) {
	wrapped := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false}, {io.EOF, false}, {fmt.Errorf("x: %w", io.EOF), false},
		{os.ErrDeadlineExceeded, true}, {wrapped, true}, {&net.DNSError{IsTimeout: true}, true},
		{&net.OpError{Op: "read", Err: os.ErrClosed}, false},
	} {
		if got := IsTimeout(c.err); got != c.want {
			t.Errorf("IsTimeout(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { IsTimeout(io.EOF) }); n != 0 {
		t.Errorf("IsTimeout(io.EOF): %.0f allocations", n)
	}
}
