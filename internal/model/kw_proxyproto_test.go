package model

import "testing"

func TestProxyProtocolOptions(t *testing.T) {
	cfg := buildText(t, `
defaults
    mode http
frontend fe
    bind 127.0.0.1:80 accept-proxy
    bind 127.0.0.1:81
    tcp-request connection expect-proxy layer4 if { dst_port 81 }
    default_backend be
backend be
    default-server send-proxy
    server v1 127.0.0.1:80
    server v2 127.0.0.1:80 send-proxy-v2
    server ssl 127.0.0.1:80 send-proxy-v2-ssl-cn
    server opts 127.0.0.1:80 proxy-v2-options crc32c,unique-id,authority
    server none 127.0.0.1:80 no-send-proxy
`)
	fe := cfg.Proxy("fe")
	if !fe.Binds[0].AcceptProxy || fe.Binds[1].AcceptProxy {
		t.Errorf("accept-proxy: %v %v", fe.Binds[0].AcceptProxy, fe.Binds[1].AcceptProxy)
	}
	if r := fe.TCPRequest.Connection; len(r) != 1 || !r[0].ExpectProxy || r[0].Cond == nil || r[0].Reject {
		t.Errorf("expect-proxy rule %+v", r)
	}
	want := map[string]ProxyProto{
		"v1":   {Version: 1},
		"v2":   {Version: 2},
		"ssl":  {Version: 2, SSL: true, CertCN: true},
		"opts": {Version: 2, CRC32C: true, UniqueID: true, Authority: true},
		"none": {},
	}
	for _, s := range cfg.Proxy("be").Servers {
		if s.SendProxy != want[s.Name] {
			t.Errorf("server %s: %+v, want %+v", s.Name, s.SendProxy, want[s.Name])
		}
	}
}
