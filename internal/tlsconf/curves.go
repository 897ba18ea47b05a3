package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// openSSLCurves maps OpenSSL's group names (its short names and the NIST
// ones, as "curves" and "ecdhe" take them) to Go's key exchanges.
var openSSLCurves = map[string]tls.CurveID{
	"P-256": tls.CurveP256, "prime256v1": tls.CurveP256, "secp256r1": tls.CurveP256,
	"P-384": tls.CurveP384, "secp384r1": tls.CurveP384,
	"P-521": tls.CurveP521, "secp521r1": tls.CurveP521,
	"X25519": tls.X25519, "x25519": tls.X25519,
	"X25519MLKEM768": tls.X25519MLKEM768, "x25519mlkem768": tls.X25519MLKEM768,
	"SecP256r1MLKEM768": tls.SecP256r1MLKEM768, "SecP384r1MLKEM1024": tls.SecP384r1MLKEM1024,
}

// applyCurves sets the key exchange groups: "curves" (a ':' list, in
// preference order) wins over "ecdhe" (one curve), as in HAProxy. Names Go
// has no group for (X448, ffdhe2048, ...) draw a warning; with none left
// Go's default groups stay.
func applyCurves(cfg *tls.Config, curves, ecdhe string, warn func(string)) {
	kw, list := "curves", curves
	if list == "" {
		kw, list = "ecdhe", ecdhe
	}
	if list == "" {
		return
	}
	var ids []tls.CurveID
	var unknown []string
	for _, n := range strings.Split(list, ":") {
		if id, ok := openSSLCurves[n]; ok {
			ids = append(ids, id)
		} else if n != "" {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		warn(fmt.Sprintf("%s: %s cannot be used by Go's TLS (it offers P-256, P-384, P-521, X25519, X25519MLKEM768); ignored", kw, strings.Join(unknown, ", ")))
	}
	if len(ids) == 0 {
		warn(fmt.Sprintf("%s '%s': no usable group left; Go's default groups are used", kw, list))
		cfg.CurvePreferences = nil
		return
	}
	cfg.CurvePreferences = ids
}
