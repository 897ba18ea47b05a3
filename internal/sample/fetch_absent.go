package sample

// absentFetches are HAProxy 2.6 fetches dhproxy cannot answer truthfully,
// with the reason the configuration error gives (docs/rules.md lists them).
var absentFetches = map[string]string{
	"res.cache_hit":  "dhproxy has no HTTP cache ('cache' sections are not supported)",
	"res.cache_name": "dhproxy has no HTTP cache ('cache' sections are not supported)",
	"set-cookie":     "haproxy 2.6 does not accept it either; use res.cook",
}

func init() {
	for reason, names := range map[string][]string{
		"Go's crypto/tls does not expose the TLS session ID": {"ssl_fc_session_id", "ssl_bc_session_id"},
		"Go's TLS errors have no OpenSSL codes":              {"ssl_bc_err", "ssl_bc_err_str"},
		"Go's crypto/tls does not expose the handshake's randoms or secrets": {
			"ssl_fc_client_random", "ssl_fc_server_random", "ssl_bc_client_random", "ssl_bc_server_random",
			"ssl_fc_session_key", "ssl_bc_session_key", "ssl_fc_client_early_traffic_secret",
			"ssl_fc_client_handshake_traffic_secret", "ssl_fc_server_handshake_traffic_secret",
			"ssl_fc_client_traffic_secret_0", "ssl_fc_server_traffic_secret_0", "ssl_fc_exporter_secret",
			"ssl_fc_early_exporter_secret"},
		"not yet: the ClientHello is not kept after the handshake": {
			"ssl_fc_cipherlist_bin", "ssl_fc_cipherlist_hex", "ssl_fc_cipherlist_str", "ssl_fc_cipherlist_xxh",
			"ssl_fc_protocol_hello_id", "ssl_fc_eclist_bin", "ssl_fc_ecformats_bin", "ssl_fc_extlist_bin"},
		"not yet (tls-unique)": {"ssl_fc_unique_id", "ssl_bc_unique_id"},
	} {
		for _, n := range names {
			absentFetches[n] = reason
		}
	}
}
