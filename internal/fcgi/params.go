package fcgi

import (
	"bytes"
	"strconv"

	"dhproxy/internal/http1"
)

// Default parameters a set-param rule replaces (haproxy's FCGI_SP_* mask).
const (
	spGateway = 1 << iota
	spDocRoot
	spScriptName
	spPathInfo
	spReqURI
	spReqMeth
	spQueryString
	spSrvName
	spSrvPort
	spSrvProto
	spRemAddr
	spRemPort
	spScriptFile
	spPathTrans
	spContLen
	spHTTPS
	spSrvSoftware
)

// Software is SERVER_SOFTWARE (haproxy sends "HAProxy <version>").
const Software = "dhproxy"

var defaultNames = map[string]int{
	"GATEWAY_INTERFACE": spGateway, "DOCUMENT_ROOT": spDocRoot, "SCRIPT_NAME": spScriptName,
	"PATH_INFO": spPathInfo, "REQUEST_URI": spReqURI, "REQUEST_METHOD": spReqMeth,
	"QUERY_STRING": spQueryString, "SERVER_NAME": spSrvName, "SERVER_PORT": spSrvPort,
	"SERVER_PROTOCOL": spSrvProto, "REMOTE_ADDR": spRemAddr, "REMOTE_PORT": spRemPort,
	"SCRIPT_FILENAME": spScriptFile, "PATH_TRANSLATED": spPathTrans, "CONTENT_LENGTH": spContLen,
	"HTTPS": spHTTPS, "SERVER_SOFTWARE": spSrvSoftware,
}

// ParamName is the name a set-param rule or a header is sent with: upper
// case, '_' for any character but a letter or a digit.
func ParamName(dst []byte, name []byte) []byte {
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z':
			dst = append(dst, c-'a'+'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			dst = append(dst, c)
		default:
			dst = append(dst, '_')
		}
	}
	return dst
}

