package peers

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/sample"
	"dhproxy/internal/stick"
)

func TestVarint(t *testing.T) {
	// Boundaries of each length, and the encodings HAProxy produces.
	for _, c := range []struct {
		v   uint64
		hex string
	}{
		{0, "00"}, {239, "ef"}, {240, "f000"}, {2287, "ff7f"}, {2288, "f08000"},
		{264431, "ffff7f"}, {264432, "f0808000"}, {1<<64 - 1, ""},
	} {
		b := sample.AppendVarint(nil, c.v)
		if c.hex != "" && hex.EncodeToString(b) != c.hex {
			t.Errorf("encode %d: %x, want %s", c.v, b, c.hex)
		}
		got, n, ok := readVarint(append(b, 0x55))
		if !ok || got != c.v || n != len(b) {
			t.Errorf("decode %x: %d (%d bytes, %v), want %d (%d bytes)", b, got, n, ok, c.v, len(b))
		}
		if _, _, ok := readVarint(b[:len(b)-1]); ok {
			t.Errorf("decode of truncated %x succeeded", b)
		}
	}
}

// A definition and an update as haproxy 2.6 sent them for
// "stick-table type ip size 10 expire 1m store http_req_cnt,conn_cur,conn_cnt,http_req_rate(10s),gpc0".
const (
	haDefine = "020266650404f456f0971c0af0e203"
	haUpdate = "000000030000ba897f00000100010001f7ee040100"
)

func TestParseHAProxyMessages(t *testing.T) {
	body, _ := hex.DecodeString(haDefine)
	d, err := parseDefinition(body)
	if err != nil {
		t.Fatal(err)
	}
	want := uint64(1<<2 | 1<<4 | 1<<6 | 1<<9 | 1<<10)
	if d.id != 2 || d.name != "fe" || d.keyType != keyIPv4 || d.keySize != 4 || d.data != want || d.expire != 60000 || d.period[10] != 10000 {
		t.Fatalf("definition: %+v", d)
	}
	if got := d.append(nil); !bytes.Equal(got, body) {
		t.Errorf("re-encoded definition %x, want %s", got, haDefine)
	}
	body, _ = hex.DecodeString(haUpdate)
	u, err := parseUpdate(body, stktUpdateTimed, &d)
	if err != nil {
		t.Fatal(err)
	}
	if !u.hasID || u.id != 3 || !u.timed || u.expire != 47753 || !bytes.Equal(u.key, []byte{127, 0, 0, 1}) ||
		u.vals[4] != 1 || u.vals[9] != 1 || u.rates[10].curr != 1 || u.rates[10].elapsed == 0 {
		t.Fatalf("update: %+v", u)
	}
	if got := appendUpdate(nil, &d, &u); !bytes.Equal(got, body) {
		t.Errorf("re-encoded update %x, want %s", got, haUpdate)
	}
}

func TestUpdateStringKeyAndSkippedTypes(t *testing.T) {
	// A table with server_id, server_key (a dictionary entry), gpc array
	// of 2 and a rate: what dhproxy does not store is read past.
	d := definition{id: 1, name: "/t", keyType: keyStr, keySize: 33, data: 1<<wireServerID | 1<<wireServerKey | 1<<wireGPC | 1<<10, expire: 1000}
	d.nelem[wireGPC], d.period[10] = 2, 5000
	def, err := parseDefinition(d.append(nil))
	if err != nil || def.nelem[wireGPC] != 2 || def.period[10] != 5000 {
		t.Fatalf("definition round trip: %+v %v", def, err)
	}
	var b []byte
	b = append(b, 0, 0, 0, 9)                                                      // update id
	b = append(sample.AppendVarint(b, 3), "abc"...)                                // key
	b = sample.AppendVarint(b, 4)                                                  // server_id (type 0)
	b = sample.AppendVarint(sample.AppendVarint(sample.AppendVarint(b, 10), 2), 1) // http_req_rate (type 10)
	b = append(sample.AppendVarint(b, 3), 1, 1, 's')                               // server_key (19): id 1, value "s"
	b = sample.AppendVarint(sample.AppendVarint(b, 300), 7)                        // gpc[0], gpc[1] (23)
	u, err := parseUpdate(b, stktUpdate, &def)
	if err != nil {
		t.Fatal(err)
	}
	if string(u.key) != "abc" || !u.hasSrv || u.serverID != 4 || u.rates[10] != (rate{10, 2, 1}) || u.timed {
		t.Errorf("update: %+v", u)
	}
	if _, err := parseUpdate(b[:len(b)-1], stktUpdate, &def); !errors.Is(err, errTruncated) {
		t.Errorf("truncated update: %v", err)
	}
	long := append([]byte{0, 0, 0, 9}, sample.AppendVarint(nil, 40)...)
	if _, err := parseUpdate(append(long, make([]byte, 40)...), stktUpdate, &def); err == nil {
		t.Error("a key longer than the peer's key size was accepted")
	}
}

