//go:build !linux

package tcp

import (
	"net"
	"syscall"
)

// Pipes stands for HAProxy's pipe pool; without splice(2) it holds none
// and data is always copied through a buffer.
type Pipes struct{}

// NewPipes returns an empty pool.
func NewPipes(int) *Pipes { return &Pipes{} }

// Close does nothing.
func (p *Pipes) Close() {}

// Live reports the pipes open: none.
func (p *Pipes) Live() int { return 0 }

// rawConns reports that nothing can be spliced here.
func rawConns(src, dst net.Conn) (s, d syscall.RawConn, ok bool) { return nil, nil, false }

type splicer struct {
	pipes    *Pipes
	src, dst syscall.RawConn
	moved    func()
}

func (s *splicer) move(int) (int64, bool, error) { panic("tcp: no splice on this system") }
