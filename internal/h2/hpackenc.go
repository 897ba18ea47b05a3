package h2

import "golang.org/x/net/http2/hpack"

// fieldEncoder writes HPACK header blocks the way haproxy 2.6 does: a
// field is the index of a static table entry when one matches it whole,
// else a literal that is never added to the dynamic table (with the
// static table's index of its name when there is one), strings without
// Huffman coding. The encoder keeps no state but the table size it must
// announce: compared with an indexing encoder (x/net's), a response head
// costs no table search nor eviction, and its strings are not retained,
// for some bytes more on the wire.
type fieldEncoder struct {
	// tableSize is the dynamic table size the peer's decoder was told
	// of (4096 until its SETTINGS lower it); sizeUpdate: the next block
	// must begin by telling it (RFC 7541 4.2, 6.3).
	tableSize  uint32
	sizeUpdate bool
}

// setMaxTableSize applies the peer's SETTINGS_HEADER_TABLE_SIZE: a size
// below the one in use is announced in the next block. A larger one
// changes nothing, as the table stays empty.
func (e *fieldEncoder) setMaxTableSize(v uint32) {
	if v < e.tableSize {
		e.tableSize, e.sizeUpdate = v, true
	}
}

// begin starts a header block in dst.
func (e *fieldEncoder) begin(dst []byte) []byte {
	if e.sizeUpdate {
		e.sizeUpdate = false
		dst = appendInt(dst, 0x20, 5, uint64(e.tableSize))
	}
	return dst
}

// appendField encodes one field; its name is in lower case.
func appendField(dst []byte, f hpack.HeaderField) []byte {
	i, named := staticIndex(f.Name)
	if named && !f.Sensitive {
		// The entries of a name are adjacent.
		for j := int(i) - 1; j < len(staticTable) && staticTable[j].name == f.Name; j++ {
			if staticTable[j].value == f.Value && f.Value != "" {
				return appendInt(dst, 0x80, 7, uint64(j+1))
			}
		}
	}
	first := byte(0x00) // literal without indexing
	if f.Sensitive {
		first = 0x10 // never indexed (RFC 7541 6.2.3)
	}
	if named {
		dst = appendInt(dst, first, 4, uint64(i))
	} else {
		dst = append(dst, first)
		dst = appendString(dst, f.Name)
	}
	return appendString(dst, f.Value)
}

// appendStatus encodes the :status field of code as appendField would,
// without looking the static table up; a code that is not three digits
// is sent as 500.
func appendStatus(dst []byte, code int) []byte {
	switch code {
	case 200:
		return append(dst, 0x80|8)
	case 204:
		return append(dst, 0x80|9)
	case 206:
		return append(dst, 0x80|10)
	case 304:
		return append(dst, 0x80|11)
	case 400:
		return append(dst, 0x80|12)
	case 404:
		return append(dst, 0x80|13)
	case 500:
		return append(dst, 0x80|14)
	}
	if code < 100 || code > 999 {
		return append(dst, 0x80|14)
	}
	// A literal without indexing of the static name :status (8).
	return append(dst, 8, 3, byte('0'+code/100), byte('0'+code/10%10), byte('0'+code%10))
}

// appendFields encodes fields; their names are in lower case.
func appendFields(dst []byte, fields []hpack.HeaderField) []byte {
	for _, f := range fields {
		dst = appendField(dst, f)
	}
	return dst
}

// appendFieldLower encodes an HTTP/1 field as a literal, its name put in
// lower case (no static entry has a value an HTTP/1 response field needs).
// A name of the static table is sent as its index without being put in
// lower case first.
func appendFieldLower(dst, name, value []byte) []byte {
	if i, ok := staticIndexFold(name); ok {
		dst = appendInt(dst, 0x00, 4, uint64(i))
	} else {
		dst = append(dst, 0x00)
		dst = appendInt(dst, 0x00, 7, uint64(len(name)))
		dst = appendLower(dst, name)
	}
	dst = appendInt(dst, 0x00, 7, uint64(len(value)))
	return append(dst, value...)
}

// appendString encodes s as a string literal without Huffman coding.
func appendString(dst []byte, s string) []byte {
	dst = appendInt(dst, 0x00, 7, uint64(len(s)))
	return append(dst, s...)
}

