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
