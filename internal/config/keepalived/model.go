package keepalived

import (
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/config"
)

// Config is a validated keepalived.conf.
type Config struct {
	Global         GlobalDefs
	Instances      []*VRRPInstance
	SyncGroups     []*SyncGroup
	Scripts        map[string]*VRRPScript
	TrackFiles     map[string]*TrackFile
	VirtualServers []*VirtualServer
	VSGroups       map[string]*VSGroup
	// StaticAddrs, StaticRoutes and StaticRules (static_ipaddress,
	// static_routes, static_rules) are
	// set at start whatever the instances' states, removed at stop.
	StaticAddrs  []VIP
	StaticRoutes []Route
	StaticRules  []Rule
	// ConfigErrors counts what keepalived logs as a configuration error
	// and runs through (reported as warnings): "keepalived -t" exits
	// non-zero on them, and so do "dhproxy vrrp -t" and "dhproxy -c -K".
	ConfigErrors int
}

// RunsVRRP reports whether the VRRP side has work: instances, or static
// addresses, routes or rules, which keepalived sets even without an
// instance.
func (c *Config) RunsVRRP() bool {
	return len(c.Instances)+len(c.StaticAddrs)+len(c.StaticRoutes)+len(c.StaticRules) > 0
}

// GlobalDefs is the global_defs block, with keepalived's defaults filled in.
type GlobalDefs struct {
	Pos                   config.Pos
	RouterID              string
	NotificationEmail     []string
	NotificationEmailFrom string
	SMTPServer            string // host name or IP; empty when unset
	SMTPPort              int    // default 25
	SMTPConnectTimeout    time.Duration
	SkipCheckAdvAddr      bool
	Strict                bool
	GARPInterval          time.Duration
	GNAInterval           time.Duration
	GARPMasterDelay       time.Duration // default 5s
	GARPMasterRepeat      int           // default 5
	GARPMasterRefresh     time.Duration // 0 = off
	EnableScriptSecurity  bool
	ScriptUser            string
	ScriptGroup           string
	LVSID                 string
	CheckerLogAllFailures bool // every checker logs each failed attempt (log_all_failures)
	VRRPVersion           int  // default 2
}

// VRRPScript is a vrrp_script block.
type VRRPScript struct {
	Pos      config.Pos
	Name     string
	Script   string
	Interval time.Duration // default 1s
	Timeout  time.Duration // 0 = the interval
	Weight   int           // -253..253; 0 = failure means FAULT
	Reverse  bool
	Rise     int // default 1
	Fall     int // default 1
	User     string
	Group    string
}

// TrackFile is a track_file (or vrrp_track_file) block.
type TrackFile struct {
	Pos     config.Pos
	Name    string
	File    string
	Weight  int // default 1
	Reverse bool
}

// VRRPInstance is a vrrp_instance block.
type VRRPInstance struct {
	Pos              config.Pos
	Name             string
	State            string // "MASTER" or "BACKUP" (default)
	Interface        string
	VRID             int
	Priority         int           // default 100
	AdvertInt        time.Duration // default 1s
	Version          int           // 2 or 3
	AuthType         string        // "", "PASS" or "AH"
	AuthPass         string        // at most 8 bytes
	VIPs             []VIP
	ExcludedVIPs     []VIP
	Routes           []Route // virtual_routes: set on entering MASTER, removed on leaving it
	Rules            []Rule  // virtual_rules: likewise
	NoPreempt        bool
	PreemptDelay     time.Duration
	UnicastSrcIP     netip.Addr // source of adverts: unicast_src_ip or mcast_src_ip (one setting in keepalived)
	UnicastPeers     []netip.Addr
	UnicastTTL       int                     // TTL / hop limit of unicast adverts sent, default 255
	PeerTTL          map[netip.Addr]TTLRange // unicast peers with min_ttl/max_ttl: adverts outside are dropped
	VMAC             string                  // use_vmac: the macvlan's name (default vrrp.<VRID>); "" = no VMAC
	VMACAddr         net.HardwareAddr        // its MAC, default 00:00:5e:00:01:<VRID> (IPv6: 00:00:5e:00:02:<VRID>)
	VMACXmitBase     bool                    // vmac_xmit_base: adverts go out on the base interface
	TrackInterfaces  []Track
	TrackScripts     []Track
	TrackFiles       []Track
	NotifyMaster     string
	NotifyBackup     string
	NotifyFault      string
	NotifyStop       string
	Notify           string
	SMTPAlert        bool
	GARPMasterDelay  time.Duration // default: global_defs' vrrp_garp_master_delay
	DontTrackPrimary bool
	Accept           bool   // default true, false with vrrp_strict
	SyncGroup        string // name of the vrrp_sync_group holding it
}

