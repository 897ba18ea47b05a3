// Package fcgi speaks FastCGI 1.0 (the Responder role) to an application
// server such as PHP-FPM, for servers with "proto fcgi": the records, the
// name-value pairs of FCGI_PARAMS, and Conn, which carries the HTTP/1.1
// exchange the pipeline writes and reads over FastCGI records.
package fcgi

import (
	"encoding/binary"
	"errors"
)

// Record types (FastCGI 1.0, section 8).
const (
	TypeBeginRequest    = 1
	TypeAbortRequest    = 2
	TypeEndRequest      = 3
	TypeParams          = 4
	TypeStdin           = 5
	TypeStdout          = 6
	TypeStderr          = 7
	TypeData            = 8
	TypeGetValues       = 9
	TypeGetValuesResult = 10
	TypeUnknownType     = 11
)

// Protocol statuses of FCGI_END_REQUEST.
const (
	RequestComplete = 0
	CantMpxConn     = 1
	Overloaded      = 2
	UnknownRole     = 3
)

const (
	version       = 1
	headerLen     = 8
	maxContent    = 65535
	roleResponder = 1
	flagKeepConn  = 1
)

// Header is a record's header; the content and the padding follow it.
type Header struct {
	Type      uint8
	ID        uint16
	ContentLn uint16
	PaddingLn uint8
}

// ErrVersion is a record whose version is not 1: the stream is not
// FastCGI, or it lost its framing.
var ErrVersion = errors.New("fcgi: record version is not 1")

// ParseRecord reads the record at the start of b: its header, its content
// (a slice of b) and the bytes it spans with its padding. n is 0 while b
// does not hold the whole record.
func ParseRecord(b []byte) (h Header, content []byte, n int, err error) {
	if len(b) < headerLen {
		return h, nil, 0, nil
	}
	if b[0] != version {
		return h, nil, 0, ErrVersion
	}
	h = Header{Type: b[1], ID: binary.BigEndian.Uint16(b[2:]), ContentLn: binary.BigEndian.Uint16(b[4:]), PaddingLn: b[6]}
	total := headerLen + int(h.ContentLn) + int(h.PaddingLn)
	if len(b) < total {
		return h, nil, 0, nil
	}
	return h, b[headerLen : headerLen+int(h.ContentLn)], total, nil
}

// AppendHeader appends a record header for n bytes of content (no padding).
func AppendHeader(dst []byte, typ uint8, id uint16, n int) []byte {
	return append(dst, version, typ, byte(id>>8), byte(id), byte(n>>8), byte(n), 0, 0)
}

// AppendRecords appends p as records of type typ, each at most 65535
// bytes; an empty p gives the one empty record that ends a stream.
func AppendRecords(dst []byte, typ uint8, id uint16, p []byte) []byte {
	for {
		n := min(len(p), maxContent)
		dst = AppendHeader(dst, typ, id, n)
		dst = append(dst, p[:n]...)
		p = p[n:]
		if len(p) == 0 {
			return dst
		}
	}
}

// AppendBeginRequest appends FCGI_BEGIN_REQUEST for the Responder role.
func AppendBeginRequest(dst []byte, id uint16, keepConn bool) []byte {
	var flags byte
	if keepConn {
		flags = flagKeepConn
	}
	dst = AppendHeader(dst, TypeBeginRequest, id, 8)
	return append(dst, 0, roleResponder, flags, 0, 0, 0, 0, 0)
}

// appendLen appends a name-value pair length: one byte below 128, else
// four with the high bit set.
func appendLen(dst []byte, n int) []byte {
	if n < 128 {
		return append(dst, byte(n))
	}
	return append(dst, byte(n>>24)|0x80, byte(n>>16), byte(n>>8), byte(n))
}

// AppendPair appends one name-value pair of FCGI_PARAMS or FCGI_GET_VALUES.
func AppendPair(dst []byte, name, value string) []byte { return appendPair(dst, name, value) }

// AppendPairBytes is AppendPair for byte slices.
func AppendPairBytes(dst, name, value []byte) []byte { return appendPair(dst, name, value) }

func appendPair[N, V ~string | ~[]byte](dst []byte, name N, value V) []byte {
	dst = appendLen(dst, len(name))
	dst = appendLen(dst, len(value))
	dst = append(dst, name...)
	return append(dst, value...)
}

// ErrPair is a malformed name-value pair.
var ErrPair = errors.New("fcgi: malformed name-value pair")

func readLen(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, ErrPair
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	if len(b) < 4 {
		return 0, 0, ErrPair
	}
	return int(binary.BigEndian.Uint32(b) & 0x7fffffff), 4, nil
}

// NextPair reads the name-value pair at the start of b and returns the
// rest of b after it.
func NextPair(b []byte) (name, value, rest []byte, err error) {
	nl, i, err := readLen(b)
	if err != nil {
		return nil, nil, nil, err
	}
	vl, j, err := readLen(b[i:])
	if err != nil {
		return nil, nil, nil, err
	}
	b = b[i+j:]
	if nl > len(b) || vl > len(b)-nl {
		return nil, nil, nil, ErrPair
	}
	return b[:nl], b[nl : nl+vl], b[nl+vl:], nil
}

// EndRequest reads FCGI_END_REQUEST's content: the application's status
// and the protocol status.
func EndRequest(content []byte) (appStatus uint32, protoStatus uint8, ok bool) {
	if len(content) < 8 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(content), content[4], true
}
