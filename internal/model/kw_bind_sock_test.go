package model

import (
	"testing"
	"time"
)

// The socket options of bind lines reach the model, typed; server lines
// undo what their default-server set (no-backup, no-check-ssl,
// , no-tfo, stick, tls-tickets).
func TestSocketOptionsModel(t *testing.T) {
	cfg := buildText(t, `
defaults
    mode tcp
    default-server backup check-ssl verifyhost www.example.com tfo tcp-ut 20s non-stick ssl verify none
frontend fe
    bind 127.0.0.1:80 defer-accept tfo transparent interface lo mss 1400 tcp-ut 90s
    bind /tmp/x.sock uid 65534 gid 65533 mode 660
    default_backend be
backend be
    server inherits 127.0.0.1:81
    server undoes 127.0.0.1:82 no-backup no-check-ssl no-tfo stick tls-tickets pool-low-conn 4
`)
	want := BindSock{DeferAccept: true, FastOpen: true, Transparent: true, Interface: "lo", MSS: 1400, UserTimeout: 90 * time.Second}
	if got := cfg.Proxy("fe").Binds[0].Sock; got != want {
		t.Errorf("tcp bind: %+v, want %+v", got, want)
	}
	if got, want := cfg.Proxy("fe").Binds[1].Unix, (UnixPerm{UID: 65534, GID: 65533, HasUID: true, HasGID: true, Mode: 0o660}); got != want {
		t.Errorf("unix bind: %+v, want %+v", got, want)
	}
	srv := cfg.Proxy("be").Servers
	in, un := srv[0], srv[1]
	if !in.Backup || !in.TLS.CheckSSL || in.TLS.VerifyHost == "" || !in.FastOpen || in.UserTimeout != 20*time.Second || !in.NonStick {
		t.Errorf("default-server settings not inherited: %+v", in)
	}
	if un.Backup || un.TLS.CheckSSL || un.FastOpen || un.UserTimeout != 20*time.Second || un.NonStick {
		t.Errorf("default-server settings not undone: %+v", un)
	}
}
