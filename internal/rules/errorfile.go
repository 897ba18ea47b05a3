package rules

import (
	"errors"
	"fmt"
	"strconv"

	"dhproxy/internal/http1"
)

// ErrorStatusHandled tells whether errorfile, errorloc and http-error may
// set a page for status (HAProxy's http_err_codes).
func ErrorStatusHandled(status int) bool {
	_, ok := defaultErrors[status]
	return ok
}

// htxOverhead approximates what HAProxy's HTX buffer spends besides the
// blocks' payloads: its own header, then 8 bytes per block. Measured on
// haproxy 2.6.12 with tune.bufsize 16384: a 503 file with a 16000-byte
// body loads, one with 16300 does not.
const (
	htxHeader   = 48
	htxPerBlock = 8
)

// ParseErrorFile compiles the content of an errorfile: a complete HTTP/1
// response sent as written, but for what HAProxy changes on the way out
// (header names in lower case, no Connection or TE field). Without a
// Content-Length its body ends with the connection. bufsize is
// tune.bufsize: the message must fit in one buffer, as in HAProxy.
func ParseErrorFile(data []byte, bufsize int) (*Reply, error) {
	if len(data) > bufsize {
		return nil, fmt.Errorf("larger than tune.bufsize (%d bytes > %d)", len(data), bufsize)
	}
	var resp http1.Response
	n, err := http1.ParseResponse(data, &resp)
	if err != nil {
		var he *http1.Error
		if errors.As(err, &he) {
			return nil, fmt.Errorf("unable to parse headers (error offset: %d)", he.Pos)
		}
		return nil, fmt.Errorf("unable to parse headers (incomplete message)")
	}
	if resp.Chunked {
		return nil, fmt.Errorf("chunk-encoded payload not supported")
	}
	body := data[n:]
	if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		return nil, fmt.Errorf("payload size does not match the announced content-length (%d != %d)", len(body), resp.ContentLength)
	}
	version := "HTTP/" + strconv.Itoa(resp.Major) + "." + strconv.Itoa(resp.Minor)
	line := version + " " + strconv.Itoa(resp.Status) + " " + string(resp.Reason) + "\r\n"
	r := &Reply{Status: resp.Status, Line: []byte(line), Body: body, Raw: true}
	// The HTX payloads (as logging.HTXSize counts them): the start line
	// struct and its strings, each header's name and value, end of
	// headers, the body.
	size := 20 + len(version) + 3 + len(resp.Reason) + 1 + len(body)
	blocks := 3 // start line, end of headers, data
	for _, h := range resp.Headers {
		if h.Kind == http1.KindConnection || h.Kind == http1.KindTE {
			// kept in HAProxy's message (its log counts them), dropped
			// on the way out
			r.LogExtra += len(h.Name) + len(h.Value)
			continue
		}
		r.Tail = append(r.Tail, lower(h.Name)...)
		r.Tail = append(r.Tail, ": "...)
		r.Tail = append(r.Tail, h.Value...)
		r.Tail = append(r.Tail, "\r\n"...)
		size += len(h.Name) + len(h.Value)
		blocks++
	}
	if size+blocks*htxPerBlock > bufsize-htxHeader {
		return nil, fmt.Errorf("unable to add payload into the HTX message (the message does not fit in tune.bufsize %d)", bufsize)
	}
	// A body without length ends with the connection, and a file may ask
	// for it to end; HAProxy then says "connection: close" (an HTTP/1.0
	// status line says it by itself), and "connection: keep-alive" for
	// an HTTP/1.0 one when the connection stays.
	r.Close = resp.ContentLength < 0 || resp.ConnClose
	r.HTTP10 = resp.Major == 1 && resp.Minor == 0
	return r, nil
}

func lower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// ErrorLoc is the reply of "errorloc302|errorloc303 <code> <url>": a
// redirect (redirect 302 or 303) to url in place of the page for code, as
// HAProxy writes it; the log says code, as HAProxy's does.
func ErrorLoc(code, redirect int, url string) *Reply {
	line := "HTTP/1.1 302 Found\r\n"
	if redirect == 303 {
		line = "HTTP/1.1 303 See Other\r\n"
	}
	return &Reply{
		Status: code,
		Line:   []byte(line),
		Tail:   []byte("cache-control: no-cache\r\ncontent-length: 0\r\nlocation: " + url + "\r\n"),
		Raw:    true,
	}
}