// TTLRange is the TTL a unicast peer's adverts must arrive with.
type TTLRange struct{ Min, Max int }

// VIP is one line of virtual_ipaddress.
type VIP struct {
	Pos    config.Pos
	Prefix netip.Prefix // address with its prefix length (/32 or /128 by default)
	Dev    string       // empty = the instance's interface
	Label  string
	Brd    netip.Addr
	Scope  string
}

// Route is one line of virtual_routes or static_routes: the part of
// keepalived's "ip route" syntax that dhproxy applies.
type Route struct {
	Pos      config.Pos
	Type     string // "" (unicast), blackhole, unreachable, prohibit or throw
	Dst      netip.Prefix
	Src      netip.Addr // preferred source (src)
	Via      netip.Addr
	Dev      string
	OnLink   bool
	Table    uint32 // 0 = main
	Metric   uint32 // 0 = none (IPv6: the kernel's 1024)
	Scope    uint8  // RT_SCOPE_*; keepalived's default is global (0) even without a gateway
	Protocol uint8  // default 18, "keepalived"
	Mode     string // how it is added: "prepend" (keepalived's default), "add" or "append"
	NoTrack  bool
}

// Rule is one line of virtual_rules or static_rules: the part of
// keepalived's "ip rule" syntax that dhproxy applies.
type Rule struct {
	Pos        config.Pos
	IPv6       bool         // from the addresses, or "inet6"
	From, To   netip.Prefix // invalid = all
	Not        bool
	Action     string // "table" (lookup), "goto", "blackhole", "unreachable" or "prohibit"
	Table      uint32 // the table looked up
	Goto       uint32 // the preference goto jumps to
	Preference uint32 // keepalived assigns 16384, 16383, ... to rules without one
	FWMark     uint32
	FWMask     uint32 // 0 = none written
	IIF, OIF   string
	Protocol   uint8 // 18 ("keepalived"); 0 with no_track
	NoTrack    bool
}

// Track is one entry of track_interface, track_script or track_file.
type Track struct {
	Pos       config.Pos
	Name      string
	Weight    int
	HasWeight bool // weight written here; otherwise the tracked object's own
	Reverse   bool
}

// SyncGroup is a vrrp_sync_group block.
type SyncGroup struct {
	Pos          config.Pos
	Name         string
	Members      []string
	NotifyMaster string
	NotifyBackup string
	NotifyFault  string
	NotifyStop   string
	Notify       string
	SMTPAlert    bool
}

// VSGroup is a virtual_server_group block: each entry is an address range
// with a port, or a fwmark.
type VSGroup struct {
	Pos     config.Pos
	Name    string
	Entries []VSGroupEntry
}

// VSGroupEntry is one virtual_server_group line.
type VSGroupEntry struct {
	Pos    config.Pos
	First  netip.Addr // range start (or the single address)
	Last   netip.Addr // range end (equal to First for a single address)
	Port   uint16
	FWMark uint32
}

// VirtualServer is a virtual_server block.
type VirtualServer struct {
	Pos                    config.Pos
	Addr                   netip.Addr // zero with fwmark/group
	Port                   uint16
	FWMark                 uint32
	Group                  string
	DelayLoop              time.Duration // default 60s
	Sched                  string        // default "wlc"
	Method                 string        // NAT (default), DR, TUN
	Persistent             bool
	PersistenceTimeout     time.Duration // default 360s when persistent
	PersistenceGranularity netip.Addr
	Protocol               string // TCP (default), UDP, SCTP
	SorryServer            *Endpoint
	SorryInhibit           bool   // sorry_server_inhibit: the sorry server stays listed at weight 0 with quorum
	IPFamily               string // ip_family: "inet", "inet6" or "" (from the addresses)
	HASuspend              bool   // ha_suspend: no checks while the address is not on this host
	Quorum                 int    // default 1
	QuorumUp               string
	QuorumDown             string
	Hysteresis             int
	Alpha                  bool
	Omega                  bool
	InhibitOnFailure       bool
	VirtualHost            string
	ConnectTimeout         time.Duration // cascades to checkers; default 5s
	Retry                  int           // cascades; -1 = checker default
	DelayBeforeRetry       time.Duration // cascades; 0 = checker default
	Warmup                 time.Duration // cascades; -1 = the checker's delay_loop
	RealServers            []*RealServer
}

// Endpoint is an address and port.
type Endpoint struct {
	Pos  config.Pos
	Addr netip.Addr
	Port uint16
}

// RealServer is a real_server block.
type RealServer struct {
	Pos              config.Pos
	Addr             netip.Addr
	Port             uint16
	Weight           int // default 1
	NotifyUp         string
	NotifyDown       string
	InhibitOnFailure bool
	ConnectTimeout   time.Duration
	Retry            int
	DelayBeforeRetry time.Duration
	DelayLoop        time.Duration // 0 = the virtual server's
	Warmup           time.Duration // -1 = the checker's delay_loop
	Alpha            *bool         // nil = the virtual server's
	VirtualHost      string
	Checks           []*Check
}

