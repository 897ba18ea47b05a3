// Package model turns parsed haproxy.cfg sections into the validated runtime
// model: global settings, proxies with their binds, servers and options.
// Each keyword is implemented in the file that registers it (kw_*.go).
package model

import (
	"crypto/tls"
	"net/netip"

	"dhproxy/internal/tlsconf"

	"dhproxy/internal/logging/logformat"
	"time"

	"dhproxy/internal/acl"
	"dhproxy/internal/config"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// Mode is a proxy's protocol level.
type Mode uint8

const (
	ModeTCP Mode = iota
	ModeHTTP
)

func (m Mode) String() string {
	if m == ModeHTTP {
		return "http"
	}
	return "tcp"
}

// Cap says which roles a section may play; keywords declare the roles they apply to.
type Cap uint8

const (
	CapFE  Cap = 1 << iota // frontend side: binds, client timeouts
	CapBE                  // backend side: servers, balancing
	CapDef                 // defaults section
)

// HTTPConnMode is the connection handling between the option httpclose family.
type HTTPConnMode uint8

const (
	HTTPKeepAlive   HTTPConnMode = iota // option http-keep-alive (default)
	HTTPServerClose                     // option http-server-close
	HTTPClose                           // option httpclose
)

// Reuse is the http-reuse policy for idle server connections.
type Reuse uint8

const (
	ReuseSafe Reuse = iota // default
	ReuseNever
	ReuseAggressive
	ReuseAlways
)

// Timeouts holds every "timeout" keyword; zero means unset.
type Timeouts struct {
	Connect, Client, Server, HTTPRequest, HTTPKeepAlive, Queue, Tunnel, ClientFin, ServerFin, Check, Tarpit time.Duration
}

// TCPKeepAlive is a side's TCP keepalive tuning; 0: the system's value.
type TCPKeepAlive struct {
	Count       int           // probes before the connection is dropped (TCP_KEEPCNT)
	Idle, Intvl time.Duration // idle time before the first probe, time between probes
}

// SyslogTag is the tag of p's log lines: its own "log-tag", else the
// global one (g.LogTag, empty for the program's name).
func (p *Proxy) SyslogTag(g *Global) string {
	if p.LogTag != "" {
		return p.LogTag
	}
	return g.LogTag
}

// SourceFor is the address s's connections and checks leave from: its
// own "source", else its backend's p; invalid: the system's choice.
func (p *Proxy) SourceFor(s *Server) netip.AddrPort {
	if s.Unix {
		return netip.AddrPort{} // haproxy binds no source for a UNIX socket
	}
	if s.Source.IsValid() {
		return s.Source
	}
	return p.Source
}

// ClientKeepAlive tells whether the client side sends TCP keepalive probes
// ("option tcpka" in a frontend or listen section, or "option clitcpka").
func (p *Proxy) ClientKeepAlive() bool {
	return p.IsFrontend() && (p.Options["tcpka"] || p.Options["clitcpka"])
}

// ServerKeepAlive tells whether the server side sends TCP keepalive probes
// ("option tcpka" in a backend or listen section, or "option srvtcpka").
func (p *Proxy) ServerKeepAlive() bool {
	return p.IsBackend() && (p.Options["tcpka"] || p.Options["srvtcpka"])
}

// ForwardFor is "option forwardfor".
type ForwardFor struct {
	Header string // default X-Forwarded-For
	Except []Net  // client networks that get no header
	IfNone bool   // only add when the request has none
}

// OriginalTo is "option originalto": the address the client connected to
// goes to the servers in a header.
type OriginalTo struct {
	Header string // "" when the option is not set; default X-Original-To
	Except Net    // destinations that get no header; not valid: none
}

// H2Tune holds the tune.h2.* settings; 0 means HAProxy's default
// (internal/h2 applies them).
type H2Tune struct {
	HeaderTableSize      uint32 // tune.h2.header-table-size
	InitialWindowSize    uint32 // tune.h2.initial-window-size
	MaxConcurrentStreams uint32 // tune.h2.max-concurrent-streams
	MaxFrameSize         uint32 // tune.h2.max-frame-size
}

// Global is the global section.
type Global struct {
	Pos                 config.Pos
	ExposeExperimental  bool             // expose-experimental-directives: normalize-uri is allowed
	SSLBind             tlsconf.Defaults // ssl-default-bind-options|ciphers|ciphersuites
	CrtBase             string           // crt-base: where relative crt paths are
	CABase              string           // ca-base: where relative ca-file and crl-file paths are
	SSLServerVerifyNone bool             // ssl-server-verify none
	SSLServer           tlsconf.Defaults // ssl-default-server-options|ciphers|ciphersuites
	Maxconn             int
	MaxconnImplicit     bool // Maxconn was derived from the FD limit (IdealMaxconn), not configured
	MaxConnRate         int  // maxconnrate: new connections per second (0: no limit)
	MaxSessRate         int  // maxsessrate: new sessions per second (0: no limit)
	Daemon              bool
	Pidfile             string
	Nbthread            int // 0: one per CPU, as HAProxy
	BufSize             int // tune.bufsize
	MaxRewrite          int // tune.maxrewrite, at most BufSize/2
	MaxHdr              int // tune.http.maxhdr: header fields allowed in a head, plus one for the start line
	H2                  H2Tune
	CompMaxLevel        int // tune.comp.maxlevel: the compression level (0: haproxy's default, 1)
	Logs                []LogTarget
	LogTag              string // syslog tag; empty: the program name
	// LogHostname is the host name put in syslog headers ("log-send-hostname");
	// empty: none, "\x00": the system's.
	LogHostname string
	Quiet       bool
	Node        string
	NoReusePort bool   // "noreuseport": listeners without SO_REUSEPORT (so -sf/-st cannot bind beside them)
	Description string // "description": the process's, shown by "stats show-desc"

	MaxPipes       int  // "maxpipes"; 0: derived (limits.go)
	UlimitN        int  // "ulimit-n"; 0: derived from maxconn
	NoStrictLimits bool // "no strict-limits": warn instead of refusing to start

	StatsSockets []StatsSocket // "stats socket" (kw_stats.go)
	StatsTimeout time.Duration // "stats timeout", idle runtime API sessions
	StatsMaxconn int           // "stats maxconn": runtime API sessions at once over all sockets (0: 10)
	// httpclient.ssl.ca-file / httpclient.ssl.verify none (HAProxy 3.2):
	// how the ACME client checks its certificate authority's server.
	HTTPClientCAFile   string
	HTTPClientNoVerify bool

	MasterWorker    bool          // "master-worker" (as -W)
	NoExitOnFailure bool          // "master-worker no-exit-on-failure": the master outlives a failed worker
	HardStopAfter   time.Duration // "hard-stop-after": how long a stopping process may finish its sessions; 0: unbounded
	LocalPeer       string        // "localpeer": this process's name in peers sections (-L wins)
	Grace           time.Duration // "grace": a soft stop keeps accepting this long first
	SpreadChecks    int           // "spread-checks": each health check interval varies at random by up to this percent (0..50)
	// CloseSpreadInfinite is "close-spread-time infinite": a soft stop
	// asks no connection to end (no "Connection: close", no GOAWAY).
	CloseSpreadInfinite bool

	// Process privileges (kw_process.go): the user and group the serving
	// process runs as once its sockets are open (-1: unchanged), the
	// directory it is locked in, the CPUs it may run on.
	UID, GID int
	Chroot   string
	CPUs     []int // union of the "cpu-map" sets, best effort

	// "external-check [preserve-env]" and "insecure-fork-wanted", which
	// external checks need (kw_external_check.go).
	ExternalCheck, ExternalCheckPreserveEnv, InsecureForkWanted bool

	ServerStateFile string // "server-state-file" (kw_serverstate.go)
	ServerStateBase string // "server-state-base": directory of relative state files
	// Global keywords of haproxy 2.6 added in session 12 (kw_global_env.go,
	// kw_global_more.go).
	EnvLines          [][]string // setenv, presetenv, unsetenv, resetenv lines, in order
	ZeroWarning       bool       // zero-warning: any configuration warning refuses the configuration
	NoSplice          bool       // nosplice: mode tcp never splices
	NoGetaddrinfo     bool       // nogetaddrinfo: names resolve with Go's own resolver
	NoMemoryTrimming  bool       // no-memory-trimming: memory is not handed back to the system when idle
	SetDumpable       bool       // set-dumpable: core dumps stay possible after the privileges drop
	PP2NeverSendLocal bool       // pp2-never-send-local: checks send a PROXY v2 PROXY command, not LOCAL
	H2NoWebsocket     bool       // h2-workaround-bogus-websocket-clients: no SETTINGS_ENABLE_CONNECT_PROTOCOL
	// H1AcceptPayloadAnyMethod: h1-accept-payload-with-any-method, HTTP/1.0
	// GET/HEAD/DELETE requests may carry a body
	H1AcceptPayloadAnyMethod bool
	FDHardLimit              int           // fd-hard-limit: the FD limit never goes above this (0: none)
	MworkerMaxReloads        int           // mworker-max-reloads: an old worker gets SIGTERM after more reloads than this (-1: never)
	MaxSpreadChecks          time.Duration // max-spread-checks: the first checks all start within this
	// H1CaseAdjust: h1-case-adjust and h1-case-adjust-file, the spelling
	// of header names (by lower-case name) for bogus HTTP/1 peers
	H1CaseAdjust           map[string]string
	H1CaseAdjustFile       string
	H1CaseAdjustFilePos    config.Pos
	HTTPClientResolvers    string // httpclient.resolvers.id
	HTTPClientResolversPos config.Pos
	// CertChain: ssl-skip-self-issued-ca and issuers-chain-path (nil: none)
	CertChain *tlsconf.ChainOpts
	UnixBind  *UnixBind // unix-bind (nil: none)
}

// LogTarget is one "log" line.
type LogTarget struct {
	Pos      config.Pos
	Global   bool   // "log global" in a proxy
	Address  string // udp host:port, /dev/log, stdout, stderr, ...
	Facility string
	Level    string
	MinLevel string
	Format   string // "format" option: rfc3164 (default), rfc5424, raw, short, ...
	Len      int    // "len" option: maximum line length, 0 for the default
	Sample   string // "sample" option: "<ranges>:<size>", "" to send every line
}

// Proxy is a frontend, backend, listen or defaults section.
type Proxy struct {
	Pos  config.Pos
	Name string
	Cap  Cap
	Mode Mode
	ID   int
	// AnswersACME: the frontend answers ACME http-01 challenges itself.
	AnswersACME bool

	Binds          []*Bind
	DefaultBackend string
	DefaultBEPos   config.Pos
	UseBackends    []UseBackend
	UseServers     []UseServer   // "use-server", in order (kw_use_server.go)
	PersistRules   []PersistRule // "force-persist" and "ignore-persist", in order
	// Filters are the "filter" lines' names in order; "compression" there
	// is the explicit place of the compression filter (kw_filter.go).
	Filters []string
	// PersistRDPCookie is the cookie "persist rdp-cookie[(<name>)]" reads
	// in mode tcp ("msts" by default); "" without it.
	PersistRDPCookie string
	// SendNameHeader is "http-send-name-header": the request header that
	// carries the name of the server it is sent to ("": none).
	SendNameHeader string
	Servers        []*Server
	DefaultServer  Server  // "default-server" settings copied into each server
	Dispatch       *Server // "dispatch": a nameless server taking all traffic when no "balance" is set
	Balance        Balance
	HashType       []string
	Timeouts       Timeouts
	// CliTCPKA and SrvTCPKA tune TCP keepalive probes on the client and
	// server sockets (clitcpka-*, srvtcpka-*); they are sent with
	// "option tcpka", "clitcpka" or "srvtcpka".
	CliTCPKA, SrvTCPKA TCPKeepAlive
	// LogTag is the syslog tag of the section's logs ("log-tag"); "":
	// the global one.
	LogTag string
	// Source is "source": the address (and port, 0: any) connections to
	// the servers and their checks leave from; invalid: the system's
	// choice. A server's own "source" wins.
	Source  netip.AddrPort
	Retries int
	Maxconn int // frontend: max concurrent sessions
	// RateLimitSessions is "rate-limit sessions": new sessions accepted per
	// second at most (0: no limit).
	RateLimitSessions int
	Fullconn          int
	Backlog           int
	Disabled          bool
	Description       string
	Reuse             Reuse

	// HashBalanceFactor is "hash-balance-factor" (0: unbounded loads).
	HashBalanceFactor int
	StickTable        *StickTable // "stick-table"
	StickRules        []StickRule // "stick on|match|store-request", in order
	TCPRequest        TCPRequest  // "tcp-request"
	TCPResponse       TCPResponse // "tcp-response"

	ConnMode   HTTPConnMode
	ForwardFor ForwardFor
	OriginalTo OriginalTo
	Redispatch bool
	RetryOn    RetryOn         // "retry-on" (kw_retry_on.go); 0: not written (conn-failure)
	Options    map[string]bool // every other "option X" that is only recorded: name → enabled

	// RestrictHdrNames is "option http-restrict-req-hdr-names".
	RestrictHdrNames RestrictHdrNames
	// MaxKeepAliveQueue is "max-keep-alive-queue": with "option
	// prefer-last-server", the queue length of its last server past which
	// a keep-alive request is balanced instead (-1: no limit; below: 0,
	// as haproxy reads them).
	MaxKeepAliveQueue int

	Logs         []LogTarget
	Cookie       *Cookie
	Compression  *Compression  // "compression" (kw_compression.go); nil: none
	cacheFilters []cacheFilter // "filter cache" lines (kw_cache.go)
	// UseFcgiApp names the backend's fcgi-app ("use-fcgi-app"), FcgiApp
	// is that section once resolved (kw_fcgi.go).
	UseFcgiApp string
	useFcgiPos config.Pos
	FcgiApp    *FcgiApp
	// DynamicCookieKey is "dynamic-cookie-key": the secret of "cookie ... dynamic".
	DynamicCookieKey  string
	Stats             *Stats
	ACLs              acl.Set       // "acl" lines (kw_acl.go)
	HTTPRequestRules  []*rules.Rule // "http-request", in order (kw_http_request.go)
	HTTPResponseRules []*rules.Rule // "http-response", in order
	RedirectRules     []*rules.Rule // "redirect": run after the http-request rules
	// HTTPAfterResponseRules ("http-after-response") run on every
	// response, the proxy's own replies and error pages too.
	HTTPAfterResponseRules []*rules.Rule
	MonitorURI             string      // "monitor-uri" (kw_monitor.go)
	MonitorFail            []*acl.Cond // "monitor fail if|unless": any true answers 503
	// PrometheusPath is the path of "http-request use-service
	// prometheus-exporter if { path <p> }" (kw_http_request.go).
	PrometheusPath string
	HTTPChk        []string          // "option httpchk" arguments
	Check          CheckOpts         // which protocol check runs, and its arguments
	HTTPLogCLF     bool              // "option httplog clf": Apache's common log format
	LogFormat      *logformat.Format // "log-format" (nil: the option's or the default line)
	HTTPSLogAt     config.Pos        // where "option httpslog" set LogFormat (zero: it did not)
	LogFormatSD    *logformat.Format // "log-format-sd": RFC5424 structured data of traffic lines
	UniqueIDFormat *logformat.Format // "unique-id-format"
	// ReqCaptures and ResCaptures are the capture slots, numbered in
	// declaration order ("capture request|response header", "declare
	// capture", "http-request|http-response capture ... len N").
	ReqCaptures, ResCaptures []Capture
	// CaptureCookie is "capture cookie NAME len N": the first request
	// cookie and Set-Cookie whose name starts with it, for %CC and %CS.
	CaptureCookie    string
	CaptureCookieLen int
	UniqueIDHeader   string // "unique-id-header": the request header carrying the id
	// ErrorPages replace the built-in pages by status: errorfile,
	// errorloc*, errorfiles, http-error (kw_errors.go); nil when none.
	ErrorPages map[int]*rules.Reply
	EmailAlert EmailAlert // email-alert mailers/from/to/level/myhostname
	// LoadServerState is "load-server-state-from-file" (global, local,
	// none or ""); ServerStateFileName is "server-state-file-name".
	LoadServerState, ServerStateFileName string
	ForcedID                             bool // "id" was written (show servers state's bk_f_forced_id)

	// Resolved references (after Build).
	DefaultBE *Proxy
}

// IsFrontend and IsBackend tell the roles of a built proxy.
func (p *Proxy) IsFrontend() bool { return p.Cap&CapFE != 0 }
func (p *Proxy) IsBackend() bool  { return p.Cap&CapBE != 0 }

// UseBackend is a use_backend rule.
type UseBackend struct {
	Pos     config.Pos
	Name    string
	Backend *Proxy         // nil for a dynamic name
	Dynamic *sample.Format // "use_backend %[...]": the name is computed per request
	Cond    *acl.Cond      // nil: always
}

// Balance is "balance ALGO [args]".
type Balance struct {
	Pos  config.Pos
	Algo string
	Args []string
	Expr *sample.Expr // "balance hash <expr>"
}

// Cookie is "cookie NAME mode options" (persistence: its own issue; kept here parsed).
type Cookie struct {
	Name     string
	Mode     string // "rewrite" (default), "insert" or "prefix"
	Indirect bool
	NoCache  bool
	Preserve bool
	PostOnly bool // insert only into responses to POST requests
	Dynamic  bool // servers without "cookie" get one from "dynamic-cookie-key"
	// MaxIdle and MaxLife (whole seconds, 0 = unset) make an inserted
	// cookie carry its last-seen and first-seen dates; older ones are ignored.
	MaxIdle, MaxLife time.Duration
	// Attrs are the attributes added to an inserted cookie, in order:
	// "HttpOnly", "Secure", "domain=D", or an "attr" value.
	Attrs []string
}

// Stats holds "stats ..." keywords of a proxy (served by the stats issue).
type Stats struct {
	Enabled bool
	URI     string
	Realm   string
	Auth    []string
	Refresh time.Duration
	Other   [][]string
	// Admin are the "stats admin if|unless COND" conditions: when one
	// holds, the page offers its action form and accepts its POSTs.
	Admin []*acl.Cond
	// HTTPRequest are the "stats http-request" rules, in order: the first
	// whose condition holds decides.
	HTTPRequest []StatsRule
}

// StatsRule is a "stats http-request allow|deny|auth [realm R] [if|unless
// COND]" line.
type StatsRule struct {
	Action string // allow, deny or auth
	Realm  string // auth's realm; empty: the default one
	Cond   *acl.Cond
}

// Bind is one listening address (a port range expands into several).
type Bind struct {
	Pos     config.Pos
	Network string // tcp, unix, fd
	Addr    string // host:port, socket path, or fd number
	Name    string
	// ID is the socket's "id", else its automatic one (so_id, the stats'
	// sid): set once the proxy is read.
	ID      int
	Maxconn int
	Backlog int
	Options map[string]string
	// AcceptProxy: connections start with a PROXY header (accept-proxy).
	AcceptProxy bool
	// TLS is set on an "ssl" bind: the options as written, and the server
	// configuration built from them and the global defaults.
	TLS       *tlsconf.BindOpts
	TLSConfig *tls.Config
	// H2 is set by "proto h2": clients speak HTTP/2 from their first
	// byte (prior knowledge, h2c) on a cleartext bind.
	H2 bool
	// Sock are the options set on the listening socket (kw_bind.go).
	Sock BindSock
	// Unix is a UNIX socket's permissions and owner: its "mode", else the
	// global unix-bind's.
	Unix UnixPerm
}

// BindSock are a bind line's socket options, as haproxy 2.6 sets them on
// the listening socket (the accepted connections inherit them).
type BindSock struct {
	DeferAccept bool          // defer-accept: TCP_DEFER_ACCEPT
	FastOpen    bool          // tfo: TCP_FASTOPEN, the backlog as its queue
	Transparent bool          // transparent: IP_TRANSPARENT / IPV6_TRANSPARENT
	Interface   string        // interface: SO_BINDTODEVICE
	Namespace   string        // namespace: the socket is made in /var/run/netns/<name>
	MSS         int           // mss: TCP_MAXSEG, the MSS advertised (0: the kernel's)
	UserTimeout time.Duration // tcp-ut: TCP_USER_TIMEOUT
}

// Server is a "server" line.
type Server struct {
	Pos       config.Pos
	Name      string
	ID        int
	Addr      string // host:port, or the socket path when Unix
	Unix      bool   // a UNIX socket ("/path", "unix@path", "abns@name": UnixSocket)
	Check     bool
	Inter     time.Duration
	FastInter time.Duration
	DownInter time.Duration
	Rise      int
	Fall      int
	Port      int // check port
	Weight    int
	Backup    bool
	Disabled  bool
	Cookie    string
	Maxconn   int
	Maxqueue  int
	Minconn   int
	SlowStart time.Duration
	Health    ServerHealth // agent-check, observe, on-error, on-marked-*, check-send-proxy
	SendProxy ProxyProto   // send-proxy, send-proxy-v2*, proxy-v2-options
	Options   map[string]string
	// TLS is set by "ssl" (or default-server ssl); TLSConfig is built from
	// it once the global section is known.
	TLS       *tlsconf.ServerOpts
	TLSConfig *tls.Config
	// Proto is "h2" for "proto h2" (HTTP/2 with prior knowledge, or over
	// TLS whatever ALPN says); "" or "h1" is HTTP/1.1 unless ALPN chose h2.
	Proto string
	// Source is the server's "source" (see Proxy.Source).
	Source netip.AddrPort
	// CheckProto is "check-proto": "h2", "h1" or "none" for the health
	// checks' connections; "" inherits Proto when the check is an HTTP one.
	CheckProto string
	// Multiplexed (HTTP/2) connection pooling: streams a connection may
	// carry after its first (max-reuse, -1: no limit), idle connections
	// kept (pool-max-conn, -1: no limit), how long an idle one is kept
	// (pool-purge-delay, 0: HAProxy's 5 s).
	MaxReuse       int
	PoolMaxConn    int
	PoolPurgeDelay time.Duration
	// SNIExpr is "sni <expr>" when not a constant str(): the name is
	// computed for each new connection.
	SNIExpr *sample.Expr
	// NonStick: stick rules never store this server ("non-stick", undone
	// by "stick").
	NonStick bool
	// Connection socket options: tfo (undone by no-tfo; TCP fast open
	// where the backend's retry-on allows), TCP_USER_TIMEOUT (tcp-ut).
	FastOpen    bool
	UserTimeout time.Duration
	// Namespace is "namespace": the network namespace its connections,
	// checks included, are made in.
	Namespace string

	// Run-time DNS (kw_resolvers.go): the resolvers section followed, the
	// family preferred, the networks accepted, and the name followed: FQDN
	// for A/AAAA records, SRV for a server-template on an SRV record.
	Resolvers           string
	ResolversRef        *Resolvers
	ResolvePrefer       string // "ipv4" or "ipv6" (default, as HAProxy)
	ResolveNets         []netip.Prefix
	ResolveAllowDup     bool // "resolve-opts allow-dup-ip"
	ResolveIgnoreWeight bool // "resolve-opts ignore-weight"
	FQDN, SRV           string
	Template            string // the server-template prefix that made it
	ForcedID            bool   // "id" was written (show servers state's srv_f_forced_id)

	// Redir is "redir <prefix>": GET and HEAD requests balanced to the
	// server are answered with a 302 to prefix and their URI instead.
	Redir string

	// "track [<proxy>/]<server>": the server's state follows Tracked's
	// (in TrackedProxy), which has checks or tracks another in turn.
	Track        string
	Tracked      *Server
	TrackedProxy *Proxy
}

// Config is the whole validated configuration.
type Config struct {
	Global  Global
	Proxies []*Proxy                 // frontends, backends and listens, in file order
	Mailers []*Mailers               // mailers sections, in file order
	Caches  map[string]*CacheSection // cache sections, by name (kw_cache.go)
	// FcgiApps are the fcgi-app sections, by name (kw_fcgi.go).
	FcgiApps map[string]*FcgiApp
	// Programs are the program sections, in file order: the master of
	// master-worker mode runs them.
	Programs []*Program
	// Certs holds the certificates of the ssl binds, which the runtime
	// API replaces; nil without any.
	Certs *tlsconf.Registry
	// Resolvers are the resolvers sections, in file order.
	Resolvers []*Resolvers
	// PatternFiles are the ACL pattern and map files, which the runtime
	// API edits.
	PatternFiles []*acl.Ref
	ACME         []*ACME // acme sections, in file order
	// PeersList are the peers sections, in file order (kw_peers.go), and
	// LocalPeer this process's peer name once ResolvePeers ran.
	PeersList []*Peers
	LocalPeer string
	// LogForwards are the log-forward sections, in file order (kw_logforward.go).
	LogForwards []*LogForward
	// Rings are the ring sections, in file order (kw_ring.go).
	Rings []*Ring
	// A frontend and a backend may share a name, as in HAProxy: names are
	// unique per capability. A listen section is in both maps.
	frontends, backends map[string]*Proxy
	peerTables          map[string]*Proxy // "table" lines of peers sections, by "<peers>/<table>"
}

// Proxy returns the frontend, backend or listen named name; the backend
// when a frontend and a backend share the name.
func (c *Config) Proxy(name string) *Proxy {
	if p := c.backends[name]; p != nil {
		return p
	}
	return c.frontends[name]
}
