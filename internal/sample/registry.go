package sample

import (
	"net/netip"
	"sort"

	"dhproxy/internal/http1"
)

// Phase is a set of the points of a stream where a sample can be taken.
type Phase uint8

const (
	PhaseConn Phase = 1 << iota // tcp-request connection/content: addresses only
	PhaseReq                    // http-request rules, use_backend: the request head
	PhaseRes                    // http-response rules: the response head
	// PhaseContent is tcp-request content rules and mode tcp's
	// use_backend: the request payload received so far (PayloadTxn).
	PhaseContent
	// PhaseResContent is tcp-response content rules: the response
	// payload received so far (PayloadTxn).
	PhaseResContent

	PhaseAll = PhaseConn | PhaseReq | PhaseRes | PhaseContent | PhaseResContent
)

// Txn is what fetches read: one transaction of a stream. The stream
// implements it without allocating; names are returned as bytes so that a
// sample can point at them.
type Txn interface {
	Src() netip.AddrPort
	Dst() netip.AddrPort
	FrontendName() []byte
	BackendName() []byte // the frontend's own name until a backend is chosen
	Request() *http1.Request
	Response() *http1.Response // nil before the response head arrived
	// Status is the response status as rules see it: the server's, or
	// what an http-response set-status rule made it.
	Status() int
	// Scratch is where converters write what they produce; the stream
	// empties it when a new transaction starts.
	Scratch() *[]byte
	// UsableServers is nbsrv: the usable servers of the named backend
	// ("" for the current one), or -1 when there is no such backend.
	UsableServers(backend []byte) int
	// ProxyState answers key (fetch_state.go) for the named backend (""
	// for the current one) and server; false when there is no such
	// backend or server.
	ProxyState(key StateKey, backend, server []byte) (int64, bool)
	// ServerName is the server serving the request, "" before one is.
	ServerName() string
	// SocketName is the "name" of the bind that accepted the connection,
	// "" without one.
	SocketName() string
	// Vars is the variables of a scope, nil where the scope does not
	// exist (a mode tcp connection has no transaction variables yet).
	Vars(Scope) *Vars
}

// H2Txn is a transaction that tells whether its request came over HTTP/2
// (the pipeline sees it in HTTP/1.1 form): req.ver is then "2.0", as in
// haproxy.
type H2Txn interface{ OverH2() bool }

// ArgType is the type of a fetch's or converter's argument.
type ArgType uint8

const (
	ArgStr ArgType = iota
	ArgInt
)

// Args are the parsed arguments of one fetch or converter call.
type Args struct {
	N    int // how many were given
	Str  [maxArgs]string
	Byt  [maxArgs][]byte // Str as bytes, so that evaluation does not convert
	Int  [maxArgs]int64  // ArgInt arguments (and the int value of optional ones)
	Data any             // what a Prepare hook built (a map, a table)
	hdr  headerName      // a header fetch's name (prepareHeaderName)
}

const maxArgs = 5

// Iter carries a multi-valued fetch (a header's values, its occurrences)
// from one value to the next when an ACL tests them all; a nil *Iter asks a
// fetch for its single value (HAProxy's: the last occurrence).
type Iter struct {
	A, B int
	More bool // set by the fetch: another value may follow
	done bool
}

// FetchFunc fills v; false when the sample does not exist.
type FetchFunc func(t Txn, a *Args, it *Iter, v *Value) bool

// ConvFunc transforms v in place; false makes the expression fail.
type ConvFunc func(t Txn, a *Args, v *Value) bool

// PrepareFunc validates and precomputes the arguments at load time
// (compiles a regex, loads a map file); errors say what to write instead.
type PrepareFunc func(c *Compiler, a *Args) error

// Fetch describes a sample fetch keyword.
type FetchDef struct {
	Name    string
	Args    []ArgType
	MinArgs int
	Out     Type
	Phases  Phase
	Needs   string // what the fetch needs, for phase errors ("the HTTP response")
	Fn      FetchFunc
	Prepare PrepareFunc
	// Multi marks fetches that return several values to an ACL (every
	// header occurrence, every cookie of that name); with OccArg, only
	// while their last argument, an occurrence number, is not given.
	Multi, OccArg bool
}

// ConvDef describes a converter keyword.
type ConvDef struct {
	Name    string
	Args    []ArgType
	MinArgs int
	In, Out Type
	Fn      ConvFunc
	Prepare PrepareFunc
}

var (
	fetches    = map[string]*FetchDef{}
	converters = map[string]*ConvDef{}
)

// RegisterFetch and RegisterConverter declare a keyword once; packages
// outside sample (acl for the map converters) add theirs from init.
func RegisterFetch(f *FetchDef) {
	if _, dup := fetches[f.Name]; dup {
		panic("sample: fetch registered twice: " + f.Name)
	}
	fetches[f.Name] = f
}

func RegisterConverter(c *ConvDef) {
	if _, dup := converters[c.Name]; dup {
		panic("sample: converter registered twice: " + c.Name)
	}
	converters[c.Name] = c
}

// LookupFetch returns the fetch named name, or nil.
func LookupFetch(name string) *FetchDef { return fetches[name] }

// FetchNames lists the registered fetches, sorted (for suggestions and docs).
func FetchNames() []string { return sortedKeys(fetches) }

// ConverterNames lists the registered converters, sorted.
func ConverterNames() []string { return sortedKeys(converters) }

func sortedKeys[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// PhaseWord names a phase in error messages.
func PhaseWord(p Phase) string {
	switch p {
	case PhaseConn:
		return "tcp-request connection rules"
	case PhaseReq:
		return "http-request rules"
	case PhaseRes:
		return "http-response rules"
	case PhaseConn | PhaseContent:
		return "tcp-request content rules"
	case PhaseConn | PhaseResContent:
		return "tcp-response content rules"
	}
	return "this place"
}