// appendParams appends the FCGI_PARAMS stream of the parsed request, as
// haproxy 2.6 builds it: the request's fields (HTTP_<NAME>, CONTENT_TYPE,
// CONTENT_LENGTH) but the hidden ones, the set-param values, then the
// CGI/1.1 defaults the rules did not set. bodyLen is the body at hand,
// CONTENT_LENGTH without a Content-Length field. The connection's scratch
// buffers hold what is built, so that a kept connection allocates nothing.
func (fc *Conn) appendParams(out []byte, bodyLen int) ([]byte, error) {
	r, app := &fc.hreq, fc.app
	pairs := fc.pairs[:0]
	defer func() { fc.pairs = pairs[:0] }()
	mask := 0
	var srvName []byte
	for i := range r.Headers {
		h := &r.Headers[i]
		if fc.hidden(h.Name) {
			continue
		}
		switch {
		case http1.EqualFold(h.Name, "content-length"):
			pairs = appendPair(pairs, "CONTENT_LENGTH", h.Value)
			mask |= spContLen
		case http1.EqualFold(h.Name, "content-type"):
			pairs = appendPair(pairs, "CONTENT_TYPE", h.Value)
		default:
			if http1.EqualFold(h.Name, "host") {
				srvName = h.Value
			}
			fc.tmp = ParamName(append(fc.tmp[:0], "HTTP_"...), h.Name)
			pairs = appendPair(pairs, fc.tmp, h.Value)
		}
	}
	// set-param: the last rule that applied for a name wins.
	docroot, uri := fc.docroot, r.URI
	var scriptName, pathInfo []byte
	for i, p := range fc.Req.Params {
		last := true
		for _, q := range fc.Req.Params[i+1:] {
			last = last && q.Name != p.Name
		}
		if !last || len(p.Value) == 0 {
			continue
		}
		pairs = appendPair(pairs, p.Name, p.Value)
		switch bit := defaultNames[p.Name]; bit {
		case spDocRoot:
			docroot = p.Value
		case spScriptName:
			scriptName = p.Value
		case spPathInfo:
			pathInfo = p.Value
		case spReqURI:
			uri = p.Value
		}
		mask |= defaultNames[p.Name]
	}
	// SCRIPT_NAME, PATH_INFO and QUERY_STRING from the path.
	var qs []byte
	const uriMask = spScriptName | spPathInfo | spQueryString
	if mask&uriMask != uriMask {
		path := uriPath(uri)
		if mask&spScriptName == 0 && len(path) == 0 {
			return out, ErrProtocol
		}
		if i := bytes.IndexByte(path, '?'); i >= 0 {
			if mask&spQueryString == 0 {
				qs = path[i+1:]
			}
			path = path[:i]
		}
		if mask&spScriptName != 0 {
			mask |= spPathInfo
		} else {
			dec, ok := urlDecode(fc.dec[:0], path)
			if !ok {
				return out, ErrProtocol
			}
			fc.dec = dec
			scriptName = dec
			if re := app.PathInfo; re != nil {
				if bytes.IndexByte(dec, '\n') >= 0 || bytes.IndexByte(dec, 0) >= 0 {
					return out, ErrProtocol
				}
				if m := re.FindSubmatchIndex(dec); m != nil && len(m) >= 4 && m[2] >= 0 {
					scriptName = dec[m[2]:m[3]]
					if mask&spPathInfo == 0 && len(m) >= 6 && m[4] >= 0 {
						pathInfo = dec[m[4]:m[5]]
					}
				}
			}
			if app.Index != "" && len(scriptName) > 0 && scriptName[len(scriptName)-1] == '/' {
				fc.sn = append(append(fc.sn[:0], scriptName...), app.Index...)
				scriptName = fc.sn
			}
		}
	}
	add := func(bit int, name string, v []byte) {
		if mask&bit == 0 && len(v) > 0 {
			pairs = appendPair(pairs, name, v)
		}
	}
	add(spGateway, "GATEWAY_INTERFACE", cgiVersion)
	add(spDocRoot, "DOCUMENT_ROOT", docroot)
	add(spScriptName, "SCRIPT_NAME", scriptName)
	add(spPathInfo, "PATH_INFO", pathInfo)
	add(spReqURI, "REQUEST_URI", uri)
	add(spReqMeth, "REQUEST_METHOD", r.Method)
	add(spQueryString, "QUERY_STRING", qs)
	// fc.tmp holds each value built here until add has encoded it.
	if len(srvName) == 0 && fc.Req.Local.IsValid() {
		fc.tmp = fc.Req.Local.Addr().Unmap().AppendTo(fc.tmp[:0])
		srvName = fc.tmp
	}
	add(spSrvName, "SERVER_NAME", srvName)
	fc.tmp = strconv.AppendUint(fc.tmp[:0], uint64(fc.Req.Local.Port()), 10)
	add(spSrvPort, "SERVER_PORT", fc.tmp)
	if fc.Req.Proto != "" {
		fc.tmp = append(fc.tmp[:0], fc.Req.Proto...)
	} else {
		fc.tmp = strconv.AppendInt(append(fc.tmp[:0], "HTTP/1."...), int64(r.Minor), 10)
	}
	add(spSrvProto, "SERVER_PROTOCOL", fc.tmp)
	if fc.Req.Remote.IsValid() {
		fc.tmp = fc.Req.Remote.Addr().Unmap().AppendTo(fc.tmp[:0])
		add(spRemAddr, "REMOTE_ADDR", fc.tmp)
	}
	fc.tmp = strconv.AppendUint(fc.tmp[:0], uint64(fc.Req.Remote.Port()), 10)
	add(spRemPort, "REMOTE_PORT", fc.tmp)
	fc.tmp = append(append(fc.tmp[:0], docroot...), scriptName...)
	add(spScriptFile, "SCRIPT_FILENAME", fc.tmp)
	if len(pathInfo) > 0 {
		fc.tmp = append(append(fc.tmp[:0], docroot...), pathInfo...)
		add(spPathTrans, "PATH_TRANSLATED", fc.tmp)
	}
	fc.tmp = strconv.AppendInt(fc.tmp[:0], int64(bodyLen), 10)
	add(spContLen, "CONTENT_LENGTH", fc.tmp)
	if fc.Req.HTTPS {
		add(spHTTPS, "HTTPS", httpsOn)
	}
	add(spSrvSoftware, "SERVER_SOFTWARE", software)
	out = AppendRecords(out, TypeParams, requestID, pairs)
	return AppendHeader(out, TypeParams, requestID, 0), nil
}

var cgiVersion, httpsOn, software = []byte("CGI/1.1"), []byte("on"), []byte(Software)

// hidden tells whether the header name is not passed to the application.
func (fc *Conn) hidden(name []byte) bool {
	for _, h := range fc.Req.Hidden {
		if http1.EqualFold(name, h) {
			return true
		}
	}
	return false
}

// uriPath is the path and query of an origin-form or absolute-form target.
func uriPath(uri []byte) []byte {
	if len(uri) > 0 && uri[0] == '/' {
		return uri
	}
	if i := bytes.Index(uri, []byte("://")); i >= 0 {
		rest := uri[i+3:]
		if j := bytes.IndexByte(rest, '/'); j >= 0 {
			return rest[j:]
		}
	}
	return nil
}

// urlDecode appends p to out with its %XX escapes decoded ('+' stays,
// as in a path).
func urlDecode(out, p []byte) ([]byte, bool) {
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			out = append(out, p[i])
			continue
		}
		if i+2 >= len(p) {
			return nil, false
		}
		hi, lo := http1.HexDigit(p[i+1]), http1.HexDigit(p[i+2])
		if hi > 15 || lo > 15 {
			return nil, false
		}
		out = append(out, hi<<4|lo)
		i += 2
	}
	return out, true
}
