package stream

import "testing"

// TestResponseEndDatedWithHead: a response sent whole in the wake-up that
// read its head ends at its head's date (no second clock reading), with
// http-response rules too, unless a response rule may wait for more of it:
// http-response wait-for-body, or the backend's tcp-response content
// rules.
func TestResponseEndDatedWithHead(t *testing.T) {
	const base = "defaults\n mode http\n timeout connect 5s\n timeout client 5s\n timeout server 5s\n"
	for _, c := range []struct {
		name, fe, be string
		waits        bool
	}{
		{"no rules", "", "", false},
		{"http-response set-header", " http-response set-header X-A 1\n", "", false},
		{"backend http-response set-header", "", " http-response set-header X-A 1\n", false},
		{"http-response wait-for-body", " http-response wait-for-body time 1s\n", "", true},
		{"backend http-response wait-for-body", "", " http-response wait-for-body time 1s\n", true},
		{"backend tcp-response content", "", " tcp-response inspect-delay 1s\n tcp-response content accept if TRUE\n", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, rt := ioFreeRuntime(t, base+"frontend f\n bind 127.0.0.1:1\n"+c.fe+" default_backend b\n"+
				"backend b\n"+c.be+" server s 127.0.0.1:2\n")
			fe := &Frontend{P: cfg.Proxy("f"), rt: rt, name: []byte("f"), backend: rt.backends["b"]}
			fe.setRules(rt)
			if fe.respWaits != c.waits {
				t.Fatalf("respWaits = %v, want %v", fe.respWaits, c.waits)
			}
		})
	}
}
