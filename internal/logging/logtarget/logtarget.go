// Package logtarget parses the parts of a haproxy.cfg "log" line that the
// configuration model and the log senders both need: the "len", "format" and
// "sample" options, facility and level names, and the target address.
//
// It is a leaf package (standard library only) so that internal/model can
// validate "log" lines with it while internal/logging, which builds senders
// from model.LogTarget values, imports the model: neither import cycles.
package logtarget

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Facilities are the syslog facility names in code order (facility*8+level
// is the syslog PRI), as HAProxy's log_facilities table.
var Facilities = []string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// Levels are the syslog severities in code order (0 = emerg ... 7 = debug).
var Levels = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// Formats are the values "log ... format <fmt>" accepts (HAProxy's log_formats).
var Formats = []string{"local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw"}

// DefaultLen is HAProxy's MAX_SYSLOG_LEN: the line length when "len" is absent.
const DefaultLen = 1024

// Facility returns the code of a facility name, or -1.
func Facility(name string) int { return index(Facilities, name) }

// Level returns the code of a level name, or -1.
func Level(name string) int { return index(Levels, name) }

func index(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// ParseTargetOptions reads the options that may follow the address of a "log"
// line, in HAProxy's order: [len <n>] [format <fmt>] [sample <ranges>:<size>].
// args are the words after the address; rest is what follows the options
// (facility [level [minlevel]]). format is "" and length 0 when absent, which
// mean HAProxy's defaults (rfc3164 header without hostname, DefaultLen);
// sample is "" without sampling.
func ParseTargetOptions(args []string) (format string, length int, sample string, rest []string, err error) {
	rest = args
	if len(rest) > 0 && rest[0] == "len" {
		if len(rest) < 2 {
			return "", 0, "", nil, fmt.Errorf("'len' expects a length between 80 and 65535")
		}
		n, convErr := strconv.Atoi(rest[1])
		if convErr != nil || n < 80 || n > 65535 {
			return "", 0, "", nil, fmt.Errorf("invalid log length '%s', must be between 80 and 65535", rest[1])
		}
		length, rest = n, rest[2:]
	}
	if len(rest) > 0 && rest[0] == "format" {
		if len(rest) < 2 {
			return "", 0, "", nil, fmt.Errorf("'format' expects one of %s", strings.Join(Formats, ", "))
		}
		if index(Formats, rest[1]) < 0 {
			return "", 0, "", nil, fmt.Errorf("unknown log format '%s'; use one of %s", rest[1], strings.Join(Formats, ", "))
		}
		format, rest = rest[1], rest[2:]
	}
	if len(rest) > 0 && rest[0] == "sample" {
		arg := ""
		if len(rest) > 1 {
			arg = rest[1]
		}
		if _, err := ParseSample(arg); err != nil {
			return "", 0, "", nil, err
		}
		sample, rest = arg, rest[2:]
	}
	// HAProxy reads these options in a fixed order; a misplaced one would be
	// taken for a facility, so say what to write instead.
	if len(rest) > 0 && (rest[0] == "len" || rest[0] == "format" || rest[0] == "sample") {
		return "", 0, "", nil, fmt.Errorf("'%s' is out of place; options go right after the address in this order: len <n>, format <fmt>, sample <ranges>:<size>", rest[0])
	}
	return format, length, sample, rest, nil
}

// Sample is a "sample <ranges>:<size>" option: of every Size lines, those
// whose rank (from 1) is in a range are sent.
type Sample struct {
	Size   int
	Ranges [][2]int // inclusive bounds, within 1..Size
}

// Has reports whether rank n (1..Size) is sampled.
func (s *Sample) Has(n int) bool {
	for _, r := range s.Ranges {
		if n >= r[0] && n <= r[1] {
			return true
		}
	}
	return false
}

// ParseSample reads "<low>[-<high>][,...]:<size>" as haproxy does: ranges
// of ranks from 1, a range's high bound above its low one, no overlap, and
// a size at least the highest bound. Errors are haproxy's.
func ParseSample(s string) (*Sample, error) {
	ranges, size, ok := strings.Cut(s, ":")
	if !ok {
		return nil, fmt.Errorf("missing sample size in 'sample %s'; write 'sample <ranges>:<size>', e.g. 'sample 1-3,7:10'", s)
	}
	smp := &Sample{}
	top := 0
	for _, r := range strings.Split(ranges, ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		l, err1 := strconv.Atoi(lo)
		h, err2 := l, error(nil)
		if isRange {
			h, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || l < 1 || (isRange && h <= l) {
			return nil, fmt.Errorf("wrong sample range '%s'", r)
		}
		for _, o := range smp.Ranges {
			if (l >= o[0] && l <= o[1]) || (h >= o[0] && h <= o[1]) {
				return nil, fmt.Errorf("sample ranges are overlapping in '%s'", ranges)
			}
		}
		smp.Ranges = append(smp.Ranges, [2]int{l, h})
		top = max(top, h)
	}
	n, err := strconv.Atoi(size)
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("wrong sample size '%s' for sample range '%s'", size, ranges)
	}
	if n < top {
		return nil, fmt.Errorf("sample size %d should be greater or equal to %d the maximum of the high ranges limits", n, top)
	}
	smp.Size = n
	return smp, nil
}

// Kind tells how a target is written to.
type Kind int

const (
	UDP  Kind = iota // syslog datagram over UDP
	Unix             // syslog datagram over a unix socket (/dev/log)
	FD               // an inherited file descriptor: stdout, stderr, fd@N
	File             // a file dhproxy appends to itself: file@/path (no syslog daemon)
	Ring             // a ring section's buffer: ring@name (Path is the name)
	TCP              // tcp@host[:port]: the configuration gives it an implicit ring (Host is "host:port")
)

// Addr is a parsed log target address.
type Addr struct {
	Kind    Kind
	Network string         // "udp", "udp4" or "udp6" for UDP; "tcp", "tcp4" or "tcp6" for TCP
	Host    string         // UDP "name:port" to resolve when the host is not an IP, else ""; TCP "host:port"
	IP      netip.AddrPort // UDP address when Host is ""
	Path    string         // Unix socket path, or the File's path
	FD      int            // FD number
}

// DefaultPort is the syslog UDP port used when the address has none.
const DefaultPort = 514

// ParseAddress reads a log target address the way HAProxy does: "stdout",
// "stderr", "fd@N", a path ("/dev/log"), "unix@path"/"uxdg@path", or a UDP
// address "[udp@|udp4@|udp6@|ipv4@|ipv6@]host[:port]" (port 514 by default).
// "ring@name" names a ring section; "tcp@", "tcp4@", "tcp6@" a syslog server over TCP (port 514
// by default) that an implicit ring feeds. Abstract and stream unix sockets are refused. dhproxy
// adds "file@/absolute/path": lines appended to a file, framed as on stdout.
func ParseAddress(s string) (Addr, error) {
	switch s {
	case "stdout":
		return Addr{Kind: FD, FD: 1}, nil
	case "stderr":
		return Addr{Kind: FD, FD: 2}, nil
	}
	prefix, rest, hasPrefix := strings.Cut(s, "@")
	if !hasPrefix {
		prefix, rest = "", s
	}
	switch prefix {
	case "fd":
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return Addr{}, fmt.Errorf("invalid file descriptor in '%s'; write 'fd@<number>', 'stdout' or 'stderr'", s)
		}
		return Addr{Kind: FD, FD: n}, nil
	case "file":
		if !strings.HasPrefix(rest, "/") {
			return Addr{}, fmt.Errorf("'%s' needs an absolute path, e.g. 'file@/var/log/dhproxy/access.log'", s)
		}
		return Addr{Kind: File, Path: rest}, nil
	case "unix", "uxdg":
		if rest == "" {
			return Addr{}, fmt.Errorf("missing socket path in '%s'", s)
		}
		return Addr{Kind: Unix, Path: rest}, nil
	case "udp", "udp4", "udp6", "ipv4", "ipv6", "":
		if prefix == "" && strings.HasPrefix(rest, "/") {
			return Addr{Kind: Unix, Path: rest}, nil
		}
		network := map[string]string{"": "udp", "udp": "udp", "udp4": "udp4", "udp6": "udp6", "ipv4": "udp4", "ipv6": "udp6"}[prefix]
		return parseUDP(s, network, rest)
	case "ring":
		if rest == "" {
			return Addr{}, fmt.Errorf("missing ring name in '%s'", s)
		}
		return Addr{Kind: Ring, Path: rest}, nil
	case "tcp", "tcp4", "tcp6":
		a, err := parseUDP(s, "udp"+strings.TrimPrefix(prefix, "tcp"), rest)
		if err != nil {
			return Addr{}, err
		}
		a.Kind, a.Network = TCP, prefix
		if a.Host == "" {
			a.Host = a.IP.String()
		}
		return a, nil
	default:
		return Addr{}, fmt.Errorf("unsupported address family '%s@' in log target '%s'; use udp@, udp4@, udp6@, tcp@, tcp4@, tcp6@, unix@, fd@, ring@, file@, stdout or stderr", prefix, s)
	}
}

func parseUDP(orig, network, s string) (Addr, error) {
	a := Addr{Kind: UDP, Network: network}
	if s == "" {
		return Addr{}, fmt.Errorf("missing address in log target '%s'", orig)
	}
	// A bare IPv6 literal has no port; HAProxy users write it with brackets
	// when they want one.
	if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil && !strings.Contains(s, "]:") {
		a.IP = netip.AddrPortFrom(ip, DefaultPort)
		return a, checkFamily(orig, a)
	}
	host, port := s, DefaultPort
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		n, err := 0, error(nil)
		if s[i+1:] != "" { // an empty port is no port, as in HAProxy
			n, err = strconv.Atoi(s[i+1:])
		}
		if err != nil || n < 0 || n > 65535 {
			return Addr{}, fmt.Errorf("invalid port '%s' in log target '%s'", s[i+1:], orig)
		}
		host = s[:i]
		if n != 0 { // HAProxy takes port 0 as "none given"
			port = n
		}
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return Addr{}, fmt.Errorf("missing host in log target '%s'", orig)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		a.IP = netip.AddrPortFrom(ip, uint16(port))
		return a, checkFamily(orig, a)
	}
	a.Host = net.JoinHostPort(host, strconv.Itoa(port))
	return a, nil
}

func checkFamily(orig string, a Addr) error {
	if (a.Network == "udp4" && !a.IP.Addr().Is4()) || (a.Network == "udp6" && a.IP.Addr().Is4()) {
		return fmt.Errorf("address family mismatch in log target '%s'", orig)
	}
	return nil
}
