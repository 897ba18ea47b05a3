package model

import (
	"strings"
	"testing"

	"dhproxy/internal/config"
)

func TestMySQLCheckArgs(t *testing.T) {
	cases := []struct {
		args []string
		want CheckOpts
		bad  bool
	}{
		{nil, CheckOpts{Kind: "mysql-check"}, false},
		{[]string{"user", "haproxy"}, CheckOpts{Kind: "mysql-check", MySQLUser: "haproxy"}, false},
		{[]string{"user", "haproxy", "post-41"}, CheckOpts{Kind: "mysql-check", MySQLUser: "haproxy"}, false},
		{[]string{"user", "haproxy", "pre-41"}, CheckOpts{Kind: "mysql-check", MySQLUser: "haproxy", MySQLPre41: true}, false},
		{[]string{"login", "haproxy"}, CheckOpts{Kind: "mysql-check"}, true},
		{[]string{"user"}, CheckOpts{Kind: "mysql-check"}, true},
	}
	for _, c := range cases {
		var d config.Diags
		b := &builder{d: &d}
		p := &Proxy{Cap: CapBE, Options: map[string]bool{}}
		parseMySQLCheck(b, p, config.Line{Args: append([]string{"option", "mysql-check"}, c.args...)}, false)
		if p.Check != c.want || d.HasErrors() != c.bad {
			t.Errorf("%q: %+v errors=%v, want %+v errors=%v", c.args, p.Check, d.HasErrors(), c.want, c.bad)
		}
	}
}

// The last check option wins, as in HAProxy; none of them takes "no".
func TestCheckKindLastWins(t *testing.T) {
	var d config.Diags
	b := &builder{d: &d}
	p := &Proxy{Cap: CapBE, Options: map[string]bool{}}
	parseOption(b, p, config.Line{Args: []string{"option", "mysql-check"}}, false)
	parseOption(b, p, config.Line{Args: []string{"option", "httpchk"}}, false)
	if p.Check.Kind != "httpchk" {
		t.Errorf("kind %q after httpchk", p.Check.Kind)
	}
	parseOption(b, p, config.Line{Args: []string{"option", "mysql-check"}}, true)
	if p.Check.Kind != "httpchk" || !d.HasErrors() {
		t.Errorf("kind %q errors=%v after no option mysql-check", p.Check.Kind, d.HasErrors())
	}
}

func TestSMTPChkArgs(t *testing.T) {
	cases := map[string][]string{
		"":                nil,
		"EHLO mx.example": {"EHLO", "mx.example"},
		"HELO a":          {"HELO", "a"},
		" ":               {"EHLO"},          // no domain: the default
		"  ":              {"ehlo", "x"},     // HAProxy compares case-sensitively
		"   ":             {"FOO", "domain"}, // anything else: the default
	}
	for want, args := range cases {
		var d config.Diags
		p := &Proxy{Cap: CapBE, Options: map[string]bool{}}
		parseSMTPChk(&builder{d: &d}, p, config.Line{Args: append([]string{"option", "smtpchk"}, args...)}, false)
		if w := strings.TrimSpace(want); p.Check.SMTPCmd != w || p.Check.Kind != "smtpchk" {
			t.Errorf("%q: cmd %q kind %q, want %q", args, p.Check.SMTPCmd, p.Check.Kind, w)
		}
	}
}
