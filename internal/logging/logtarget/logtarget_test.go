package logtarget

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseTargetOptions(t *testing.T) {
	cases := []struct {
		args   string
		format string
		length int
		sample string
		rest   string
		err    string
	}{
		{args: "local0", rest: "local0"},
		{args: "local0 info notice", rest: "local0 info notice"},
		{args: "format raw local0", format: "raw", rest: "local0"},
		{args: "len 4096 format rfc5424 local1 debug", format: "rfc5424", length: 4096, rest: "local1 debug"},
		{args: "len 80 local0", length: 80, rest: "local0"},
		{args: "format short sample 1-3,7:10 daemon", format: "short", sample: "1-3,7:10", rest: "daemon"},
		{args: "len 79 local0", err: "invalid log length '79', must be between 80 and 65535"},
		{args: "len 65536 local0", err: "invalid log length '65536'"},
		{args: "len abc local0", err: "invalid log length 'abc'"},
		{args: "len", err: "'len' expects a length"},
		{args: "format json local0", err: "unknown log format 'json'; use one of local, rfc3164, rfc5424, priority, short, timed, iso, raw"},
		{args: "format", err: "'format' expects one of"},
		{args: "format raw len 100 local0", err: "'len' is out of place"},
		{args: "sample 3:2 local0", err: "sample size 2 should be greater or equal to 3"},
		{args: "sample 1-2 local0", err: "missing sample size"},
		{args: "sample 1-1:3 local0", err: "wrong sample range '1-1'"},
		{args: "sample 1-3,2:3 local0", err: "overlapping"},
		{args: "sample 1:0 local0", err: "wrong sample size '0' for sample range '1'"},
	}
	for _, c := range cases {
		format, length, smp, rest, err := ParseTargetOptions(strings.Fields(c.args))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || format != c.format || length != c.length || smp != c.sample || !slices.Equal(rest, strings.Fields(c.rest)) {
			t.Errorf("%q: got (%q, %d, %q, %q, %v), want (%q, %d, %q, %q)", c.args, format, length, smp, rest, err, c.format, c.length, c.sample, c.rest)
		}
	}
}

func TestSampleRanks(t *testing.T) {
	s, err := ParseSample("1-2,5:6")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for n := 1; n <= 6; n++ {
		if s.Has(n) {
			got = append(got, n)
		}
	}
	if !slices.Equal(got, []int{1, 2, 5}) {
		t.Errorf("sampled ranks %v, want [1 2 5]", got)
	}
}

func TestFacilityAndLevelCodes(t *testing.T) {
	if Facility("local0") != 16 || Facility("kern") != 0 || Facility("local7") != 23 || Facility("bogus") != -1 {
		t.Error("facility codes differ from syslog's")
	}
	if Level("emerg") != 0 || Level("info") != 6 || Level("debug") != 7 || Level("warn") != -1 {
		t.Error("level codes differ from syslog's")
	}
}

func TestParseAddress(t *testing.T) {
	ap := netip.MustParseAddrPort
	cases := []struct {
		in   string
		want Addr
		err  string
	}{
		{in: "stdout", want: Addr{Kind: FD, FD: 1}},
		{in: "stderr", want: Addr{Kind: FD, FD: 2}},
		{in: "fd@7", want: Addr{Kind: FD, FD: 7}},
		{in: "/dev/log", want: Addr{Kind: Unix, Path: "/dev/log"}},
		{in: "unix@/run/log.sock", want: Addr{Kind: Unix, Path: "/run/log.sock"}},
		{in: "uxdg@/run/log.sock", want: Addr{Kind: Unix, Path: "/run/log.sock"}},
		{in: "127.0.0.1", want: Addr{Kind: UDP, Network: "udp", IP: ap("127.0.0.1:514")}},
		{in: "127.0.0.1:10514", want: Addr{Kind: UDP, Network: "udp", IP: ap("127.0.0.1:10514")}},
		{in: "udp@10.0.0.1:515", want: Addr{Kind: UDP, Network: "udp", IP: ap("10.0.0.1:515")}},
		{in: "udp4@10.0.0.1", want: Addr{Kind: UDP, Network: "udp4", IP: ap("10.0.0.1:514")}},
		{in: "ipv4@10.0.0.1", want: Addr{Kind: UDP, Network: "udp4", IP: ap("10.0.0.1:514")}},
		{in: "[::1]:600", want: Addr{Kind: UDP, Network: "udp", IP: ap("[::1]:600")}},
		{in: "udp6@[::1]", want: Addr{Kind: UDP, Network: "udp6", IP: ap("[::1]:514")}},
		{in: "::1", want: Addr{Kind: UDP, Network: "udp", IP: ap("[::1]:514")}},
		{in: "logs.example:1514", want: Addr{Kind: UDP, Network: "udp", Host: "logs.example:1514"}},
		{in: "logs.example", want: Addr{Kind: UDP, Network: "udp", Host: "logs.example:514"}},
		{in: "udp6@10.0.0.1", err: "address family mismatch"},
		{in: "127.0.0.1:0", want: Addr{Kind: UDP, Network: "udp", IP: ap("127.0.0.1:514")}},
		// What "127.0.0.1:${UNSET}" expands to; haproxy 2.6 takes it.
		{in: "127.0.0.1:", want: Addr{Kind: UDP, Network: "udp", IP: ap("127.0.0.1:514")}},
		{in: "127.0.0.1:65536", err: "invalid port '65536'"},
		{in: "127.0.0.1:http", err: "invalid port 'http'"},
		{in: "fd@x", err: "invalid file descriptor"},
		{in: "unix@", err: "missing socket path"},
		{in: "tcp@127.0.0.1:1514", want: Addr{Kind: TCP, Network: "tcp", IP: ap("127.0.0.1:1514"), Host: "127.0.0.1:1514"}},
		{in: "tcp6@[::1]", want: Addr{Kind: TCP, Network: "tcp6", IP: ap("[::1]:514"), Host: "[::1]:514"}},
		{in: "tcp@logs.example", want: Addr{Kind: TCP, Network: "tcp", Host: "logs.example:514"}},
		{in: "tcp4@[::1]:601", err: "address family mismatch"},
		{in: "tcp@", err: "missing address"},
		{in: "ring@buf", want: Addr{Kind: Ring, Path: "buf"}},
		{in: "ring@", err: "missing ring name"},
		{in: "abns@x", err: "unsupported address family 'abns@'"},
		{in: ":514", err: "missing host"},
		{in: "file@/var/log/dhproxy/access.log", want: Addr{Kind: File, Path: "/var/log/dhproxy/access.log"}},
		{in: "file@access.log", err: "needs an absolute path"},
		{in: "file@", err: "needs an absolute path"},
	}
	for _, c := range cases {
		got, err := ParseAddress(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

// FuzzParseAddress: any "log" address gives a target or an error, never a
// panic, and a file target always has an absolute path.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"stdout", "fd@3", "/dev/log", "unix@/x", "udp@[::1]:514", "file@/var/log/a.log", "file@", "file@rel", "a@b@c", "[::1", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err == nil && a.Kind == File && !strings.HasPrefix(a.Path, "/") {
			t.Errorf("%q: file target with relative path %q", s, a.Path)
		}
	})
}
