package runtimeapi

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// "show cache": each cache section, then its entries, in haproxy 2.6's
// line format. haproxy prints the addresses of its structures; dhproxy
// has none to show and numbers the caches and entries instead. Its
// "available blocks" are the blocks not held by a response being sent,
// which haproxy's shared memory counts: all of them between requests.
func init() {
	commands = append(commands,
		command{[]string{"show", "cache"}, "show cache", "show cache status", levelAdmin, cmdShowCache},
	)
}

func cmdShowCache(s *session, _ []string) string {
	var b strings.Builder
	for i, c := range s.srv.src.RT.Caches() {
		base := uint64(i+1) << 32
		fmt.Fprintf(&b, "%#x: %s (shctx:%#x, available blocks:%d)\n", base+0x3a, c.Name, base, c.TotalMax/1024)
		for j, e := range c.Entries() {
			var vary [8]byte
			binary.LittleEndian.PutUint32(vary[:4], e.Vary.Encodings)
			binary.LittleEndian.PutUint32(vary[4:], uint32(e.Vary.Referer))
			fmt.Fprintf(&b, "%#x hash:%d vary:0x%016x size:%d (%d blocks), refcount:0, expire:%d\n",
				base+0x1000+uint64(j)*0x400, binary.LittleEndian.Uint32(e.Key[:4]), binary.BigEndian.Uint64(vary[:]), e.Size, e.Blocks, e.Expire)
		}
	}
	return b.String()
}
