package runtimeapi

import (
	"strings"

	"dhproxy/internal/tlsconf"
)

// The certificate commands of HAProxy 2.6 ("show ssl cert", "set ssl
// cert" ... "del ssl crt-list"); their replies come from tlsconf. This
// file's init runs after commands.go's (files initialise in name order),
// so the table exists when these are appended.
func init() {
	commands = append(commands,
		command{[]string{"abort", "ssl", "cert"}, "abort ssl cert <certfile>", "abort a transaction for a certificate file", levelAdmin, sslCmd(func(r *tlsconf.Registry, s *session, a []string) string { return r.AbortCert(arg(a, 0)) })},
		command{[]string{"add", "ssl", "crt-list"}, "add ssl crt-list <list> <cert> [opts]*", "add to crt-list file <list> a line <cert> or a payload", levelAdmin, cmdAddCrtList},
		command{[]string{"commit", "ssl", "cert"}, "commit ssl cert <certfile>", "commit a certificate file", levelAdmin, sslCmd(func(r *tlsconf.Registry, s *session, a []string) string { return r.CommitCert(arg(a, 0)) })},
		command{[]string{"del", "ssl", "cert"}, "del ssl cert <certfile>", "delete an unused certificate file", levelAdmin, sslCmd(func(r *tlsconf.Registry, s *session, a []string) string { return r.DelCert(arg(a, 0)) })},
		command{[]string{"del", "ssl", "crt-list"}, "del ssl crt-list <list> <cert[:line]>", "delete a line <cert> from crt-list file <list>", levelAdmin, cmdDelCrtList},
		command{[]string{"new", "ssl", "cert"}, "new ssl cert <certfile>", "create a new certificate file to be used in a crt-list or a directory", levelAdmin, sslCmd(func(r *tlsconf.Registry, s *session, a []string) string { return r.NewEmptyCert(arg(a, 0)) })},
		command{[]string{"set", "ssl", "cert"}, "set ssl cert <certfile> <payload>", "replace a certificate file", levelAdmin, sslCmd(func(r *tlsconf.Registry, s *session, a []string) string { return r.SetCert(arg(a, 0), s.payload) })},
		command{[]string{"set", "ssl", "tls-key"}, "set ssl tls-key [id|file] <key>", "set the next TLS key for the <id> or <file> listener to <key>", levelAdmin, sslCmd(func(r *tlsconf.Registry, s *session, a []string) string { return r.SetTLSKey(arg(a, 0), arg(a, 1)) })},
		command{[]string{"show", "tls-keys"}, "show tls-keys [id|*]", "show tls keys references or dump tls ticket keys when id specified", levelUser, cmdShowTLSKeys},
		command{[]string{"set", "ssl", "ocsp-response"}, "set ssl ocsp-response <resp|payload>", "update a certificate's OCSP Response from a base64-encode DER", levelAdmin, sslCmd(func(r *tlsconf.Registry, s *session, a []string) string {
			return r.SetOCSPResponse(strings.Join(a, "") + s.payload)
		})},
		command{[]string{"show", "ssl", "ocsp-response"}, "show ssl ocsp-response [id]", "display the IDs of the OCSP responses used in memory, or the details of a single OCSP response", levelUser, sslCmd(func(r *tlsconf.Registry, s *session, a []string) string { return r.ShowOCSPResponse(arg(a, 0)) })},
		command{[]string{"show", "ssl", "cert"}, "show ssl cert [<certfile>]", "display the SSL certificates used in memory, or the details of a file", levelOperator, sslCmd(func(r *tlsconf.Registry, s *session, a []string) string { return r.ShowCert(arg(a, 0)) })},
		command{[]string{"show", "ssl", "crt-list"}, "show ssl crt-list [-n] [<list>]", "show the list of crt-lists or the content of a crt-list file <list>", levelAdmin, sslCmd(func(r *tlsconf.Registry, s *session, a []string) string { return r.ShowCrtList(a) })},
	)
}

func arg(a []string, i int) string {
	if i < len(a) {
		return a[i]
	}
	return ""
}

// registry is the certificate store of the running configuration; a
// configuration without ssl binds has an empty one, as HAProxy answers
// with empty lists.
func (s *session) registry() *tlsconf.Registry {
	if s.srv.src != nil && s.srv.src.RT != nil {
		if r := s.srv.src.RT.Config().Certs; r != nil {
			return r
		}
	}
	return tlsconf.NewRegistry()
}

func sslCmd(f func(*tlsconf.Registry, *session, []string) string) func(*session, []string) string {
	return func(s *session, a []string) string { return f(s.registry(), s, a) }
}

// cmdAddCrtList takes the line from the arguments or, one or more lines,
// from the payload.
func cmdAddCrtList(s *session, a []string) string {
	if len(a) < 1 || (len(a) < 2 && strings.TrimSpace(s.payload) == "") {
		return "'add ssl crt-list' expects a filename and a certificate name\n"
	}
	r := s.registry()
	if len(a) >= 2 {
		return r.AddCrtList(a[0], strings.Join(a[1:], " "))
	}
	var out strings.Builder
	for _, l := range strings.Split(s.payload, "\n") {
		if strings.TrimSpace(l) != "" {
			out.WriteString(r.AddCrtList(a[0], l))
		}
	}
	return out.String()
}

func cmdDelCrtList(s *session, a []string) string {
	if len(a) < 2 {
		return "'del ssl crt-list' expects a filename and a certificate name\n"
	}
	return s.registry().DelCrtList(a[0], a[1])
}

// cmdShowTLSKeys lists the tls-ticket-keys references at any level, as
// HAProxy; dumping the keys themselves needs the admin level here (HAProxy
// 2.6 shows them to every level).
func cmdShowTLSKeys(s *session, a []string) string {
	if arg(a, 0) != "" && s.level < levelAdmin {
		return "Permission denied\n"
	}
	return s.registry().ShowTLSKeys(arg(a, 0))
}
