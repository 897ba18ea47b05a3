package txn

import (
	"strings"
	"testing"

	"dhproxy/internal/acl"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
)

// layer4 records what a tcp-request connection or session list asks of
// the connection.
type layer4 struct {
	*request
	log []string
}

func (c *layer4) Track(p *model.Proxy, r *rules.Rule) { c.log = append(c.log, "track") }
func (c *layer4) ExpectProxy()                        { c.log = append(c.log, "expect-proxy") }
func (c *layer4) SetVar(r *rules.Rule) bool {
	c.log = append(c.log, "set-var")
	return false
}
func (c *layer4) Act(r *rules.Rule) { c.log = append(c.log, "act") }
func (c *layer4) SilentDrop()       { c.log = append(c.log, "silent-drop") }

func TestLayer4(t *testing.T) {
	never := section(t, "fe", "http-request allow if FALSE").HTTPRequestRules[0].Cond
	for _, c := range []struct {
		name   string
		list   []model.TCPRule
		want   string
		reject bool
	}{
		{"actions go on, accept ends", []model.TCPRule{{Track: &rules.Rule{}}, {ExpectProxy: true}, {SetVar: &rules.Rule{}}, {Act: &rules.Rule{}}, {}, {Reject: true}}, "track expect-proxy set-var act", false},
		{"reject", []model.TCPRule{{Act: &rules.Rule{}}, {Reject: true}, {}}, "act", true},
		{"silent-drop", []model.TCPRule{{Reject: true, Silent: true}}, "silent-drop", true},
		{"nothing applies", []model.TCPRule{{Reject: true, Cond: never}}, "", false},
		{"none", nil, "", false},
	} {
		conn := &layer4{request: newRequest(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")}
		var st acl.State
		if reject := Layer4(conn, &st, nil, c.list); reject != c.reject || strings.Join(conn.log, " ") != c.want {
			t.Errorf("%s: %q reject %v, want %q %v", c.name, conn.log, reject, c.want, c.reject)
		}
	}
}

// content records an inspection: its variable rule waits once for more
// data.
type content struct {
	layer4
	waits, reads int
}

func (c *content) SetVar(r *rules.Rule) bool {
	c.log = append(c.log, "set-var")
	if c.waits > 0 {
		c.waits--
		return true
	}
	return false
}
func (c *content) Final() bool { return false }
func (c *content) ReadMore()   { c.reads++ }

func TestInspect(t *testing.T) {
	closeRule := model.TCPRule{Close: true}
	list := []model.TCPRule{{SetVar: &rules.Rule{}}, {Act: &rules.Rule{}}, {Track: &rules.Rule{}}, closeRule, {Reject: true}}
	c := &content{layer4: layer4{request: newRequest(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")}, waits: 1}
	var st acl.State
	r := Inspect(c, &st, nil, list)
	if r == nil || !r.Close || c.reads != 1 || strings.Join(c.log, " ") != "set-var set-var act track" {
		t.Errorf("decided %+v after %d reads: %q", r, c.reads, c.log)
	}
	if r := Inspect(c, &st, nil, list[:3]); r != nil {
		t.Errorf("no deciding rule: %+v", r)
	}
}
