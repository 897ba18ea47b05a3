package conn

import "sync"

// BufPool recycles the per-connection buffers; idle keep-alive sessions give
// theirs back between requests. It hands out pointers so that giving a
// buffer back does not allocate.
type BufPool struct {
	Size int // of the buffers made; set before first use
	p    sync.Pool
}

// Get returns a buffer of Size bytes.
func (bp *BufPool) Get() *[]byte {
	if b, ok := bp.p.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, bp.Size)
	return &b
}

// Put gives b back.
func (bp *BufPool) Put(b *[]byte) { bp.p.Put(b) }
