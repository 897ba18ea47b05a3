// Package logging produces HAProxy's traffic log lines (option httplog,
// tcplog, httplog clf and the bare "Connect from" line) byte for byte, and
// sends lines to the "log" targets of a proxy: syslog over UDP or a unix
// socket, or stdout/stderr, in every header format HAProxy offers.
//
// The formatters append to a caller-owned buffer and never allocate; Send
// copies the line into a pooled buffer and hands it to one writer goroutine
// per target through a bounded queue, so the request path never blocks on
// a slow or absent syslog server (lines are dropped and counted instead).
package logging

import (
	"net/netip"
	"time"

	"dhproxy/internal/sample"
)

// Entry is what one session/request contributes to a log line. Durations
// below zero print as -1, HAProxy's "this step was never reached".
type Entry struct {
	ClientIP   netip.Addr // %ci; keep IPv4-mapped IPv6 as is (HAProxy prints ::ffff:a.b.c.d); invalid = unix socket ("unix")
	ClientPort int        // %cp; the listener id for unix sockets
	// FrontendIP/FrontendPort are the local address the client reached
	// (%fi:%fp), only printed by FormatDefault.
	FrontendIP   netip.Addr
	FrontendPort int

	// ServerAddr and BackendAddr are the server connection's ends (%si:%sp
	// and %bi:%bp); invalid: no server connection.
	ServerAddr, BackendAddr netip.AddrPort
	// ServerUnix: the server tried is a UNIX socket, printed as haproxy
	// prints it (%si "unix", %sp 0), connected or not; BackendUnix: the
	// connection to it is made, and %bi:%bp print so too.
	ServerUnix, BackendUnix bool
	// SSLCipher and SSLVersion describe the client's TLS connection
	// (%sslc, %sslv); empty without TLS.
	SSLCipher, SSLVersion []byte

	Accept   time.Time // accept date of the stream (%t, %ms)
	ReqStart time.Time // first byte of the request head (%tr, %trg) = Accept+Th+Ti

	Frontend string // %ft / %f
	TLS      bool   // the client connection is TLS: %ft appends '~'
	Backend  string // %b; empty prints the frontend's name, as HAProxy does before a backend is chosen
	Server   string // %s; "<NOSRV>" (or empty) when none was chosen

	TR, Tw, Tc, Tr, Ta, Tt time.Duration // HAProxy timers, see the package's wiring notes

	// ASAP: the frontend has "option logasap": %Ta, %Tt and %B, which
	// may stop short of the transfer's end, are prefixed with '+'.
	ASAP bool
	// Early: the line goes before the end of the stream ("option logasap"),
	// which haproxy does without the dontlognull test.
	Early bool
	// Received: bytes of a request came though the line counts none (a
	// "<BADREQ>" line logs %U 0): dontlognull keeps it, as haproxy does.
	Received bool

	Status   int   // %ST; -1 if no status was produced
	BytesOut int64 // %B: bytes sent to the client, headers included
	BytesIn  int64 // %U: bytes received from the client, headers included

	// Term is the termination state: [0] the cause (-, C, S, P, L, R, I, D,
	// K, U, c, s), [1] the session state (-, R, Q, C, H, D, L, T), [2:4] the
	// cookie states (N I D V E O / N P D I R U) or "--". Zero bytes print '-'.
	Term [4]byte

	ActConn, FeConn, BeConn, SrvConn int // %ac %fc %bc %sc, read when the line is built
	Retries                          int // %rc: connection retries done
	Redispatched                     bool
	SrvQueue, BeQueue                int // %sq %bq: queue positions (0 when not queued)

	Method, URI []byte // request line parts for %r; Method nil prints "<BADREQ>"
	Proto       string // "HTTP/1.1"

	HTTP bool // the frontend is in mode http ("Connect from ... (fe/HTTP)", 5xx count as errors)

	// For log-format lines: the transaction %[expr] reads (nil: "-") and
	// its value slot, the request's number (%rt) and the line's (%lc).
	Txn             sample.Txn
	V               *sample.Value
	ReqID, LogCount int64
	UniqueID        []byte // %ID ("unique-id-format"); empty prints "-"
	// ReqCaps and ResCaps are the capture slots (%hr, %hs); a nil slot was
	// not filled.
	ReqCaps, ResCaps [][]byte
	// CookieReq and CookieRes are the cookies "capture cookie" took (%CC,
	// %CS): "name=value", written as they are; nil prints "-".
	CookieReq, CookieRes []byte
}

// IsError reports whether HAProxy counts the stream as an error for
// "option log-separate-errors" and "option dontlog-normal" (strm_log): a
// redispatch, a termination cause other than none/local, retries without
// an error, or an HTTP status of 500 or more.
func (e *Entry) IsError() bool {
	cause := e.Term[0]
	return e.Redispatched ||
		(cause != 0 && cause != '-' && cause != 'L') ||
		((cause == 0 || cause == '-') && e.Retries > 0) ||
		(e.HTTP && e.Status >= 500)
}

// ShouldLog applies "option dontlognull" (no byte ever came from the
// client) and "option dontlog-normal" (only errors are logged).
func ShouldLog(e *Entry, dontLogNull, dontLogNormal bool) bool {
	if dontLogNull && e.BytesIn == 0 && !e.Early && !e.Received {
		return false
	}
	return !dontLogNormal || e.IsError()
}

// TrafficLevel is the level of a traffic line: info, or err for errors
// when "option log-separate-errors" is set.
func TrafficLevel(e *Entry, logSeparateErrors bool) Level {
	if logSeparateErrors && e.IsError() {
		return LevelErr
	}
	return LevelInfo
}
