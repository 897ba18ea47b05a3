package model

import (
	"fmt"
	"strings"
)

// PROXY protocol options of servers (the bind side is "accept-proxy" in
// kw_bind.go and "tcp-request connection expect-proxy layer4"):
//
//	send-proxy                 a version 1 line before anything else
//	send-proxy-v2              a version 2 header
//	send-proxy-v2-ssl          version 2 with the SSL TLV
//	send-proxy-v2-ssl-cn       ... and the client certificate's CN in it
//	proxy-v2-options <o>[,<o>] ssl, cert-cn, ssl-cipher, cert-sig, cert-key,
//	                           authority, crc32c, unique-id (implies v2)
//	no-send-proxy, no-send-proxy-v2, no-send-proxy-v2-ssl, no-send-proxy-v2-ssl-cn

// ProxyProto is what a server sends first on its connections.
type ProxyProto struct {
	Version   int // 0: nothing, 1 or 2
	SSL       bool
	CertCN    bool
	SSLCipher bool
	CertSig   bool
	CertKey   bool
	Authority bool
	CRC32C    bool
	UniqueID  bool
}

// proxyV2Option maps the words of proxy-v2-options to their flag.
var proxyV2Option = map[string]func(*ProxyProto){
	"ssl":        func(p *ProxyProto) { p.SSL = true },
	"cert-cn":    func(p *ProxyProto) { p.CertCN = true },
	"ssl-cipher": func(p *ProxyProto) { p.SSLCipher = true },
	"cert-sig":   func(p *ProxyProto) { p.CertSig = true },
	"cert-key":   func(p *ProxyProto) { p.CertKey = true },
	"authority":  func(p *ProxyProto) { p.Authority = true },
	"crc32c":     func(p *ProxyProto) { p.CRC32C = true },
	"unique-id":  func(p *ProxyProto) { p.UniqueID = true },
}

func init() {
	set := func(f func(*ProxyProto)) func(*Server, string) error {
		return func(s *Server, _ string) error { f(&s.SendProxy); return nil }
	}
	for kw, f := range map[string]func(*ProxyProto){
		"send-proxy":              func(p *ProxyProto) { p.Version = max(p.Version, 1) },
		"send-proxy-v2":           func(p *ProxyProto) { p.Version = 2 },
		"send-proxy-v2-ssl":       func(p *ProxyProto) { p.Version, p.SSL = 2, true },
		"send-proxy-v2-ssl-cn":    func(p *ProxyProto) { p.Version, p.SSL, p.CertCN = 2, true, true },
		"no-send-proxy":           func(p *ProxyProto) { *p = ProxyProto{} },
		"no-send-proxy-v2":        func(p *ProxyProto) { *p = ProxyProto{} },
		"no-send-proxy-v2-ssl":    func(p *ProxyProto) { p.SSL, p.CertCN = false, false },
		"no-send-proxy-v2-ssl-cn": func(p *ProxyProto) { p.CertCN = false },
	} {
		serverOptions[kw] = serverOpt{0, set(f), ""}
	}
	serverOptions["proxy-v2-options"] = serverOpt{1, func(s *Server, v string) error {
		for _, w := range strings.Split(v, ",") {
			f, ok := proxyV2Option[w]
			if !ok {
				return fmt.Errorf("'%s' : proxy v2 option not implemented; expects 'ssl', 'cert-cn', 'ssl-cipher', 'cert-sig', 'cert-key', 'authority', 'crc32c' or 'unique-id'", w)
			}
			f(&s.SendProxy)
		}
		// As HAProxy: the options make the server send version 2.
		s.SendProxy.Version = 2
		return nil
	}, ""}
}
