package model

import (
	"errors"
	"fmt"
	"strings"

	"dhproxy/internal/config"
	"dhproxy/internal/logging/logformat"
	"dhproxy/internal/sample"
)

// dynamicServerKeywords are the server keywords haproxy 2.6 accepts in the
// runtime API's "add server" (management.txt); the others are refused
// with its message even where a server line takes them.
var dynamicServerKeywords = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`agent-addr agent-check agent-inter agent-port agent-send allow-0rtt alpn
		addr backup ca-file check check-alpn check-proto check-send-proxy check-sni check-ssl
		check-via-socks4 ciphers ciphersuites crl-file crt disabled downinter enabled error-limit fall
		fastinter force-sslv3 force-tlsv10 force-tlsv11 force-tlsv12 force-tlsv13 id inter maxconn
		maxqueue minconn no-ssl-reuse no-sslv3 no-tlsv10 no-tlsv11 no-tlsv12 no-tlsv13 no-tls-tickets
		npn observe on-error on-marked-down on-marked-up pool-low-conn pool-max-conn pool-purge-delay
		port proto proxy-v2-options rise send-proxy send-proxy-v2 send-proxy-v2-ssl
		send-proxy-v2-ssl-cn slowstart sni source ssl ssl-max-ver ssl-min-ver tfo tls-tickets track
		usesrc verify verifyhost weight ws`) {
		dynamicServerKeywords[k] = true
	}
}

// DynamicServer builds the server of the runtime API's "add server
// <p>/<name> <addr> [args]": the keywords of a server line that haproxy
// 2.6 allows there, without the backend's "default-server" settings (as
// haproxy). ready reports the "enabled" keyword (the server then starts
// out of maintenance). Errors are the runtime API's answer.
func DynamicServer(cfg *Config, p *Proxy, name, addr string, args []string) (s *Server, ready bool, err error) {
	pos := config.Pos{File: "cli", Line: 1}
	// Its own sample compiler: "sni <expr>" compiles an expression (the
	// process environment serves "$VAR" in addresses, as after start-up).
	b := &builder{d: &config.Diags{}, cfg: cfg, warned: map[string]bool{}, comp: &sample.Compiler{LogVar: logformat.HeaderVar}}
	l := config.Line{Pos: pos, Args: append([]string{"server", name, addr}, args...)}
	// Refuse the first keyword haproxy refuses, in its words, before
	// anything is applied.
	for i := 0; i < len(args); i++ {
		kw := args[i]
		scratch := Server{}
		if n, ok := b.serverTLSOption(l, &scratch, args[i:]); ok {
			if !dynamicServerKeywords[kw] {
				return nil, false, fmt.Errorf("'%s' option is not accepted for dynamic server", kw)
			}
			i += n
			continue
		}
		spec, known := serverOptions[kw]
		if !known && !dynamicServerKeywords[kw] {
			return nil, false, fmt.Errorf("unknown keyword '%s'%s", kw, suggest(kw, serverOptionNames()))
		}
		if !dynamicServerKeywords[kw] {
			return nil, false, fmt.Errorf("'%s' option is not accepted for dynamic server", kw)
		}
		if kw == "track" {
			return nil, false, errors.New("'track' is not supported by dhproxy yet (server tracking is not implemented).")
		}
		if kw == "weight" && i+1 < len(args) {
			if w, err := parseCount(args[i+1]); err == nil && w > 256 {
				return nil, false, fmt.Errorf("weight of server %s is not within 0 and 256 (%d)..", name, w)
			}
		}
		ready = ready || kw == "enabled"
		i += spec.args
	}
	if strings.Contains(name, "/") || checkName(name) != "" {
		return nil, false, fmt.Errorf("invalid server name '%s'.", name)
	}
	srv := Server{Pos: pos, Name: name, Weight: 1, Rise: 2, Fall: 3, Inter: defaultInter}
	srv.Addr, srv.Unix, err = parseServerAddr(addr)
	if err != nil {
		return nil, false, fmt.Errorf("'server %s': %v.", name, err)
	}
	// haproxy 2.6 keeps no idle connection of a dynamic server unless
	// told to.
	srv.PoolMaxConn, srv.MaxReuse = 0, -1
	b.applyServerOptions(l, &srv, args)
	if srv.Health.Agent && srv.Health.AgentPort == 0 {
		b.errorf(l, "'server %s/%s' : server %s does not have agent port. Agent check has been disabled.", p.Name, name, name)
	}
	if srv.Health.Observe == "layer7" && p.Mode != ModeHTTP {
		b.errorf(l, "'server %s/%s' : 'layer7' can only be used in http proxies.", p.Name, name)
	}
	b.buildServerTLS(&srv)
	for _, d := range b.d.List {
		if d.Sev == config.Alert {
			return nil, false, errors.New(d.Msg)
		}
	}
	return &srv, ready, nil
}
