package conn

import (
	"errors"
	"io"
	"net"
	"os"
)

// IsTimeout tells whether err is a deadline or dial timeout.
func IsTimeout(err error) bool {
	// Most errors seen here are a peer's EOF, once per connection or h2
	// stream: errors.As would allocate its target for each.
	if err == nil || err == io.EOF {
		return false
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
