package rules

import (
	"fmt"
	"strconv"

	"dhproxy/internal/http1"
	"dhproxy/internal/sample"
)

// RedirectType is what the target of a redirect replaces.
type RedirectType uint8

const (
	RedirLocation RedirectType = iota + 1 // the whole Location
	RedirPrefix                           // prepended to the request's path and query
	RedirScheme                           // scheme://host + path and query
)

// RedirectRule is "redirect location|prefix|scheme <to> [code N]
// [drop-query] [append-slash] [set-cookie NAME[=VALUE]] [clear-cookie
// NAME[=]]", as the redirect keyword and the http-request redirect action
// take it.
type RedirectRule struct {
	Type        RedirectType
	To          *sample.Format
	Code        int
	DropQuery   bool
	AppendSlash bool
	// IgnoreEmpty: a location that comes out empty skips the rule; without
	// it the redirect is sent with an empty Location, as haproxy sends it.
	IgnoreEmpty bool
	Cookie      []byte // "set-cookie: ...\r\n" for set-cookie or clear-cookie
}

// ParseRedirect reads the words after "redirect" (without the condition);
// phase is where the rule runs (http-response takes only "location").
func ParseRedirect(c *sample.Compiler, args []string, ruleWord string, phase sample.Phase) (*RedirectRule, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("%s expects 'location', 'prefix' or 'scheme' followed by the target", ruleWord)
	}
	rr := &RedirectRule{Code: 302}
	switch args[0] {
	case "location":
		rr.Type = RedirLocation
	case "prefix":
		rr.Type = RedirPrefix
	case "scheme":
		rr.Type = RedirScheme
	default:
		return nil, fmt.Errorf("%s expects 'location', 'prefix' or 'scheme', not '%s'", ruleWord, args[0])
	}
	if phase == sample.PhaseRes && rr.Type != RedirLocation {
		return nil, fmt.Errorf("%s: only 'location' redirects are possible on a response (the request is gone)", ruleWord)
	}
	var err error
	if ruleWord == "'redirect'" {
		// the redirect keyword's target is text (haproxy 2.6 reads
		// log-format there only in http-request rules)
		rr.To = &sample.Format{Static: []byte(args[1]), IsStatic: true}
	} else if rr.To, err = c.CompileFormat(args[1], phase); err != nil {
		return nil, fmt.Errorf("%s: %v", ruleWord, err)
	}
	for rest := args[2:]; len(rest) > 0; rest = rest[1:] {
		switch rest[0] {
		case "code":
			if len(rest) < 2 {
				return nil, fmt.Errorf("%s: 'code' expects 301, 302, 303, 307 or 308", ruleWord)
			}
			n, err := strconv.Atoi(rest[1])
			if err != nil || n != 301 && n != 302 && n != 303 && n != 307 && n != 308 {
				return nil, fmt.Errorf("%s: 'code' expects 301, 302, 303, 307 or 308, not '%s'", ruleWord, rest[1])
			}
			rr.Code = n
			rest = rest[1:]
		case "drop-query":
			rr.DropQuery = true
		case "append-slash":
			rr.AppendSlash = true
		case "set-cookie", "clear-cookie":
			if len(rest) < 2 || rest[1] == "" {
				return nil, fmt.Errorf("%s: '%s' expects a cookie name", ruleWord, rest[0])
			}
			// HAProxy's forms: "NAME[=VALUE]; path=/;", and for
			// clear-cookie the same with "Max-Age=0;".
			c := "set-cookie: " + rest[1] + "; path=/;"
			if rest[0] == "clear-cookie" {
				c += " Max-Age=0;"
			}
			rr.Cookie = []byte(c + "\r\n")
			rest = rest[1:]
		case "ignore-empty":
			rr.IgnoreEmpty = true
		default:
			return nil, fmt.Errorf("%s: unknown option '%s'; expects code, drop-query, append-slash, ignore-empty, set-cookie or clear-cookie (haproxy 2.6 has no keep-query)", ruleWord, rest[0])
		}
	}
	return rr, nil
}

// Append writes the redirect response after dst, or returns ok false when
// the location is empty and the rule says ignore-empty (the rule is then
// skipped). req is the request.
func (rr *RedirectRule) Append(dst []byte, t sample.Txn, v *sample.Value, req *http1.Request) ([]byte, bool) {
	var reason string
	switch rr.Code {
	case 301:
		reason = "Moved Permanently"
	case 303:
		reason = "See Other"
	case 307:
		reason = "Temporary Redirect"
	case 308:
		reason = "Permanent Redirect"
	default:
		reason = "Found"
	}
	start := len(dst)
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(rr.Code), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	dst = append(dst, "\r\ncontent-length: 0\r\nlocation: "...)
	locStart := len(dst)
	uri := http1.PathQuery(req.URI)
	if rr.DropQuery {
		for i, ch := range uri {
			if ch == '?' {
				uri = uri[:i]
				break
			}
		}
	}
	switch rr.Type {
	case RedirLocation:
		dst = rr.To.Append(t, v, dst)
	case RedirPrefix:
		pfx := len(dst)
		dst = rr.To.Append(t, v, dst)
		if len(dst)-pfx == 1 && dst[pfx] == '/' {
			dst = dst[:pfx] // a "/" prefix would double the path's slash
		}
		dst = append(dst, uri...)
	case RedirScheme:
		dst = rr.To.Append(t, v, dst)
		dst = append(dst, "://"...)
		if host, ok := sample.HeaderValue(req.Headers, "host", 1, false); ok {
			dst = append(dst, host...)
		}
		dst = append(dst, uri...)
	}
	if len(dst) == locStart && rr.IgnoreEmpty {
		return dst[:start], false
	}
	if rr.AppendSlash && len(dst) > locStart && dst[len(dst)-1] != '/' {
		dst = append(dst, '/')
	}
	dst = append(dst, "\r\n"...)
	if rr.Code == 302 || rr.Code == 303 || rr.Code == 307 {
		dst = append(dst, "cache-control: no-cache\r\n"...)
	}
	dst = append(dst, rr.Cookie...)
	return append(dst, "\r\n"...), true
}
