package stream

import "strconv"

// HAProxy's built-in error bodies, so that operators' monitors that match on
// them keep working.
var errorBodies = map[int]struct{ reason, text string }{
	400: {"Bad request", "Your browser sent an invalid request."},
	403: {"Forbidden", "Request forbidden by administrative rules."},
	408: {"Request Time-out", "Your browser didn't send a complete request in time."},
	413: {"Payload Too Large", "The request entity exceeds the maximum allowed."},
	422: {"Unprocessable Content", "The server cannot process the contained instructions."},
	500: {"Internal Server Error", "An internal server error occurred."},
	501: {"Not Implemented", ".The server does not support the functionality required to fulfill the request."},
	502: {"Bad Gateway", "The server returned an invalid or incomplete response."},
	503: {"Service Unavailable", "No server is available to handle this request."},
	504: {"Gateway Time-out", "The server didn't respond in time."},
}

// errorPages holds the complete responses, built once; keepPages the same
// without "connection: close", for the connections that stay open.
var errorPages, keepPages = buildPages("connection: close\r\n"), buildPages("")

func buildPages(connection string) map[int][]byte {
	m := map[int][]byte{}
	for code, e := range errorBodies {
		body := "<html><body><h1>" + strconv.Itoa(code) + " " + e.reason + "</h1>\n" + e.text + "\n</body></html>\n"
		m[code] = []byte("HTTP/1.1 " + strconv.Itoa(code) + " " + e.reason + "\r\n" +
			"content-length: " + strconv.Itoa(len(body)) + "\r\n" +
			"cache-control: no-cache\r\n" +
			"content-type: text/html\r\n" +
			connection + "\r\n" + body)
	}
	return m
}

// muxPages are the pages as HAProxy 2.6's HTTP/1 layer writes them for a
// request it could not read (400, 408, 413): its raw built-in text, with
// its own header spelling, never an errorfile (measured against haproxy
// 2.6, whose 413 text has no Connection field).
var muxPages = func() map[int][]byte {
	m := map[int][]byte{}
	for code, e := range errorBodies {
		body := "<html><body><h1>" + strconv.Itoa(code) + " " + e.reason + "</h1>\n" + e.text + "\n</body></html>\n"
		connection := "Connection: close\r\n"
		if code == 413 {
			connection = ""
		}
		m[code] = []byte("HTTP/1.1 " + strconv.Itoa(code) + " " + e.reason + "\r\n" +
			"Content-length: " + strconv.Itoa(len(body)) + "\r\n" +
			"Cache-Control: no-cache\r\n" +
			connection +
			"Content-Type: text/html\r\n\r\n" + body)
	}
	return m
}()

// errorHTX is each page's size as HAProxy's logs count it (logging.HTXSize:
// start line, header names and values, the body). Of haproxy 2.6's
// built-in messages only the 400 and the 408 carry a "connection: close"
// field, which counts; the Connection field dhproxy adds to the others
// when it closes is not part of haproxy's message.
var errorHTX = func() map[int]int64 {
	m := map[int]int64{}
	for code, e := range errorBodies {
		body := "<html><body><h1>" + strconv.Itoa(code) + " " + e.reason + "</h1>\n" + e.text + "\n</body></html>\n"
		n := 20 + len("HTTP/1.1") + 3 + len(e.reason) +
			len("content-length") + len(strconv.Itoa(len(body))) +
			len("cache-control") + len("no-cache") +
			len("content-type") + len("text/html") + 1 + len(body)
		if code == 400 || code == 408 {
			n += len("connection") + len("close")
		}
		m[code] = int64(n)
	}
	return m
}()

// errorPage returns the full response for status (500 for unknown codes).
func errorPage(status int) []byte {
	if p, ok := errorPages[status]; ok {
		return p
	}
	return errorPages[500]
}

// muxPage is errorPage as HAProxy's HTTP/1 layer writes it.
func muxPage(status int) []byte {
	if p, ok := muxPages[status]; ok {
		return p
	}
	return muxPages[500]
}

// keepPage is errorPage for a connection that stays open.
func keepPage(status int) []byte {
	if p, ok := keepPages[status]; ok {
		return p
	}
	return keepPages[500]
}
