package model

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"dhproxy/internal/config"
)

func buildText(t *testing.T, text string) *Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var d config.Diags
	cfg := Build(config.Load([]string{path}, nil, &d), &d)
	if cfg == nil {
		var b bytes.Buffer
		d.Write(&b, 0)
		t.Fatalf("refused:\n%s", b.String())
	}
	return cfg
}

// Comments move onto the rules after them, steps count every line, and a
// backend without rules of its own uses its defaults' rules.
func TestTCPCheckRulesAndInheritance(t *testing.T) {
	cfg := buildText(t, `
defaults
    mode tcp
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG
backend inherits
    option tcp-check
backend own
    option tcp-check
    tcp-check comment hello
    tcp-check send a
    tcp-check send b
    tcp-check expect ! rstring ^-ERR min-recv 3
`)
	inh := cfg.Proxy("inherits").Check.TCPCheckRules()
	if len(inh) != 2 || string(inh[0].Data) != "PING\r\n" || string(inh[1].Expect.Data) != "+PONG" {
		t.Fatalf("inherited rules %+v", inh)
	}
	own := cfg.Proxy("own").Check.TCPCheckRules()
	if len(own) != 3 {
		t.Fatalf("own rules %+v", own)
	}
	if own[0].Comment != "hello" || own[1].Comment != "hello" || own[2].Comment != "" {
		t.Errorf("comments %q %q %q, want hello hello and none", own[0].Comment, own[1].Comment, own[2].Comment)
	}
	if own[0].Index != 1 || own[2].Index != 3 {
		t.Errorf("indexes %d..%d, want 1..3 (the comment is step 1)", own[0].Index, own[2].Index)
	}
	e := own[2].Expect
	if !e.Inverse || e.Match != "rstring" || e.MinRecv != 3 || e.Re == nil || !e.Re.MatchString("-ERR x") {
		t.Errorf("expect %+v", e)
	}
	// The defaults section's list is not changed by the backend's rules.
	if def := cfg.Proxy("inherits").Check.TCPRules; def.Owner == cfg.Proxy("inherits") || len(def.Rules) != 2 {
		t.Errorf("defaults rules changed: %+v", def)
	}
}

func TestHTTPCheckRulesAndServerHealth(t *testing.T) {
	cfg := buildText(t, `
defaults
    mode http
backend be
    option httpchk
    http-check disable-on-404
    http-check send meth GET uri /h ver HTTP/1.1 hdr Host x hdr Content-Length 5 body abc
    http-check expect status 200-299,304
    server s 127.0.0.1:80 check agent-check agent-port 9 agent-inter 3s agent-send "x\n" observe layer4 error-limit 4 on-error fail-check on-marked-down shutdown-sessions check-send-proxy
`)
	be := cfg.Proxy("be")
	if !be.Check.DisableOn404 {
		t.Error("disable-on-404 not set")
	}
	r := be.Check.HTTPCheckRules()
	if len(r) != 2 || r[0].HTTP.Meth != "GET" || len(r[0].HTTP.Hdrs) != 1 || r[0].HTTP.Body != "abc" {
		t.Fatalf("rules %+v (content-length is computed, not sent as given)", r)
	}
	if c := r[1].Expect.Codes; len(c) != 2 || c[0] != [2]int{200, 299} || c[1] != [2]int{304, 304} {
		t.Errorf("codes %v", c)
	}
	h := be.Servers[0].Health
	want := ServerHealth{Agent: true, AgentPort: 9, AgentInter: 3e9, AgentSend: "x\n", Observe: "layer4", ErrorLimit: 4, OnError: "fail-check", ShutdownOnDown: true, SendProxy: true}
	if h != want {
		t.Errorf("server health %+v, want %+v", h, want)
	}
}

// Which defaults rules a backend runs, as haproxy 2.6 decides: "option
// httpchk" in the backend starts from no http-check rule; "option
// tcp-check" keeps the defaults' tcp-check rules only when the defaults
// turned tcp-check on too.
func TestCheckRulesFromDefaults(t *testing.T) {
	cfg := buildText(t, `
defaults
    mode http
    option httpchk
    http-check expect status 201
backend inherits
backend redeclares
    option httpchk
defaults rulesonly
    mode tcp
    tcp-check expect string NOPE
backend own from rulesonly
    option tcp-check
defaults both
    mode tcp
    option tcp-check
    tcp-check expect string NOPE
backend keeps from both
    option tcp-check
`)
	if r := cfg.Proxy("inherits").Check.HTTPCheckRules(); len(r) != 1 {
		t.Errorf("inherits: %d http-check rules, want the defaults' 1", len(r))
	}
	if r := cfg.Proxy("redeclares").Check.HTTPCheckRules(); len(r) != 0 {
		t.Errorf("redeclares: %d http-check rules, want none", len(r))
	}
	if r := cfg.Proxy("own").Check.TCPCheckRules(); len(r) != 0 {
		t.Errorf("own: %d tcp-check rules, want none", len(r))
	}
	if r := cfg.Proxy("keeps").Check.TCPCheckRules(); len(r) != 1 {
		t.Errorf("keeps: %d tcp-check rules, want the defaults' 1", len(r))
	}
}