// Check is one health checker of a real server. The timers and alpha
// are resolved: checker, else real_server, else virtual_server, else
// keepalived's default for the kind.
type Check struct {
	Pos              config.Pos
	Kind             string     // TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK
	ConnectIP        netip.Addr // zero = the real server's
	ConnectPort      uint16     // 0 = the real server's
	BindTo           netip.Addr // probe source address; zero = the kernel's choice
	BindPort         uint16     // probe source port; 0 = any
	BindIf           string     // probe interface (SO_BINDTODEVICE)
	ConnectTimeout   time.Duration
	Retry            int
	DelayBeforeRetry time.Duration
	DelayLoop        time.Duration
	Warmup           time.Duration // the first check starts after a random delay up to this
	Alpha            bool          // start down until the first success
	LogAllFailures   bool          // log every failed attempt, not only the state change
	FWMark           uint32        // fwmark: SO_MARK of the probe's packets; 0 = none
	URLs             []URL
	HTTPProtocol     string // HTTP_GET/SSL_GET: "1.0" (default), "1.0C" or "1.1"
	VirtualHost      string // HTTP_GET/SSL_GET: Host header, overriding the real and virtual server's
	FastRecovery     bool   // HTTP_GET/SSL_GET
	EnableSNI        bool   // SSL_GET: send SNI (sni_name, else the virtualhost)
	SNIName          string
	HeloName         string // SMTP_CHECK; default smtpchecker.keepalived.org
	DNSType          string // DNS_CHECK: A NS CNAME SOA MX TXT AAAA; default SOA
	DNSName          string // DNS_CHECK; default "."
	Payload          []byte // UDP_CHECK datagram
	RequireReply     bool   // UDP_CHECK: a reply is needed
	ReplyData        []byte // UDP_CHECK: the reply must start with these bytes...
	ReplyMask        []byte // ...except the bits set here (x nibbles); nil = none
	MinReplyLen      int    // UDP_CHECK, with reply data; default 0
	MaxReplyLen      int    // UDP_CHECK, with reply data; default 255
	MiscPath         string
	MiscTimeout      time.Duration
	MiscDynamic      bool
	User, Group      string // MISC_CHECK's "user <user> [group]"
	TrackFile        string // FILE_CHECK: the track_file block's name
	FileWeight       int    // FILE_CHECK: weight, resolved (the track_file's when unset or 0)
	FileReverse      bool   // FILE_CHECK: weight ... reverse

	alphaSet *bool // alpha written in the checker block
}

// URL is one url block of HTTP_GET / SSL_GET.
type URL struct {
	Pos            config.Pos
	Path           string
	Digest         string   // lower-case hex MD5
	StatusCodes    [][2]int // inclusive ranges; default 200-299
	VirtualHost    string   // Host header for this url only
	Regex          string   // the body must match (RE2 syntax, with RegexOptions applied)
	RegexNoMatch   bool     // the body must not match Regex
	RegexOptions   []string
	RegexMinOffset int // the match must start at or after this body offset
	RegexMaxOffset int // ...and, with RegexMaxSet, at or before this one
	RegexMaxSet    bool
}

// Value reads the number the track file holds, as keepalived does for
// VRRP and checkers alike: the first 127 bytes, parsed like strtol with
// base 0 (leading blanks, a sign, 0x hex, 0 octal, then digits up to the
// first other byte). A missing, unreadable or empty file, or one without
// digits, holds 0; a number outside the int32 range is ignored and last
// is returned.
func (t *TrackFile) Value(last int) int {
	f, err := os.Open(t.File)
	if err != nil {
		return 0
	}
	defer f.Close()
	buf := make([]byte, 127)
	n, _ := io.ReadFull(f, buf)
	v, ok := strtol(string(buf[:n]))
	if !ok {
		return last
	}
	return v
}

// strtol parses the leading number of s as C's strtol(s, NULL, 0) would;
// ok is false when it does not fit in an int32.
func strtol(s string) (int, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isDigit(s[2], 16):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base = 8
	}
	v := int64(0)
	for i := 0; i < len(s) && isDigit(s[i], base); i++ {
		d, _ := strconv.ParseInt(s[i:i+1], 16, 8)
		v = v*int64(base) + d
		if v > 1<<31 {
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	if v > math.MaxInt32 || v < math.MinInt32 {
		return 0, false
	}
	return int(v), true
}

func isDigit(ch byte, base int) bool {
	d, err := strconv.ParseInt(string(ch), 16, 8)
	return err == nil && int(d) < base
}
