// Package sample is HAProxy's sample language: a registry where every
// fetch and converter is declared once (name, argument types, output type,
// the phases where it works), and a compiler turning "fetch(args),conv..."
// into an Expr evaluated against a Txn without allocating (registry.go,
// expr.go). ACL conditions, http-request rules and use_backend compile
// against it.
//
// Fetch and Parse below are the older, converter-less form that "balance
// hash <expr>" and the stick rules still use, evaluated by the stream
// against its own request buffers; they move onto Expr with the pipeline.
package sample

import (
	"fmt"
	"strings"
)

// Kind is a fetch method.
type Kind uint8

const (
	Src      Kind = iota + 1 // src: the client address
	Path                     // path: the request path, without the query string
	URL                      // url: the request target as received
	Hdr                      // hdr(name) / req.hdr(name): the last value of a header
	URLParam                 // url_param(name) / urlp(name): a query string parameter
	ReqCook                  // req.cook(name) / cook(name): a request cookie's value
)

// Fetch is a parsed sample expression without converters.
type Fetch struct {
	Kind Kind
	Name string // header, parameter or cookie name
}

// HTTP tells whether the fetch needs an HTTP request (mode http).
func (f Fetch) HTTP() bool { return f.Kind != Src }

var names = map[string]Kind{
	"src": Src, "path": Path, "url": URL,
	"hdr": Hdr, "req.hdr": Hdr,
	"url_param": URLParam, "urlp": URLParam,
	"req.cook": ReqCook, "cook": ReqCook,
}

// Supported lists the fetches Parse accepts, for error messages.
const Supported = "src, path, url, hdr(<name>), req.hdr(<name>), url_param(<name>), urlp(<name>), req.cook(<name>), cook(<name>)"

// Parse reads a sample expression such as "src" or "req.cook(SESSID)".
func Parse(expr string) (Fetch, error) {
	if i := strings.IndexByte(expr, ')'); i >= 0 && i+1 < len(expr) && expr[i+1] == ',' || i < 0 && strings.Contains(expr, ",") {
		conv := expr[strings.LastIndexByte(expr[:max(i, 0)+1], ')')+1:]
		if i < 0 {
			conv = expr[strings.IndexByte(expr, ','):]
		}
		return Fetch{}, fmt.Errorf("converters ('%s') are not supported by dhproxy yet; use the fetch alone", strings.TrimPrefix(conv, ","))
	}
	name, arg, hasArg := strings.Cut(expr, "(")
	if hasArg {
		if !strings.HasSuffix(arg, ")") {
			return Fetch{}, fmt.Errorf("missing closing ')' in '%s'", expr)
		}
		arg = strings.TrimSuffix(arg, ")")
	}
	k, ok := names[name]
	if !ok {
		return Fetch{}, fmt.Errorf("fetch method '%s' is not supported by dhproxy yet; supported: %s", name, Supported)
	}
	f := Fetch{Kind: k, Name: arg}
	switch k {
	case Src, Path, URL:
		if hasArg {
			return Fetch{}, fmt.Errorf("fetch method '%s' takes no argument", name)
		}
	case Hdr, URLParam, ReqCook:
		if arg == "" {
			return Fetch{}, fmt.Errorf("fetch method '%s' expects a name between parentheses, as in %s(<name>)", name, name)
		}
		if strings.Contains(arg, ",") {
			return Fetch{}, fmt.Errorf("'%s': only the name argument is supported by dhproxy yet", expr)
		}
	}
	return f, nil
}
