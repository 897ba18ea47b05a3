// Package compression is haproxy's "compression" filter: which responses
// get their body encoded (the algorithm the request accepts, the
// conditions on the response), the header edits that go with it, and the
// streaming encoders, pooled because a flate writer costs about 1 MB.
package compression

// Algo is one of the algorithms of "compression algo".
type Algo uint8

const (
	None Algo = iota
	Identity
	Gzip
	Deflate    // zlib format, as RFC 9110 names it "deflate"
	RawDeflate // deflate without the zlib wrapper, sent as "deflate"
	numAlgos
)

var algoNames = [numAlgos]string{"", "identity", "gzip", "deflate", "raw-deflate"}

// ParseAlgo reads an algorithm's configuration name.
func ParseAlgo(name string) (Algo, bool) {
	for a := Identity; a < numAlgos; a++ {
		if algoNames[a] == name {
			return a, true
		}
	}
	return None, false
}

// String is the configuration name.
func (a Algo) String() string { return algoNames[a] }

// Token is the content-coding the algorithm matches in Accept-Encoding
// and announces in Content-Encoding (raw-deflate answers "deflate", as
// browsers expect).
func (a Algo) Token() string {
	if a == RawDeflate {
		return "deflate"
	}
	return algoNames[a]
}
