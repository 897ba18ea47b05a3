package lb

import (
	"hash/crc32"
	"testing"
)

// Values printed by haproxy 2.6.12 for "%[path,sdbm] %[path,djb2] %[path,wt6]
// %[path,crc32]" and the same converters with avalanche (argument 1).
var haproxyHashes = []struct {
	key                      string
	sdbm, djb2, wt6, crc32   uint32
	sdbmA, djb2A, wt6A, crcA uint32
}{
	{"/", 47, 177620, 1886637733, 2043925204, 2118074832, 3725504903, 2250254464, 2724628003},
	{"/a", 3083250, 5861557, 1404582375, 1768979292, 1743195586, 3623408593, 652714202, 2112193429},
	{"/index.html", 858007926, 3776231887, 822151038, 3928116034, 4217574924, 1889807916, 2986733765, 571229468},
	{"/img/logo.png", 1396255617, 3813602436, 2589170451, 321868694, 2556399353, 2301779308, 1895340771, 3363016185},
	{"/some/very/long/path/that/exceeds/eight/bytes", 914626871, 1594029918, 346613577, 1187122754, 1762659349, 3353097820, 2874932391, 783563722},
}

func TestHashMatchesHAProxy(t *testing.T) {
	for _, c := range haproxyHashes {
		k := []byte(c.key)
		for _, x := range []struct {
			fn        string
			aval      bool
			got, want uint32
		}{
			{"sdbm", false, Hash("sdbm", false, k), c.sdbm},
			{"djb2", false, Hash("djb2", false, k), c.djb2},
			{"wt6", false, Hash("wt6", false, k), c.wt6},
			{"crc32", false, Hash("crc32", false, k), c.crc32},
			{"sdbm", true, Hash("sdbm", true, k), c.sdbmA},
			{"djb2", true, Hash("djb2", true, k), c.djb2A},
			{"wt6", true, Hash("wt6", true, k), c.wt6A},
			{"crc32", true, Hash("crc32", true, k), c.crcA},
		} {
			if x.got != x.want {
				t.Errorf("%s(%q) avalanche=%v = %d, haproxy says %d", x.fn, c.key, x.aval, x.got, x.want)
			}
		}
	}
}

func TestHashCRC32IsIEEE(t *testing.T) {
	for _, k := range []string{"", "a", "/some/path?x=1", "\x00\xff\x10"} {
		if got, want := HashCRC32([]byte(k)), crc32.ChecksumIEEE([]byte(k)); got != want {
			t.Errorf("HashCRC32(%q) = %08x, want %08x", k, got, want)
		}
	}
}
