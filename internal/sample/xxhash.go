package sample

import (
	"encoding/binary"
	"math/bits"
)

// XXH32 and XXH64 as the xxHash specification (doc/xxhash_spec.md of the
// xxHash project) defines them; haproxy's xxh32 and xxh64 converters
// answer them for the seed given. XXH3 comes from github.com/zeebo/xxh3.

const (
	xxp32a = 0x9E3779B1
	xxp32b = 0x85EBCA77
	xxp32c = 0xC2B2AE3D
	xxp32d = 0x27D4EB2F
	xxp32e = 0x165667B1

	xxp64a = 0x9E3779B185EBCA87
	xxp64b = 0xC2B2AE3D27D4EB4F
	xxp64c = 0x165667B19E3779F9
	xxp64d = 0x85EBCA77C2B2AE63
	xxp64e = 0x27D4EB2F165667C5
)

func xxh32Round(acc, lane uint32) uint32 {
	return bits.RotateLeft32(acc+lane*xxp32b, 13) * xxp32a
}

func xxh32(b []byte, seed uint32) uint32 {
	n := uint32(len(b))
	var acc uint32
	if len(b) >= 16 {
		v1, v2, v3, v4 := seed+xxp32a+xxp32b, seed+xxp32b, seed, seed-xxp32a
		for ; len(b) >= 16; b = b[16:] {
			v1 = xxh32Round(v1, binary.LittleEndian.Uint32(b))
			v2 = xxh32Round(v2, binary.LittleEndian.Uint32(b[4:]))
			v3 = xxh32Round(v3, binary.LittleEndian.Uint32(b[8:]))
			v4 = xxh32Round(v4, binary.LittleEndian.Uint32(b[12:]))
		}
		acc = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) + bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		acc = seed + xxp32e
	}
	acc += n
	for ; len(b) >= 4; b = b[4:] {
		acc = bits.RotateLeft32(acc+binary.LittleEndian.Uint32(b)*xxp32c, 17) * xxp32d
	}
	for _, c := range b {
		acc = bits.RotateLeft32(acc+uint32(c)*xxp32e, 11) * xxp32a
	}
	acc ^= acc >> 15
	acc *= xxp32b
	acc ^= acc >> 13
	acc *= xxp32c
	acc ^= acc >> 16
	return acc
}

func xxh64Round(acc, lane uint64) uint64 {
	return bits.RotateLeft64(acc+lane*xxp64b, 31) * xxp64a
}

func xxh64Merge(acc, v uint64) uint64 {
	return (acc^xxh64Round(0, v))*xxp64a + xxp64d
}

// XXH64 is the XXH64 hash of b with seed (the xxh64 converter; HAProxy's
// dynamic cookies use seed 0).
func XXH64(b []byte, seed uint64) uint64 {
	n := uint64(len(b))
	var acc uint64
	if len(b) >= 32 {
		v1, v2, v3, v4 := seed+xxp64a+xxp64b, seed+xxp64b, seed, seed-xxp64a
		for ; len(b) >= 32; b = b[32:] {
			v1 = xxh64Round(v1, binary.LittleEndian.Uint64(b))
			v2 = xxh64Round(v2, binary.LittleEndian.Uint64(b[8:]))
			v3 = xxh64Round(v3, binary.LittleEndian.Uint64(b[16:]))
			v4 = xxh64Round(v4, binary.LittleEndian.Uint64(b[24:]))
		}
		acc = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		acc = xxh64Merge(acc, v1)
		acc = xxh64Merge(acc, v2)
		acc = xxh64Merge(acc, v3)
		acc = xxh64Merge(acc, v4)
	} else {
		acc = seed + xxp64e
	}
	acc += n
	for ; len(b) >= 8; b = b[8:] {
		acc ^= xxh64Round(0, binary.LittleEndian.Uint64(b))
		acc = bits.RotateLeft64(acc, 27)*xxp64a + xxp64d
	}
	if len(b) >= 4 {
		acc ^= uint64(binary.LittleEndian.Uint32(b)) * xxp64a
		acc = bits.RotateLeft64(acc, 23)*xxp64b + xxp64c
		b = b[4:]
	}
	for _, c := range b {
		acc ^= uint64(c) * xxp64e
		acc = bits.RotateLeft64(acc, 11) * xxp64a
	}
	acc ^= acc >> 33
	acc *= xxp64b
	acc ^= acc >> 29
	acc *= xxp64c
	acc ^= acc >> 32
	return acc
}