// appendInt encodes v as an integer with an n-bit prefix (RFC 7541 5.1),
// the bits above the prefix in the first byte being first.
func appendInt(dst []byte, first byte, n uint, v uint64) []byte {
	max := uint64(1)<<n - 1
	if v < max {
		return append(dst, first|byte(v))
	}
	dst = append(dst, first|byte(max))
	v -= max
	for v >= 128 {
		dst = append(dst, byte(v&0x7f|0x80))
		v >>= 7
	}
	return append(dst, byte(v))
}

type staticPair struct{ name, value string }

// staticTable is RFC 7541 appendix A; entry i+1 is staticTable[i].
var staticTable = [...]staticPair{
	{":authority", ""}, {":method", "GET"}, {":method", "POST"}, {":path", "/"},
	{":path", "/index.html"}, {":scheme", "http"}, {":scheme", "https"}, {":status", "200"},
	{":status", "204"}, {":status", "206"}, {":status", "304"}, {":status", "400"},
	{":status", "404"}, {":status", "500"}, {"accept-charset", ""}, {"accept-encoding", "gzip, deflate"},
	{"accept-language", ""}, {"accept-ranges", ""}, {"accept", ""}, {"access-control-allow-origin", ""},
	{"age", ""}, {"allow", ""}, {"authorization", ""}, {"cache-control", ""},
	{"content-disposition", ""}, {"content-encoding", ""}, {"content-language", ""}, {"content-length", ""},
	{"content-location", ""}, {"content-range", ""}, {"content-type", ""}, {"cookie", ""},
	{"date", ""}, {"etag", ""}, {"expect", ""}, {"expires", ""},
	{"from", ""}, {"host", ""}, {"if-match", ""}, {"if-modified-since", ""},
	{"if-none-match", ""}, {"if-range", ""}, {"if-unmodified-since", ""}, {"last-modified", ""},
	{"link", ""}, {"location", ""}, {"max-forwards", ""}, {"proxy-authenticate", ""},
	{"proxy-authorization", ""}, {"range", ""}, {"referer", ""}, {"refresh", ""},
	{"retry-after", ""}, {"server", ""}, {"set-cookie", ""}, {"strict-transport-security", ""},
	{"transfer-encoding", ""}, {"user-agent", ""}, {"vary", ""}, {"via", ""},
	{"www-authenticate", ""},
}

// staticIndex returns the index of the first static table entry named
// name: one comparison at most, where a name is looked up by its length
// and a mix of three of its bytes (a search among the names of its
// length was a third of encoding a response head).
func staticIndex[T string | []byte](name T) (uint8, bool) {
	if len(name) == 0 || len(name) >= len(staticByHash) {
		return 0, false
	}
	i := staticByHash[len(name)][staticSlot(name)]
	if i != 0 && staticTable[i-1].name == string(name) {
		return i, true
	}
	return 0, false
}

// staticIndexFold is staticIndex of name in lower case (ASCII).
func staticIndexFold(name []byte) (uint8, bool) {
	n := len(name)
	if n == 0 || n >= len(staticByHash) {
		return 0, false
	}
	i := staticByHash[n][(lowerByte[name[0]]*3+lowerByte[name[n-1]]*2+lowerByte[name[n/2]])&15]
	if i == 0 {
		return 0, false
	}
	s := staticTable[i-1].name
	if len(s) != n {
		return 0, false
	}
	for k := range n {
		if lowerByte[name[k]] != s[k] {
			return 0, false
		}
	}
	return i, true
}

// staticSlot mixes three bytes of a non-empty name: with its length it
// tells the static table's names apart (TestStaticIndex).
func staticSlot[T string | []byte](name T) uint8 {
	n := len(name)
	return (name[0]*3 + name[n-1]*2 + name[n/2]) & 15
}

// staticByHash holds, by name length and staticSlot, the index of the
// first entry of each static table name (0: none).
var staticByHash = func() (t [28][16]uint8) {
	for i, p := range staticTable {
		if i > 0 && staticTable[i-1].name == p.name {
			continue
		}
		slot := &t[len(p.name)][staticSlot(p.name)]
		if *slot != 0 {
			panic("h2: static table names share a slot: " + p.name)
		}
		*slot = uint8(i + 1)
	}
	return t
}()
