package keepalived

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/txtar"

	"dhproxy/internal/config"
)

var update = flag.Bool("update", false, "rewrite the expectations of testdata/*.txtar")

// TestGolden loads keepalived.conf of each testdata/*.txtar (the other
// files of the archive sit beside it) with config id "lb1" and compares
// the diagnostics and a dump of the model with the "expect" file.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			a := txtar.Parse(string(raw))
			dir := t.TempDir()
			exp := -1
			for i, f := range a.Files {
				if f.Name == "expect" {
					exp = i
					continue
				}
				p := filepath.Join(dir, f.Name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(f.Data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got := run(t, dir)
			if exp < 0 {
				a.Files = append(a.Files, txtar.File{Name: "expect"})
				exp = len(a.Files) - 1
			}
			if *update {
				a.Files[exp].Data = got
				os.WriteFile(file, []byte(a.Format()), 0o644)
				return
			}
			if want := a.Files[exp].Data; got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func run(t *testing.T, dir string) string {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var d config.Diags
	c := LoadWithID("keepalived.conf", "lb1", &d)
	var b bytes.Buffer
	d.Write(&b, 0)
	if c == nil {
		if !d.HasErrors() {
			t.Error("nil config without errors")
		}
		b.WriteString("(no config)\n")
	} else {
		if d.HasErrors() {
			t.Error("config returned with errors")
		}
		b.WriteString(dump(c))
		if c.ConfigErrors > 0 {
			fmt.Fprintf(&b, "config errors (keepalived -t fails): %d\n", c.ConfigErrors)
		}
	}
	return b.String()
}

// dump renders a Config compactly and deterministically.
func dump(c *Config) string {
	var b strings.Builder
	w := func(indent int, format string, args ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	g := c.Global
	w(0, "global router_id=%s email=%v from=%s smtp=%s:%d timeout=%s strict=%t skip_adv=%t garp_int=%s gna_int=%s garp_delay=%s garp_repeat=%d garp_refresh=%s script_security=%t script_user=%s:%s lvs_id=%s version=%d",
		g.RouterID, g.NotificationEmail, g.NotificationEmailFrom, g.SMTPServer, g.SMTPPort, g.SMTPConnectTimeout, g.Strict, g.SkipCheckAdvAddr,
		g.GARPInterval, g.GNAInterval, g.GARPMasterDelay, g.GARPMasterRepeat, g.GARPMasterRefresh, g.EnableScriptSecurity, g.ScriptUser, g.ScriptGroup, g.LVSID, g.VRRPVersion)
	for _, k := range keys(c.Scripts) {
		s := c.Scripts[k]
		w(0, "vrrp_script %s %q interval=%s timeout=%s weight=%d reverse=%t rise=%d fall=%d user=%s:%s", s.Name, s.Script, s.Interval, s.Timeout, s.Weight, s.Reverse, s.Rise, s.Fall, s.User, s.Group)
	}
	for _, k := range keys(c.TrackFiles) {
		f := c.TrackFiles[k]
		w(0, "vrrp_track_file %s %s weight=%d reverse=%t", f.Name, f.File, f.Weight, f.Reverse)
	}
	for _, v := range c.Instances {
		w(0, "vrrp_instance %s %s if=%s vrid=%d prio=%d advert=%s v%d auth=%s:%q nopreempt=%t preempt_delay=%s accept=%t garp_delay=%s dont_track_primary=%t smtp=%t sync=%s",
			v.Name, v.State, v.Interface, v.VRID, v.Priority, v.AdvertInt, v.Version, v.AuthType, v.AuthPass, v.NoPreempt, v.PreemptDelay, v.Accept, v.GARPMasterDelay, v.DontTrackPrimary, v.SMTPAlert, v.SyncGroup)
		for _, x := range v.VIPs {
			w(1, "vip %s", vip(x))
		}
		for _, x := range v.ExcludedVIPs {
			w(1, "evip %s", vip(x))
		}
		for _, r := range v.Routes {
			w(1, "route %s", route(r))
		}
		for _, r := range v.Rules {
			w(1, "rule %s", rule(r))
		}
		if v.UnicastSrcIP.IsValid() || len(v.UnicastPeers) > 0 {
			w(1, "unicast src=%s peers=%v", addr(v.UnicastSrcIP), v.UnicastPeers)
		}
		if v.VMAC != "" {
			w(1, "vmac %s %s xmit_base=%v", v.VMAC, v.VMACAddr, v.VMACXmitBase)
		}
		if v.UnicastTTL != 255 {
			w(1, "unicast_ttl %d", v.UnicastTTL)
		}
		for _, a := range v.UnicastPeers {
			if r, ok := v.PeerTTL[a]; ok {
				w(1, "peer %s ttl %d-%d", a, r.Min, r.Max)
			}
		}
		tracks(w, "track_interface", v.TrackInterfaces)
		tracks(w, "track_script", v.TrackScripts)
		tracks(w, "track_file", v.TrackFiles)
		for _, n := range [][2]string{{"master", v.NotifyMaster}, {"backup", v.NotifyBackup}, {"fault", v.NotifyFault}, {"stop", v.NotifyStop}, {"notify", v.Notify}} {
			if n[1] != "" {
				w(1, "notify %s %q", n[0], n[1])
			}
		}
	}
	for _, a := range c.StaticAddrs {
		w(0, "static_ipaddress %s", vip(a))
	}
	for _, r := range c.StaticRoutes {
		w(0, "static_route %s", route(r))
	}
	for _, r := range c.StaticRules {
		w(0, "static_rule %s", rule(r))
	}
	for _, s := range c.SyncGroups {
		w(0, "vrrp_sync_group %s %v master=%q backup=%q fault=%q notify=%q smtp=%t", s.Name, s.Members, s.NotifyMaster, s.NotifyBackup, s.NotifyFault, s.Notify, s.SMTPAlert)
	}
	for _, k := range keys(c.VSGroups) {
		g := c.VSGroups[k]
		var es []string
		for _, e := range g.Entries {
			if e.FWMark != 0 {
				es = append(es, fmt.Sprintf("fwmark:%d", e.FWMark))
			} else {
				es = append(es, fmt.Sprintf("%s-%s:%d", e.First, e.Last, e.Port))
			}
		}
		w(0, "virtual_server_group %s %v", g.Name, es)
	}
	for _, vs := range c.VirtualServers {
		target := fmt.Sprintf("%s:%d", vs.Addr, vs.Port)
		if vs.FWMark != 0 {
			target = fmt.Sprintf("fwmark:%d", vs.FWMark)
		} else if vs.Group != "" {
			target = "group:" + vs.Group
		}
		sorry := "-"
		if vs.SorryServer != nil {
			sorry = fmt.Sprintf("%s:%d", vs.SorryServer.Addr, vs.SorryServer.Port)
		}
		if vs.SorryInhibit || vs.IPFamily != "" || vs.HASuspend {
			w(0, "(sorry_server_inhibit=%t ip_family=%s ha_suspend=%t)", vs.SorryInhibit, vs.IPFamily, vs.HASuspend)
		}
		w(0, "virtual_server %s %s delay_loop=%s sched=%s method=%s persist=%t/%s gran=%s quorum=%d hyst=%d up=%q down=%q alpha=%t omega=%t inhibit=%t vhost=%s sorry=%s",
			target, vs.Protocol, vs.DelayLoop, vs.Sched, vs.Method, vs.Persistent, vs.PersistenceTimeout, addr(vs.PersistenceGranularity), vs.Quorum, vs.Hysteresis, vs.QuorumUp, vs.QuorumDown, vs.Alpha, vs.Omega, vs.InhibitOnFailure, vs.VirtualHost, sorry)
		for _, rs := range vs.RealServers {
			w(1, "real_server %s:%d weight=%d inhibit=%t up=%q down=%q", rs.Addr, rs.Port, rs.Weight, rs.InhibitOnFailure, rs.NotifyUp, rs.NotifyDown)
			for _, ch := range rs.Checks {
				w(2, "%s connect=%s:%d timeout=%s retry=%d delay_before_retry=%s", ch.Kind, addr(ch.ConnectIP), ch.ConnectPort, ch.ConnectTimeout, ch.Retry, ch.DelayBeforeRetry)
				w(3, "delay_loop=%s warmup=%s alpha=%t log_all_failures=%t bind=%s:%d bind_if=%s", ch.DelayLoop, ch.Warmup, ch.Alpha, ch.LogAllFailures, addr(ch.BindTo), ch.BindPort, ch.BindIf)
				if ch.FWMark != 0 {
					w(3, "fwmark=%d", ch.FWMark)
				}
				if ch.Kind == "HTTP_GET" || ch.Kind == "SSL_GET" {
					w(3, "http_protocol=%s virtualhost=%s fast_recovery=%t", ch.HTTPProtocol, ch.VirtualHost, ch.FastRecovery)
				}
				for _, u := range ch.URLs {
					w(3, "url %s digest=%s status=%v", u.Path, u.Digest, u.StatusCodes)
					if u.VirtualHost != "" || u.Regex != "" {
						w(4, "virtualhost=%s regex=%q no_match=%t options=%v offsets=%d-%d/%t", u.VirtualHost, u.Regex, u.RegexNoMatch, u.RegexOptions, u.RegexMinOffset, u.RegexMaxOffset, u.RegexMaxSet)
					}
				}
				switch ch.Kind {
				case "SMTP_CHECK":
					w(3, "helo_name=%s", ch.HeloName)
				case "DNS_CHECK":
					w(3, "type=%s name=%s", ch.DNSType, ch.DNSName)
				case "FILE_CHECK":
					w(3, "track_file=%s weight=%d reverse=%t", ch.TrackFile, ch.FileWeight, ch.FileReverse)
				case "UDP_CHECK":
					w(3, "payload=%x require_reply=%t reply=%x mask=%x len=%d-%d", ch.Payload, ch.RequireReply, ch.ReplyData, ch.ReplyMask, ch.MinReplyLen, ch.MaxReplyLen)
				}
				if ch.Kind == "MISC_CHECK" {
					w(3, "misc %q timeout=%s dynamic=%t user=%s group=%s", ch.MiscPath, ch.MiscTimeout, ch.MiscDynamic, ch.User, ch.Group)
				}
				if ch.Kind == "SSL_GET" {
					w(3, "sni=%t sni_name=%s", ch.EnableSNI, ch.SNIName)
				}
			}
		}
	}
	return b.String()
}

func addr(a netip.Addr) string {
	if !a.IsValid() {
		return "-"
	}
	return a.String()
}

func vip(x VIP) string {
	s := x.Prefix.String()
	if x.Dev != "" {
		s += " dev " + x.Dev
	}
	if x.Label != "" {
		s += " label " + x.Label
	}
	if x.Brd.IsValid() {
		s += " brd " + x.Brd.String()
	}
	if x.Scope != "" {
		s += " scope " + x.Scope
	}
	return s
}

func tracks(w func(int, string, ...any), kind string, ts []Track) {
	for _, t := range ts {
		s := t.Name
		if t.HasWeight {
			s += fmt.Sprintf(" weight %d", t.Weight)
		}
		if t.Reverse {
			s += " reverse"
		}
		w(1, "%s %s", kind, s)
	}
}

func rule(r Rule) string {
	pfx := func(p netip.Prefix) string {
		if !p.IsValid() {
			return "all"
		}
		return p.String()
	}
	return fmt.Sprintf("pref=%d ipv6=%t not=%t from=%s to=%s action=%s table=%d goto=%d fwmark=%#x/%#x iif=%s oif=%s proto=%d no_track=%t",
		r.Preference, r.IPv6, r.Not, pfx(r.From), pfx(r.To), r.Action, r.Table, r.Goto, r.FWMark, r.FWMask, r.IIF, r.OIF, r.Protocol, r.NoTrack)
}

func route(r Route) string {
	return fmt.Sprintf("type=%s dst=%s src=%s via=%s dev=%s onlink=%t table=%d metric=%d scope=%d proto=%d mode=%s no_track=%t",
		r.Type, r.Dst, addr(r.Src), addr(r.Via), r.Dev, r.OnLink, r.Table, r.Metric, r.Scope, r.Protocol, r.Mode, r.NoTrack)
}

func TestMissingFile(t *testing.T) {
	var d config.Diags
	if c := Load(filepath.Join(t.TempDir(), "nope.conf"), &d); c != nil || !d.HasErrors() {
		t.Fatalf("want an error, got %v %v", c, d.List)
	}
	if !strings.Contains(d.List[0].Msg, "cannot open configuration file") {
		t.Errorf("message: %s", d.List[0].Msg)
	}
}

func TestSuggest(t *testing.T) {
	if s := suggest("chk_hapoxy", []string{"chk_haproxy", "x"}); !strings.Contains(s, "chk_haproxy") {
		t.Errorf("suggest = %q", s)
	}
}

// FuzzLoad feeds arbitrary files to Load: it must not panic, and must
// return a config exactly when there is no error.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txtar")
	for _, file := range files {
		raw, _ := os.ReadFile(file)
		for _, af := range txtar.Parse(string(raw)).Files {
			if af.Name == "keepalived.conf" {
				f.Add(af.Data)
			}
		}
	}
	f.Add("$A=${A}\n$A\nvrrp_instance {\n}}{")
	f.Add("include *\n")
	f.Add("@^x global_defs { router_id \"a\\\"b\" }\n")
	f.Fuzz(func(t *testing.T, s string) {
		// Keep includes inside the temporary directory: absolute or
		// parent globs would read the host's files.
		if strings.Contains(s, "include") && (strings.Contains(s, "/") || strings.Contains(s, "..")) {
			t.Skip()
		}
		dir := t.TempDir()
		p := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		var d config.Diags
		start := time.Now()
		c := LoadWithID(p, "lb1", &d)
		if (c == nil) != d.HasErrors() {
			t.Fatalf("config %v with errors=%v", c != nil, d.HasErrors())
		}
		if c != nil {
			_ = dump(c)
		}
		for _, x := range d.List {
			if x.Pos.File == "" || x.Msg == "" {
				t.Fatalf("diagnostic without file or message: %+v", x)
			}
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("slow input")
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	raw, err := os.ReadFile("testdata/lvs_dr.txtar")
	if err != nil {
		b.Fatal(err)
	}
	var conf string
	for _, f := range txtar.Parse(string(raw)).Files {
		if f.Name == "keepalived.conf" {
			conf = f.Data
		}
	}
	p := filepath.Join(b.TempDir(), "keepalived.conf")
	os.WriteFile(p, []byte(conf), 0o644)
	for b.Loop() {
		var d config.Diags
		if LoadWithID(p, "lb1", &d) == nil {
			b.Fatal(d.List)
		}
	}
}

// TestTrackFileValue reads track files with keepalived's strtol rules.
func TestTrackFileValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f := &TrackFile{File: path}
	if v := f.Value(7); v != 0 {
		t.Fatalf("missing file: %d, want 0", v)
	}
	for in, want := range map[string]int{
		"": 0, "12\n": 12, "  -5 trailing": -5, "0x1f": 31, "010": 8, "+3": 3, "abc": 0,
		"-2147483648": -2147483648, "2147483648": 7, "99999999999999999999": 7,
	} {
		os.WriteFile(path, []byte(in), 0o644)
		if v := f.Value(7); v != want {
			t.Errorf("%q: %d, want %d", in, v, want)
		}
	}
}

// FuzzStrtol: the track-file number parser never panics, and agrees with
// strconv on plain decimal numbers.
func FuzzStrtol(f *testing.F) {
	for _, s := range []string{"12", " -5x", "0x1f", "010", "+", "0x", "-2147483649", "9999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := strtol(s)
		if n, err := strconv.ParseInt(s, 10, 32); err == nil && (len(s) < 2 || s[0] != '0') && !strings.HasPrefix(s, "-0") && !strings.HasPrefix(s, "+0") {
			if !ok || int64(v) != n {
				t.Fatalf("%q: %d %v, want %d", s, v, ok, n)
			}
		}
	})
}