func TestReadMsg(t *testing.T) {
	in := appendMsg(nil, classControl, ctrlHeartbeat, nil)
	in = appendMsg(in, classStickTable, stktAck, appendAck(nil, 3, 77))
	r := bufio.NewReader(bytes.NewReader(in))
	m, buf, err := readMsg(r, nil)
	if err != nil || m.class != classControl || m.typ != ctrlHeartbeat || len(m.body) != 0 {
		t.Fatalf("heartbeat: %v %v", m, err)
	}
	m, _, err = readMsg(r, buf)
	if err != nil || m.typ != stktAck || hex.EncodeToString(m.body) != "030000004d" {
		t.Fatalf("ack: %v %x %v", m, m.body, err)
	}
	big := append([]byte{classStickTable, stktUpdate}, sample.AppendVarint(nil, maxBody+1)...)
	if _, _, err := readMsg(bufio.NewReader(bytes.NewReader(big)), nil); !errors.Is(err, errBodyTooLarge) {
		t.Errorf("oversized body: %v", err)
	}
}

func TestReadHello(t *testing.T) {
	h, err := readHello(bufio.NewReader(strings.NewReader("HAProxyS 2.1\nb\na 1234 1\n")))
	if err != nil || h.remote != "b" || h.local != "a" || h.pid != 1234 || h.minor != 1 {
		t.Fatalf("hello: %+v %v", h, err)
	}
	if got := string(h.append(nil)); got != "HAProxyS 2.1\nb\na 1234 1\n" {
		t.Errorf("hello written as %q", got)
	}
	for in, status := range map[string]int{
		"GET / HTTP/1.1\r\n":       statusErrProto,
		"HAProxyS 3.0\n":           statusErrVer,
		"HAProxyS 2.9\n":           statusErrVer,
		"HAProxyS two\n":           statusErrVer,
		"HAProxyS 2.1\nb\nnopid\n": statusErrProto,
		"HAProxyS 2.1\n" + strings.Repeat("x", 2000) + "\n": statusErrProto,
	} {
		_, err := readHello(bufio.NewReader(strings.NewReader(in)))
		var he *helloError
		if !errors.As(err, &he) || he.status != status {
			t.Errorf("%.30q: %v, want status %d", in, err, status)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to the message reader and the
// definition and update decoders: errors, never a panic or a huge
// allocation.
func FuzzDecode(f *testing.F) {
	def, _ := hex.DecodeString(haDefine)
	upd, _ := hex.DecodeString(haUpdate)
	f.Add(appendMsg(appendMsg(nil, classStickTable, stktDefine, def), classStickTable, stktUpdateTimed, upd))
	f.Add([]byte("HAProxyS 2.1\na\nb 1 1\n"))
	f.Add([]byte{10, 0x82, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		readHello(bufio.NewReader(bytes.NewReader(in)))
		var d *definition
		var buf []byte
		for range 64 {
			m, b, err := readMsg(r, buf)
			buf = b
			if err != nil {
				return
			}
			switch m.typ {
			case stktDefine:
				if nd, err := parseDefinition(m.body); err == nil {
					d = &nd
					if _, err := parseDefinition(nd.append(nil)); err != nil {
						t.Fatalf("re-encoded definition does not parse: %v", err)
					}
				}
			case stktUpdate, stktIncUpdate, stktUpdateTimed, stktIncUpdateTimed:
				if d != nil {
					parseUpdate(m.body, m.typ, d)
				}
			}
		}
	})
}

// An entry of a table without expiry goes as a plain update (no expiry
// field): the receiver keeps it as long as its own table says.
func TestUntimedUpdateForEntryWithoutExpiry(t *testing.T) {
	var cfg stick.Config
	cfg.Type, cfg.Size, cfg.Store[stick.GPC0] = stick.Integer, 10, true
	tab := stick.New(cfg)
	sh := &shared{id: 1, t: tab}
	sh.def = defineTable(1, "be", tab, true)
	if sh.def.data != 1<<wireServerID|1<<2 || sh.def.keyType != keySInt || sh.def.expire != 0 {
		t.Fatalf("definition %+v", sh.def)
	}
	snap := stick.Snapshot{Key: []byte{0, 0, 1, 0}, ServerID: 3}
	snap.Vals[stick.GPC0] = 9
	u := snapshotUpdate(sh, &snap, 7)
	if updateType(&u) != stktUpdate {
		t.Fatalf("type %#x, want a plain update", updateType(&u))
	}
	body := appendUpdate(nil, &sh.def, &u)
	if got := hex.EncodeToString(body); got != "00000007"+"00000100"+"03"+"09" {
		t.Errorf("body %s", got)
	}
	back, err := parseUpdate(body, stktUpdate, &sh.def)
	if err != nil || back.timed || back.serverID != 3 || back.vals[2] != 9 {
		t.Errorf("decoded %+v %v", back, err)
	}
}

// haproxy 2.6's arrays on the wire: the definition carries each array's
// element count (and gpc_rate's period after it), an update each
// element in turn; a learned array longer than the local one is cut.
func TestArraysOnTheWire(t *testing.T) {
	var cfg stick.Config
	cfg.Type, cfg.Size = stick.IP, 10
	cfg.Store[stick.GPT], cfg.Elems[stick.GPT] = true, 1
	cfg.Store[stick.GPC], cfg.Elems[stick.GPC] = true, 2
	cfg.Store[stick.GPCRate], cfg.Elems[stick.GPCRate], cfg.Period[stick.GPCRate] = true, 2, 10*time.Second
	tab := stick.New(cfg)
	sh := &shared{id: 1, t: tab}
	sh.def = defineTable(1, "t", tab, false)
	def := sh.def.append(nil)
	// id 1, "t", key type ip (4) size 4, data bits 22-24, expire 0, then
	// gpt: 1 element, gpc: 2, gpc_rate: 2 and 10000 ms
	want := "01" + "0174" + "04" + "04" + "f0f1fe6e" + "00" + "1601" + "1702" + "1802f0e203"
	if got := hex.EncodeToString(def); got != want {
		t.Fatalf("definition %s, want %s", got, want)
	}
	back, err := parseDefinition(def)
	if err != nil || back.nelem[wireGPC] != 2 || back.period[wireGPCRate] != 10000 {
		t.Fatalf("definition decoded %+v %v", back, err)
	}
	snap := stick.Snapshot{Key: []byte{127, 0, 0, 1}, GPT: []uint64{5}, GPC: []uint64{1, 300}, GPCRate: []stick.Rate{{Curr: 2}, {Elapsed: time.Second, Curr: 1, Prev: 4}}}
	u := snapshotUpdate(sh, &snap, 9)
	body := appendUpdate(nil, &sh.def, &u)
	if got := hex.EncodeToString(body); got != "00000009"+"7f000001"+"05"+"01"+"fc03"+"000200"+"f82f0104" {
		t.Errorf("update body %s", got)
	}
	// a peer whose table keeps 3 gpc elements: the third is left out
	peer := sh.def
	peer.nelem[wireGPC] = 3
	pu := u
	pu.gpc = []uint64{1, 300, 7}
	pb := appendUpdate(nil, &peer, &pu)
	got, err := parseUpdate(pb, stktUpdate, &peer)
	if err != nil || len(got.gpc) != 3 || got.gpc[2] != 7 || got.gpt[0] != 5 || got.gpcRate[1].prev != 4 {
		t.Fatalf("update decoded %+v %v", got, err)
	}
	var l stick.Learned
	learnedFrom(&got, &peer, &l)
	if !tab.Learn(&l, time.Now()) {
		t.Fatal("not learned")
	}
	e := tab.Find([]byte{127, 0, 0, 1}, time.Now())
	if v, ok := tab.GetAt(e, stick.GPC, 1, time.Now()); !ok || v != 300 {
		t.Errorf("gpc1 learned %d %v", v, ok)
	}
	if v, ok := tab.GetAt(e, stick.GPT, 0, time.Now()); !ok || v != 5 {
		t.Errorf("gpt0 learned %d %v", v, ok)
	}
	if tab.StoresAt(stick.GPC, 2) {
		t.Error("a third gpc element appeared")
	}
}
