package model

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"dhproxy/internal/config"
)

// ssl-default-bind-options and ssl-default-server-options keep the words
// that take effect, in order (a version bound with its argument), warn
// about the accepted ones without effect and refuse the others.
func TestSSLDefaultOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(path, []byte(`global
    ssl-default-bind-options no-tlsv10 ssl-min-ver TLSv1.2 no-tls-tickets no-ca-names prefer-client-ciphers allow-0rtt
    ssl-default-server-options force-tlsv12 no-ssl-reuse ssl-max-ver TLSv1.3 no-tls-tickets prefer-client-ciphers allow-0rtt
    ssl-default-bind-options no-ssl-reuse
    ssl-default-server-options no-ca-names
    ssl-default-bind-options ssl-max-ver
`), 0o644)
	var d config.Diags
	cfg := Build(config.Load([]string{path}, nil, &d), &d)
	var out bytes.Buffer
	d.Write(&out, 0)
	for _, want := range []string{
		"haproxy.cfg:2] : ssl-default-bind-options 'prefer-client-ciphers' is accepted but has no effect in dhproxy.",
		"haproxy.cfg:2] : ssl-default-bind-options 'allow-0rtt' is accepted but has no effect in dhproxy.",
		"haproxy.cfg:3] : ssl-default-server-options 'no-tls-tickets' is accepted but has no effect in dhproxy.",
		"haproxy.cfg:3] : ssl-default-server-options 'allow-0rtt' is accepted but has no effect in dhproxy.",
		"haproxy.cfg:4] : ssl-default-bind-options: unknown option 'no-ssl-reuse'.",
		"haproxy.cfg:5] : ssl-default-server-options: unknown option 'no-ca-names'.",
		"haproxy.cfg:6] : 'ssl-max-ver' expects a version (TLSv1.0 ... TLSv1.3).",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
	if cfg != nil {
		t.Fatalf("built despite errors")
	}
	os.WriteFile(path, []byte(`global
    ssl-default-bind-options no-tlsv10 ssl-min-ver TLSv1.2 no-tls-tickets no-ca-names
    ssl-default-server-options force-tlsv12 no-ssl-reuse ssl-max-ver TLSv1.3
`), 0o644)
	d = config.Diags{}
	cfg = Build(config.Load([]string{path}, nil, &d), &d)
	if cfg == nil {
		t.Fatal("refused")
	}
	if got, want := cfg.Global.SSLBind.Options, []string{"no-tlsv10", "ssl-min-ver", "TLSv1.2", "no-tls-tickets", "no-ca-names"}; !reflect.DeepEqual(got, want) {
		t.Errorf("bind options %q, want %q", got, want)
	}
	if got, want := cfg.Global.SSLServer.Options, []string{"force-tlsv12", "no-ssl-reuse", "ssl-max-ver", "TLSv1.3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("server options %q, want %q", got, want)
	}
}
