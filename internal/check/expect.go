package check

import (
	"bytes"
	connerr "dhproxy/internal/conn"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
)

// expectString waits until the data received so far contains r.data, as
// HAProxy's "tcp-check expect string": a match passes (the last rule
// reports r.okInfo), and a mismatch waits for more data until the server
// closes, the buffer fills or the check times out. Closing without a match
// fails with r.errStatus and, as the protocol checks' "on-error
// %[res.payload(0,0),cut_crlf]" does, the first line received as info.
func expectString(conn net.Conn, in *[]byte, r rule, step int, last bool) (res Result, done bool) {
	for {
		buf := *in
		if bytes.Contains(buf, r.data) {
			if !last {
				return Result{}, false
			}
			return Result{Status: StatusL7OK, Info: r.okInfo}, true
		}
		if cap(buf) == 0 {
			buf = make([]byte, 0, readBufSize)
		}
		var err error
		if len(buf) < cap(buf) {
			var n int
			n, err = conn.Read(buf[len(buf):cap(buf)])
			*in = buf[:len(buf)+n]
			if err == nil || n > 0 {
				continue
			}
			switch {
			case len(buf) == 0 && errors.Is(err, io.EOF):
				return emptyResponse(step, r.errStatus), true
			case connerr.IsTimeout(err) || len(buf) == 0:
				return ioFailure(err), true
			}
		}
		// Closed, or the buffer is full: the data is all there will be.
		line := buf
		if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
			line = line[:i]
		}
		return Result{Status: r.errStatus, Info: string(line)}, true
	}
}

// expectRegex is HAProxy's "tcp-check expect rstring": with "min-recv"
// (r.minRecv > 0), once that many bytes are in (or the server closed), the
// regexp's verdict on what arrived so far is final; without, a mismatch
// waits for more data until the server closes or the buffer fills. r.info, when set, makes the info of a
// failure and of a last-rule pass from the data, and r.code the code
// (HAProxy's "on-error", "on-success" and "status-code" expressions).
func expectRegex(conn net.Conn, in *[]byte, r rule, step int, last bool) (res Result, done bool) {
	buf := *in
	if cap(buf) == 0 {
		buf = make([]byte, 0, readBufSize)
	}
	for len(buf) < cap(buf) && (len(buf) < r.minRecv || (r.minRecv <= 0 && r.matches(buf) == r.inverse)) {
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		*in = buf
		if err != nil && n == 0 {
			switch {
			case len(buf) == 0 && errors.Is(err, io.EOF):
				return emptyResponse(step, r.errStatus), true
			case connerr.IsTimeout(err) || len(buf) == 0:
				return ioFailure(err), true
			}
			break // closed: judge what came
		}
	}
	res = Result{Status: r.errStatus}
	if r.code != nil {
		res.Code = r.code(buf)
	}
	if r.info != nil {
		res.Info = r.info(buf)
	}
	if r.matches(buf) == r.inverse {
		return res, true
	}
	if !last {
		return Result{}, false
	}
	res.Status = StatusL7OK
	if r.okInfo != "" {
		res.Info = r.okInfo
	}
	return res, true
}

// matches runs the rule's regexp on the data, or on its upper-case hex
// dump for HAProxy's "rbinary".
func (r rule) matches(buf []byte) bool {
	if r.hexDump {
		return r.re.MatchString(strings.ToUpper(hex.EncodeToString(buf)))
	}
	return r.re.Match(buf)
}

// firstLine is HAProxy's cut_crlf converter: the data up to the first CR or LF.
func firstLine(b []byte) string {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
