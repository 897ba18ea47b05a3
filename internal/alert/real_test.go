package alert

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/config"
	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/model"
	"dhproxy/internal/txtar"
)

// TestRealMails replays the state changes of testdata/real-mails.txtar,
// recorded from keepalived 2.2.7 and haproxy 2.6.12, with the same
// settings, host name and clock, and compares every byte the client sends.
func TestRealMails(t *testing.T) {
	raw, err := os.ReadFile("testdata/real-mails.txtar")
	if err != nil {
		t.Fatal(err)
	}
	a := txtar.Parse(string(raw))
	if len(a.Files) != 8 {
		t.Fatalf("%d recordings, want 8", len(a.Files))
	}
	for _, f := range a.Files {
		t.Run(f.Name, func(t *testing.T) {
			want := strings.ReplaceAll(f.Data, "\n", "\r\n")
			clock := recordedDate(t, want)
			sink := startSink(t, nil)
			s := NewSender(func(level, msg string) { t.Log(level, msg) })
			defer s.Close(time.Second)
			prog, event, _ := strings.Cut(f.Name, "/")
			if strings.HasPrefix(prog, "keepalived") {
				replayKeepalived(t, sink.Addr, s, clock, event)
			} else {
				replayHAProxy(t, sink.Addr, s, clock, want)
			}
			mails, err := sink.WaitMails(1, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got := mails[0].Transcript; got != want {
				t.Errorf("transcript differs from %s's\n--- got\n%s--- want\n%s", prog, got, want)
			}
		})
	}
}

func recordedDate(t *testing.T, transcript string) time.Time {
	for line := range strings.Lines(transcript) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "Date: "); ok {
			for _, layout := range []string{"Mon, 02 Jan 2006 15:04:05 -0700 (MST)", "Mon, 02 Jan 2006 15:04:05 -0700"} {
				if d, err := time.Parse(layout, v); err == nil {
					return d.UTC()
				}
			}
			t.Fatalf("bad Date header %q", v)
		}
	}
	t.Fatal("no Date header")
	return time.Time{}
}

func replayKeepalived(t *testing.T, addr string, s *Sender, clock time.Time, event string) {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	g := &keepalived.GlobalDefs{RouterID: "LVS_R1", NotificationEmail: []string{"ops@example.org", "dev@example.org"},
		NotificationEmailFrom: "kad@example.org", SMTPServer: host, SMTPPort: p, SMTPConnectTimeout: 5 * time.Second}
	k := newKeepalived(g, s, "vm", func() time.Time { return clock })
	kind, state, _ := strings.Cut(event, "-")
	st := map[string]VRRPState{"MASTER": Master, "BACKUP": Backup, "FAULT": Fault}[state]
	if kind == "instance" {
		k.VRRPInstance(&keepalived.VRRPInstance{Name: "VI_1", SMTPAlert: true}, st)
	} else {
		k.VRRPGroup(&keepalived.SyncGroup{Name: "G1", SMTPAlert: true}, st)
	}
}

func replayHAProxy(t *testing.T, addr string, s *Sender, clock time.Time, transcript string) {
	cfg := buildHAProxy(t, `
mailers mm
    mailer smtp1 `+addr+`
    timeout mail 5s
backend be
    email-alert mailers mm
    email-alert from hap@example.org
    email-alert to ops@example.org
    email-alert level notice
    server s1 127.0.0.1:1 check
`)
	h := newHAProxy(cfg, s, "vm", func() time.Time { return clock })
	_, rest, _ := strings.Cut(transcript, "Subject: [HAProxy Alert] ")
	msg, _, _ := strings.Cut(rest, "\r\n")
	level := "alert"
	if strings.Contains(msg, " is UP") {
		level = "notice"
	}
	h.ServerEvent("be", level, msg+".") // as logged, with its period
}

func buildHAProxy(t *testing.T, text string) *model.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var d config.Diags
	cfg := model.Build(config.Load([]string{path}, func(string) (string, bool) { return "", false }, &d), &d)
	if cfg == nil {
		var b strings.Builder
		d.Write(&b, 0)
		t.Fatalf("config refused:\n%s", b.String())
	}
	return cfg
}
