package http1

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unsafe"
)

// within reports whether s points inside buf (an empty s may sit at its end).
func within(s, buf []byte) bool {
	if len(s) == 0 && s == nil {
		return true
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return p >= base && p+uintptr(len(s)) <= base+uintptr(len(buf))
}

func sameHeaders(a, b []Header) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if string(a[i].Name) != string(b[i].Name) || string(a[i].Value) != string(b[i].Value) ||
			a[i].Kind != b[i].Kind || a[i].Hop != b[i].Hop {
			return false
		}
	}
	return true
}

func sameMessage(a, b *Message) bool {
	return a.Major == b.Major && a.Minor == b.Minor && a.ContentLength == b.ContentLength &&
		a.Chunked == b.Chunked && a.ConnClose == b.ConnClose && a.ConnKeepAlive == b.ConnKeepAlive &&
		a.ConnUpgrade == b.ConnUpgrade && a.HeadLen == b.HeadLen && sameHeaders(a.Headers, b.Headers)
}

func sameRequest(a, b *Request) bool {
	return sameMessage(&a.Message, &b.Message) && string(a.Method) == string(b.Method) &&
		string(a.URI) == string(b.URI) && a.ExpectContinue == b.ExpectContinue && a.HasUpgrade == b.HasUpgrade
}

func sameResponse(a, b *Response) bool {
	return sameMessage(&a.Message, &b.Message) && a.Status == b.Status && string(a.Reason) == string(b.Reason)
}

