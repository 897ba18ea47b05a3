package h2

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// decodeBlock decodes a header block with x/net's decoder.
func decodeBlock(t testing.TB, dec *hpack.Decoder, block []byte) []hpack.HeaderField {
	t.Helper()
	fs, err := dec.DecodeFull(block)
	if err != nil {
		t.Fatalf("decoding % x: %v", block, err)
	}
	return fs
}

func TestFieldEncoderRoundTrip(t *testing.T) {
	fields := []hpack.HeaderField{
		{Name: ":status", Value: "200"},       // a whole static entry
		{Name: ":status", Value: "502"},       // a static name
		{Name: ":method", Value: "POST"},      // second entry of a name
		{Name: ":path", Value: "/index.html"}, // second entry of a name
		{Name: "accept-encoding", Value: "gzip, deflate"},
		{Name: "content-length", Value: "100"},
		{Name: "www-authenticate", Value: "Basic"}, // index 61: past the 4-bit prefix
		{Name: "x-custom", Value: strings.Repeat("v", 300)},
		{Name: "authorization", Value: "secret", Sensitive: true},
		{Name: "x-empty", Value: ""},
		{Name: ":authority", Value: ""},
	}
	var e fieldEncoder
	e.tableSize = 4096
	block := e.begin(nil)
	for _, f := range fields {
		block = appendField(block, f)
	}
	dec := hpack.NewDecoder(4096, nil)
	got := decodeBlock(t, dec, block)
	if len(got) != len(fields) {
		t.Fatalf("decoded %d fields, want %d", len(got), len(fields))
	}
	for i := range fields {
		if got[i] != fields[i] {
			t.Errorf("field %d: got %+v, want %+v", i, got[i], fields[i])
		}
	}
	if block[0] != 0x88 {
		t.Errorf(":status 200 encoded as %#x, want the static index 8 (0x88)", block[0])
	}
	// The next block decodes alike: nothing entered the dynamic table.
	again := appendField(e.begin(nil), fields[5])
	if got := decodeBlock(t, dec, again); len(got) != 1 || got[0] != fields[5] {
		t.Errorf("second block: %+v", got)
	}
}

// A peer that lowers SETTINGS_HEADER_TABLE_SIZE is told in the next block
// (a decoder like nghttp2's refuses a block without the update).
func TestFieldEncoderTableSizeUpdate(t *testing.T) {
	var e fieldEncoder
	e.tableSize = 4096
	e.setMaxTableSize(8192) // larger: nothing to say
	if b := e.begin(nil); len(b) != 0 {
		t.Fatalf("a larger table size was announced: % x", b)
	}
	e.setMaxTableSize(0)
	b := appendField(e.begin(nil), hpack.HeaderField{Name: ":status", Value: "200"})
	if !bytes.Equal(b, []byte{0x20, 0x88}) {
		t.Fatalf("block after SETTINGS_HEADER_TABLE_SIZE 0: % x, want 20 88", b)
	}
	if b := e.begin(nil); len(b) != 0 {
		t.Fatalf("the update was sent twice: % x", b)
	}
	dec := hpack.NewDecoder(4096, nil)
	dec.SetAllowedMaxDynamicTableSize(0)
	decodeBlock(t, dec, []byte{0x20, 0x88})
}

func BenchmarkFieldEncoder(b *testing.B) {
	fields := []hpack.HeaderField{
		{Name: ":status", Value: "200"}, {Name: "server", Value: "nginx/1.22.1"},
		{Name: "date", Value: "Sat, 05 Dec 2026 23:40:00 GMT"}, {Name: "content-type", Value: "text/plain"},
		{Name: "content-length", Value: "100"},
	}
	var e fieldEncoder
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = e.begin(buf[:0])
		for _, f := range fields {
			buf = appendField(buf, f)
		}
	}
}

func FuzzFieldEncoder(f *testing.F) {
	f.Add(":status", "200", "x-a", "b", false)
	f.Add("content-type", "text/plain", "authorization", "x", true)
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string, sensitive bool) {
		fields := []hpack.HeaderField{{Name: n1, Value: v1}, {Name: n2, Value: v2, Sensitive: sensitive}}
		var e fieldEncoder
		e.tableSize = 4096
		block := e.begin(nil)
		for _, fl := range fields {
			block = appendField(block, fl)
		}
		dec := hpack.NewDecoder(4096, nil)
		dec.SetMaxStringLength(1 << 20)
		got := decodeBlock(t, dec, block)
		if len(got) != 2 || got[0] != fields[0] || got[1] != fields[1] {
			t.Fatalf("got %+v, want %+v", got, fields)
		}
	})
}

