package sample

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The tokens were signed with the private halves of testdata/jwt's keys
// (HS*: "secret"); the answers are haproxy 2.6.12's for the same tokens
// and keys.
func TestJWTAsHAProxy(t *testing.T) {
	raw, err := os.ReadFile("testdata/jwt/tokens.json")
	if err != nil {
		t.Fatal(err)
	}
	var tokens map[string]string
	if err := json.Unmarshal(raw, &tokens); err != nil {
		t.Fatal(err)
	}
	f := newTxn(t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	var c Compiler
	for _, set := range []string{"str(RS256),set-var(txn.alg)", "str(testdata/jwt/rsa.pub),set-var(txn.key)",
		"str(testdata/jwt/ec384.pub),set-var(txn.eckey)", "str(HS256),set-var(txn.halg)", "str(secret),set-var(txn.hkey)",
		"str(XX256),set-var(txn.xx)", "str(PS256),set-var(txn.ps)", "str(/nonexistent),set-var(txn.nofile)"} {
		evalConv(t, &c, f, set)
	}
	const d = "testdata/jwt/"
	for _, tc := range []struct{ token, conv, want string }{
		{"HS256", "jwt_header_query('$.alg')", "HS256"},
		{"HS256", "jwt_payload_query('$.iat','int')", "1516239022"},
		{"HS256", "jwt_payload_query('$.name')", "John Doe"},
		{"HS256", "jwt_payload_query('$.admin')", "1"},
		{"HS256", "jwt_payload_query('$.n.x[1]')", "2"},
		{"HS256", "jwt_header_query", `{"alg":"HS256","typ":"JWT"}`}, // haproxy 2.6.12 gives no sample here, against its doc
		{"2p", "jwt_payload_query('$.b')", "2"},
		{"4p", "jwt_payload_query('$.b')", "2"},
		{"3p", "jwt_payload_query('$.b')", "2"},
		{"2p", "jwt_header_query('$.a')", "1"},
		{"bh", "jwt_header_query('$.b')", "<none>"},
		{"bh", "jwt_payload_query('$.b')", "2"},
		{"two", "jwt_payload_query", "<none>"},
		{"junk", "jwt_header_query", "<none>"},

		{"HS256", "jwt_verify(HS256,secret)", "1"},
		{"HS384", "jwt_verify(HS384,secret)", "1"},
		{"HS512", "jwt_verify(HS512,secret)", "1"},
		{"HS256", "jwt_verify(HS256,wrong)", "0"},
		{"HS256", "jwt_verify(HS384,secret)", "0"},
		{"bad", "jwt_verify(HS256,secret)", "0"},
		{"mis", "jwt_verify(HS256,secret)", "1"}, // its header says HS384
		{"two", "jwt_verify(HS256,secret)", "-3"},
		{"four", "jwt_verify(HS256,secret)", "-3"},
		{"junk", "jwt_verify(HS256,secret)", "-3"},
		{"bh", "jwt_verify(HS256,secret)", "0"},
		{"bp", "jwt_verify(HS256,secret)", "0"},
		{"bs", "jwt_verify(HS256,secret)", "-3"},
		{"nosig", "jwt_verify(HS256,secret)", "-3"},
		{"empty", "jwt_verify(HS256,secret)", "-3"},
		{"HS256", "jwt_verify(none,secret)", "0"},
		{"none", "jwt_verify(none,secret)", "1"},
		{"none2", "jwt_verify(none,x)", "1"},
		{"nosig", "jwt_verify(none,x)", "1"},
		{"RS256", "jwt_verify(RS256," + d + "rsa.pub)", "1"},
		{"RS384", "jwt_verify(RS384," + d + "rsa.pub)", "1"},
		{"RS512", "jwt_verify(RS512," + d + "rsa.pub)", "1"},
		{"RS256", "jwt_verify(RS256," + d + "rsa.crt)", "-5"},
		{"RS256", "jwt_verify(RS384," + d + "rsa.pub)", "0"},
		{"RS256", "jwt_verify(ES256," + d + "ec256.pub)", "0"},
		{"HS256", "jwt_verify(RS256," + d + "rsa.pub)", "0"},
		{"ES256", "jwt_verify(ES256," + d + "ec256.pub)", "1"},
		{"ES384", "jwt_verify(ES384," + d + "ec384.pub)", "1"},
		{"ES512", "jwt_verify(ES512," + d + "ec521.pub)", "1"},
		{"ES256", "jwt_verify(ES256," + d + "ec384.pub)", "0"},
		{"ES256", "jwt_verify(ES384," + d + "ec256.pub)", "0"},
		{"ES256", "jwt_verify(RS256," + d + "rsa.pub)", "0"},
		{"RS256", "jwt_verify(txn.alg," + d + "rsa.pub)", "1"},
		{"RS256", "jwt_verify(RS256,txn.key)", "1"},
		{"RS256", "jwt_verify(RS256,txn.eckey)", "0"},
		{"HS256", "jwt_verify(txn.halg,txn.hkey)", "1"},
		{"HS256", "jwt_verify(txn.unset,secret)", "<none>"},
		{"mis", "jwt_verify(txn.xx,secret)", "-1"},
		{"mis", "jwt_verify(txn.ps,secret)", "-2"},
		{"mis", "jwt_verify(txn.alg," + d + "nofile.pem)", "-5"},
		{"mis", "jwt_verify(RS256,txn.nofile)", "-5"},
	} {
		tok, ok := tokens[tc.token]
		if !ok {
			t.Fatalf("no token %s", tc.token)
		}
		var v Value
		v.SetStr([]byte(tok))
		SetVar(f, mustVar(t, &c, "txn.tok"), &v)
		if got := evalConv(t, &c, f, "var(txn.tok),"+tc.conv); got != tc.want {
			t.Errorf("%s,%s = %q, want %q", tc.token, tc.conv, got, tc.want)
		}
	}
	c.Notices = nil
	if _, err := c.Compile("str(x),jwt_verify(RS256,testdata/jwt/rsa.crt)", PhaseReq); err != nil || len(c.Notices) != 1 || !strings.Contains(c.Notices[0], "holds no PEM public key") {
		t.Errorf("a certificate as key: %v, notices %q", err, c.Notices)
	}
	for expr, want := range map[string]string{
		"str(a),jwt_verify(XX256,secret)":   "converter 'jwt_verify': unknown JWT algorithm 'XX256'",
		"str(a),jwt_verify(hs256,secret)":   "unknown JWT algorithm 'hs256'",
		"str(a),jwt_verify(PS256,k.pem)":    "RSASSA-PSS signatures (PS256) are not verified",
		"str(a),jwt_verify(HS256)":          "converter 'jwt_verify' expects at least 2",
		"str(a),jwt_payload_query('$.a',x)": "converter 'jwt_payload_query': the output type 'x' is unknown",
	} {
		if _, err := c.Compile(expr, PhaseReq); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", expr, err, want)
		}
	}
}

func mustVar(t *testing.T, c *Compiler, name string) VarRef {
	t.Helper()
	r, err := c.ParseVar(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