// checkErr checks the shape of a refusal and returns it (nil for ErrIncomplete).
func checkErr(t *testing.T, n int, err error, inLen int, statuses ...int) *Error {
	if n != 0 {
		t.Fatalf("n=%d with err %v", n, err)
	}
	if err == ErrIncomplete {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
	if e.Pos < 0 || e.Pos > inLen {
		t.Fatalf("Pos %d outside [0,%d]", e.Pos, inLen)
	}
	for _, s := range statuses {
		if e.Status == s {
			return e
		}
	}
	t.Fatalf("status %d not in %v", e.Status, statuses)
	return nil
}

func checkMessage(t *testing.T, m *Message, in []byte, n int) {
	if n != m.HeadLen || n <= 0 || n > len(in) {
		t.Fatalf("n=%d HeadLen=%d len=%d", n, m.HeadLen, len(in))
	}
	if m.Major != 1 || (m.Minor != 0 && m.Minor != 1) {
		t.Fatalf("version %d.%d", m.Major, m.Minor)
	}
	if m.Chunked && m.ContentLength >= 0 {
		t.Fatal("both chunked and Content-Length")
	}
	if len(m.Headers) > MaxHeaders {
		t.Fatalf("%d headers", len(m.Headers))
	}
	for _, h := range m.Headers {
		if !within(h.Name, in[:n]) || !within(h.Value, in[:n]) || len(h.Name) == 0 {
			t.Fatalf("header %q: %q outside the head", h.Name, h.Value)
		}
		if h.Kind != classify(h.Name) {
			t.Fatalf("header %q: kind %d", h.Name, h.Kind)
		}
		if len(h.Value) > 0 && (isOWS(h.Value[0]) || isOWS(h.Value[len(h.Value)-1])) {
			t.Fatalf("header %q: value %q not trimmed", h.Name, h.Value)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, c := range reqCases {
		f.Add([]byte(c.in+c.extra), uint(len(c.in)/2))
	}
	for _, c := range badRequests {
		f.Add([]byte(c.in), uint(len(c.in)-3))
	}
	f.Add([]byte(benchRequest), uint(100))
	f.Fuzz(func(t *testing.T, in []byte, split uint) {
		var r Request
		n, err := ParseRequest(in, &r)
		k := int(split % uint(len(in)+1))
		var p Request
		pn, perr := ParseRequest(in[:k], &p)
		if err != nil {
			e := checkErr(t, n, err, len(in), 400, 422)
			// A prefix is either incomplete or refused the same way.
			pe := checkErr(t, pn, perr, k, 400, 422)
			if pe != nil && (e == nil || *pe != *e) {
				t.Fatalf("prefix %d: %v, whole: %v", k, perr, err)
			}
			return
		}
		checkMessage(t, &r.Message, in, n)
		if len(r.Method) == 0 || len(r.URI) == 0 || !within(r.Method, in[:n]) || !within(r.URI, in[:n]) {
			t.Fatalf("start line %q %q", r.Method, r.URI)
		}
		// The head alone parses the same.
		var h Request
		if hn, herr := ParseRequest(in[:n], &h); herr != nil || hn != n || !sameRequest(&r, &h) {
			t.Fatalf("reparse of head: n=%d err=%v", hn, herr)
		}
		// Any prefix is incomplete, or the same head.
		if k < n {
			if perr != ErrIncomplete {
				t.Fatalf("prefix %d of head %d: %v", k, n, perr)
			}
		} else if perr != nil || pn != n || !sameRequest(&r, &p) {
			t.Fatalf("prefix %d holding the head: n=%d err=%v", k, pn, perr)
		}
		// When net/http (more lenient) also accepts the head, it must frame
		// the body the same way: a disagreement is a smuggling vector.
		if g, gerr := http.ReadRequest(bufio.NewReader(bytes.NewReader(in[:n]))); gerr == nil {
			gChunked := len(g.TransferEncoding) > 0
			cl := max(r.ContentLength, 0)
			if gChunked != r.Chunked || (!gChunked && g.ContentLength != cl) {
				t.Fatalf("net/http frames it as chunked=%v CL=%d, we say chunked=%v CL=%d",
					gChunked, g.ContentLength, r.Chunked, r.ContentLength)
			}
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	for _, c := range respCases {
		f.Add([]byte(c.in+"body"), uint(len(c.in)/2))
	}
	for _, c := range badResponses {
		f.Add([]byte(c.in), uint(len(c.in)-3))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint) {
		var r Response
		n, err := ParseResponse(in, &r)
		k := int(split % uint(len(in)+1))
		var p Response
		pn, perr := ParseResponse(in[:k], &p)
		if err != nil {
			e := checkErr(t, n, err, len(in), 502)
			pe := checkErr(t, pn, perr, k, 502)
			if pe != nil && (e == nil || *pe != *e) {
				t.Fatalf("prefix %d: %v, whole: %v", k, perr, err)
			}
			return
		}
		checkMessage(t, &r.Message, in, n)
		if r.Status < 100 || r.Status > 599 || !within(r.Reason, in[:n]) {
			t.Fatalf("status line %d %q", r.Status, r.Reason)
		}
		var h Response
		if hn, herr := ParseResponse(in[:n], &h); herr != nil || hn != n || !sameResponse(&r, &h) {
			t.Fatalf("reparse of head: n=%d err=%v", hn, herr)
		}
		if k < n {
			if perr != ErrIncomplete {
				t.Fatalf("prefix %d of head %d: %v", k, n, perr)
			}
		} else if perr != nil || pn != n || !sameResponse(&r, &p) {
			t.Fatalf("prefix %d holding the head: n=%d err=%v", k, pn, perr)
		}
		// Same framing as net/http when it accepts the head too (for a GET).
		if r.Status < 200 || r.Status == 204 || r.Status == 304 {
			return
		}
		if g, gerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(in[:n])), nil); gerr == nil {
			gChunked := len(g.TransferEncoding) > 0
			if gChunked != r.Chunked || (!gChunked && g.ContentLength != r.ContentLength) {
				t.Fatalf("net/http frames it as chunked=%v CL=%d, we say chunked=%v CL=%d",
					gChunked, g.ContentLength, r.Chunked, r.ContentLength)
			}
		}
	})
}

// scanSplit scans in with a fresh scanner, in two pieces split at k.
func scanSplit(in []byte, k int) (n int, done bool, err error) {
	var s ChunkScanner
	n, done, err = s.Scan(in[:k])
	if done || err != nil {
		return n, done, err
	}
	n2, done, err := s.Scan(in[k:])
	return n + n2, done, err
}

func FuzzChunkScanner(f *testing.F) {
	for _, c := range goodChunks {
		f.Add([]byte(c.body+c.next), uint(len(c.body)/2))
	}
	for _, c := range badChunks {
		f.Add([]byte(c.body), uint(c.pos))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint) {
		n, done, err := scanSplit(in, len(in))
		if n < 0 || n > len(in) || (done && err != nil) {
			t.Fatalf("n=%d done=%v err=%v", n, done, err)
		}
		if !done && err == nil && n != len(in) {
			t.Fatalf("n=%d < %d without done or error", n, len(in))
		}
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Status != 400 || e.Pos != n) {
			t.Fatalf("bad error %v for n=%d", err, n)
		}
		k := int(split % uint(len(in)+1))
		n2, done2, err2 := scanSplit(in, k)
		if n2 != n || done2 != done || (err2 != nil) != (err != nil) {
			t.Fatalf("split at %d: (%d %v %v), whole: (%d %v %v)", k, n2, done2, err2, n, done, err)
		}
		if err != nil {
			var e2 *Error
			if !errors.As(err2, &e2) || *e2 != *e {
				t.Fatalf("split at %d: %v, whole: %v", k, err2, err)
			}
		}
		if done {
			// The body alone is complete too, and nothing of it is left over.
			if n3, done3, err3 := scanSplit(in[:n], n); n3 != n || !done3 || err3 != nil {
				t.Fatalf("body alone: (%d %v %v)", n3, done3, err3)
			}
		}
	})
}

// FuzzUpgradeGranted checks that matching Upgrade lists never panics and
// that a list always grants itself when every element has a name.
func FuzzUpgradeGranted(f *testing.F) {
	f.Add("websocket", "websocket")
	f.Add("foo/2, bar", "BAR, foo")
	f.Add(" , /", "/,")
	f.Fuzz(func(t *testing.T, asked, granted string) {
		UpgradeGranted([]byte(asked), []byte(granted))
		named, empty := false, false
		for _, e := range strings.Split(granted, ",") {
			e = strings.Trim(e, " \t")
			switch {
			case e == "":
			case strings.HasPrefix(e, "/"):
				empty = true
			default:
				named = true
			}
		}
		if named && !empty && !UpgradeGranted([]byte(granted), []byte(granted)) {
			t.Fatalf("%q does not grant itself", granted)
		}
	})
}