// An HTTP/1 field goes out with its name in lower case, by the static
// table's index when it has the name.
func TestAppendFieldLower(t *testing.T) {
	long := "X-" + strings.Repeat("Long-", 10) + "Name"
	block := appendFieldLower(nil, []byte("Content-Type"), []byte("text/plain"))
	if block[0] != 0x0f || block[1] != 31-15 {
		t.Errorf("Content-Type encoded as % x, want the static name index 31 (0f 10)", block[:2])
	}
	block = appendFieldLower(block, []byte(long), []byte("v"))
	block = appendFieldLower(block, []byte("X-Short"), nil)
	// The longest static name, and a name as long that is not one.
	block = appendFieldLower(block, []byte("Access-Control-Allow-Origin"), []byte("*"))
	block = appendFieldLower(block, []byte("X-Access-Control-Allow-Orig"), []byte("*"))
	got := decodeBlock(t, hpack.NewDecoder(4096, nil), block)
	want := []hpack.HeaderField{{Name: "content-type", Value: "text/plain"}, {Name: strings.ToLower(long), Value: "v"}, {Name: "x-short"},
		{Name: "access-control-allow-origin", Value: "*"}, {Name: "x-access-control-allow-orig", Value: "*"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// BenchmarkFieldLower: the fields of an nginx response head.
func BenchmarkFieldLower(b *testing.B) {
	fields := [][2][]byte{
		{[]byte("Server"), []byte("nginx/1.22.1")}, {[]byte("Date"), []byte("Sat, 05 Dec 2026 23:40:00 GMT")},
		{[]byte("Content-Type"), []byte("text/plain")}, {[]byte("Content-Length"), []byte("100")},
		{[]byte("X-Request-Id"), []byte("4f2a")},
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, f := range fields {
			buf = appendFieldLower(buf, f[0], f[1])
		}
	}
}

// TestAppendStatus: the :status field of every code is what appendField
// makes of its three digits (500 for a code that has not three).
func TestAppendStatus(t *testing.T) {
	for code := -1; code <= 1000; code++ {
		digits := strconv.Itoa(code)
		if code < 100 || code > 999 {
			digits = "500"
		}
		want := appendField(nil, hpack.HeaderField{Name: ":status", Value: digits})
		if got := appendStatus(nil, code); !bytes.Equal(got, want) {
			t.Fatalf("%d: % x, want % x", code, got, want)
		}
	}
}

// asciiLower is the byte-at-a-time lower case appendLower must give.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// TestAppendLower: every byte value, at every place of names of every
// length up to past two words, is lowered as one byte at a time would.
func TestAppendLower(t *testing.T) {
	for n := 1; n <= 20; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := bytes.Repeat([]byte{'Q'}, n)
				b[pos] = byte(c)
				got := appendLower([]byte("x"), b)
				if want := append([]byte("x"), asciiLower(b)...); !bytes.Equal(got, want) {
					t.Fatalf("%q: %q, want %q", b, got, want)
				}
			}
		}
	}
}

func FuzzAppendLower(f *testing.F) {
	f.Add([]byte("Content-Type"), []byte(""))
	f.Add([]byte("X-\xffAZ@[`{az"), []byte("ab"))
	f.Fuzz(func(t *testing.T, b, dst []byte) {
		// The callers' dst never shares memory with b.
		b, dst = bytes.Clone(b), bytes.Clone(dst)
		got := appendLower(dst, b)
		if want := append(append([]byte(nil), dst...), asciiLower(b)...); !bytes.Equal(got, want) {
			t.Fatalf("%q: %q, want %q", b, got, want)
		}
	})
}

// TestStaticIndex: every static table name is found, at its first entry,
// and names that are not in it (in any case, or close to one) are not.
func TestStaticIndex(t *testing.T) {
	for j, p := range staticTable {
		first := j
		for first > 0 && staticTable[first-1].name == p.name {
			first--
		}
		if i, ok := staticIndex(p.name); !ok || int(i) != first+1 {
			t.Errorf("%q: %d %v, want %d", p.name, i, ok, first+1)
		}
		if i, ok := staticIndex([]byte(p.name)); !ok || int(i) != first+1 {
			t.Errorf("%q as bytes: %d %v", p.name, i, ok)
		}
		for _, other := range []string{strings.ToUpper(p.name), p.name + "x", p.name[1:], "x" + p.name[1:], p.name[:len(p.name)-1] + "x"} {
			if i, ok := staticIndex(other); ok {
				t.Errorf("%q found as %d", other, i)
			}
		}
	}
	for _, name := range []string{"", "x", "x-request-id", strings.Repeat("a", 27), strings.Repeat("a", 300)} {
		if i, ok := staticIndex(name); ok {
			t.Errorf("%q found as %d", name, i)
		}
	}
}

// TestStaticIndexFold: a name in any case is found as staticIndex finds
// it in lower case.
func TestStaticIndexFold(t *testing.T) {
	names := []string{"", "x", "x-request-id", strings.Repeat("A", 27), "Content-Lengtx", "Xontent-Length", "ETAG", "etaG"}
	for _, p := range staticTable {
		names = append(names, p.name, strings.ToUpper(p.name), strings.ToUpper(p.name[:1])+p.name[1:], p.name+"x", p.name[1:])
	}
	for _, name := range names {
		wi, wok := staticIndex(strings.ToLower(name))
		if i, ok := staticIndexFold([]byte(name)); i != wi || ok != wok {
			t.Errorf("%q: %d %v, want %d %v", name, i, ok, wi, wok)
		}
	}
}
