package sample

// absentFetches are HAProxy 2.6 fetches dhproxy cannot answer truthfully,
// with the reason the configuration error gives (docs/rules.md lists them).
var absentFetches = map[string]string{
	"ssl_fc_session_id": "Go's crypto/tls does not expose the TLS session ID",
	"ssl_fc_err":        "a failed TLS handshake closes the connection before any rule or log line sees it, and Go's TLS errors have no OpenSSL error codes",
	"ssl_fc_err_str":    "a failed TLS handshake closes the connection before any rule or log line sees it, and Go's TLS errors have no OpenSSL error strings",
	"res.comp":          "dhproxy does not compress responses ('compression' is not supported)",
	"res.comp_algo":     "dhproxy does not compress responses ('compression' is not supported)",
	"res.cache_hit":     "dhproxy has no HTTP cache ('cache' sections are not supported)",
	"res.cache_name":    "dhproxy has no HTTP cache ('cache' sections are not supported)",
	"set-cookie":        "haproxy 2.6 does not accept it either; use res.cook",
}
