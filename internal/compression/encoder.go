package compression

import (
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"sync"
)

// Encoder compresses one response body into HTTP/1.1 chunks, as the
// body arrives: Write what came, Chunk after each read to take what the
// compressor produced (its blocks come out as its window fills; as in
// haproxy it is flushed only at the end), Last at the end. An Encoder comes from Get and goes back with
// Put; the compressors inside are reused with Reset, never rebuilt.
type Encoder struct {
	algo    Algo
	level   int
	w       compressor
	out     chunkBuf
	In, Out int64 // bytes written in, compressed bytes out
}

// compressor is what flate, gzip and zlib writers have in common.
type compressor interface {
	io.Writer
	Close() error
	Reset(io.Writer)
}

// MaxLevel is the highest level tune.comp.maxlevel takes.
const MaxLevel = 9

var pools [numAlgos][MaxLevel + 1]sync.Pool

// Get returns an encoder for a at level (1 to 9).
func Get(a Algo, level int) *Encoder {
	level = max(1, min(level, MaxLevel))
	if e, ok := pools[a][level].Get().(*Encoder); ok {
		e.out.start()
		return e
	}
	e := &Encoder{algo: a, level: level}
	e.out.start()
	var err error
	switch a {
	case Gzip:
		e.w, err = gzip.NewWriterLevel(&e.out, level)
	case Deflate:
		e.w, err = zlib.NewWriterLevel(&e.out, level)
	case RawDeflate:
		e.w, err = flate.NewWriter(&e.out, level)
	default:
		e.w = &identity{&e.out}
	}
	if err != nil {
		panic(err) // level is within 1..9
	}
	return e
}

// keepBuf bounds the output buffer a pooled encoder keeps.
const keepBuf = 64 << 10

// Put gives e back for another response.
func (e *Encoder) Put() {
	e.w.Reset(&e.out)
	e.In, e.Out = 0, 0
	if cap(e.out.b) > keepBuf {
		e.out.b = nil
	}
	pools[e.algo][e.level].Put(e)
}

// Write compresses p; the output waits for Chunk or Last.
func (e *Encoder) Write(p []byte) {
	if len(p) == 0 {
		return
	}
	e.In += int64(len(p))
	e.w.Write(p) // writes to memory: no error
}

// Chunk returns what the compressor produced since the last call as one
// chunk (nil when nothing), valid until the next call.
func (e *Encoder) Chunk() []byte {
	if e.out.data() == 0 {
		return nil
	}
	return e.take(false, nil)
}

// Last ends the stream and returns the last data chunk, the last-chunk
// and the trailer section (trailers: its fields, each ending in CRLF).
func (e *Encoder) Last(trailers []byte) []byte {
	e.w.Close()
	return e.take(true, trailers)
}

func (e *Encoder) take(last bool, trailers []byte) []byte {
	e.Out += int64(e.out.data())
	at := e.out.frame()
	if last {
		e.out.b = append(e.out.b, "0\r\n"...)
		e.out.b = append(e.out.b, trailers...)
		e.out.b = append(e.out.b, "\r\n"...)
	}
	b := e.out.b[at:]
	e.out.start() // b stays readable: start only reslices
	return b
}

// chunkBuf collects compressed bytes behind room for their chunk-size
// line, so that a chunk is framed without copying its data.
type chunkBuf struct{ b []byte }

const sizeRoom = len("ffffffff\r\n")

func (c *chunkBuf) start() {
	if cap(c.b) < sizeRoom {
		c.b = make([]byte, sizeRoom, 4096)
	}
	c.b = c.b[:sizeRoom]
}

func (c *chunkBuf) Write(p []byte) (int, error) {
	c.b = append(c.b, p...)
	return len(p), nil
}

func (c *chunkBuf) data() int { return len(c.b) - sizeRoom }

// frame writes the chunk-size line before the collected data and the
// CRLF after it, and returns where the chunk starts in b (an empty chunk
// is no chunk: nothing is added).
func (c *chunkBuf) frame() (at int) {
	n := c.data()
	if n == 0 {
		return sizeRoom
	}
	var hex [8]byte
	i := len(hex)
	for v := n; v > 0; v >>= 4 {
		i--
		hex[i] = "0123456789abcdef"[v&15]
	}
	at = sizeRoom - 2 - (len(hex) - i)
	copy(c.b[at:], hex[i:])
	c.b[sizeRoom-2], c.b[sizeRoom-1] = '\r', '\n'
	c.b = append(c.b, "\r\n"...)
	return at
}

// identity passes the body through unchanged.
type identity struct{ w io.Writer }

func (i *identity) Write(p []byte) (int, error) { return i.w.Write(p) }
func (i *identity) Close() error                { return nil }
func (i *identity) Reset(w io.Writer)           { i.w = w }
