package stream

import (
	"fmt"
	"io"
	"net"
	"os"
	"testing"
)

// isTimeout tells deadlines from other errors, and the common EOF costs
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
		if got := isTimeout(c.err); got != c.want {
			t.Errorf("isTimeout(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { isTimeout(io.EOF) }); n != 0 {
		t.Errorf("isTimeout(io.EOF): %.0f allocations", n)
	}
}
