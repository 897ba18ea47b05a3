package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConvertersMoreAsHAProxy: one configuration using haproxy 2.6's
// converters for dates, choices, digests, HMACs, JSON, item lists,
// base64url, xxHash, CRC32C, big-endian dumps, languages, backend and
// table lookups, JWTs, AES-GCM, protocol buffers, FIX and MQTT loads in both and gives the same
// answers to the same requests.
func TestConvertersMoreAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	raw, err := os.ReadFile("../internal/sample/testdata/jwt/tokens.json")
	if err != nil {
		t.Fatal(err)
	}
	var tokens map[string]string
	if err := json.Unmarshal(raw, &tokens); err != nil {
		t.Fatal(err)
	}
	pub, err := filepath.Abs("../internal/sample/testdata/jwt/rsa.pub")
	if err != nil {
		t.Fatal(err)
	}
	appPort, stopApp := startHTTPBackend(t, "app")
	defer stopApp()
	answers := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		port := freePort(t)
		// '$' is escaped: haproxy expands environment variables in
		// double-quoted words.
		p := startBinary(t, path, defaultsSection("http", "5s", "5s", "5s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request track-sc0 src table st
    http-request set-var(txn.k) str(a2V5)
    http-request set-var(txn.item) str(b)
    http-request set-var(txn.j) req.fhdr(x-json)
    use_backend app if { path /app }
    http-request return status 200 content-type text/plain lf-string "sid=%%[str(k1),table_server_id(app)]/%%[str(k2),table_server_id(app)]/%%[str(k1),table_server_id(st)]|date=%%[int(1700000000),http_date(3600)] ms=%%[int(1700000000123),http_date(0,ms)] iif=%%[int(1),iif(yes,no)]/%%[int(0),iif(yes,no)]|digest=%%[str(abc),digest(sha3-256),hex] hmac=%%[str(abc),hmac(sha256,txn.k),base64]|json=%%[var(txn.j),json_query('\$.a.b[1]')]/%%[var(txn.j),json_query('\$.n','int')]/%%[var(txn.j),json_query('\$.n')]/%%[var(txn.j),json_query('\$.t')]|item=%%[str(a),add_item(',',txn.item,c)]/%%[str(),add_item(',',txn.item)] cut=%%[str(ab%%0Dc),url_dec,cut_crlf] hex2i=%%[str(FF10),hex2i]|ub64=%%[str(abc?>),ub64enc]/%%[str(YWJjPz4),ub64dec] xxh=%%[str(abc),xxh3(1)]/%%[str(abc),xxh32(1)]/%%[str(abc),xxh64] crc32c=%%[str(abc),crc32c(1)]|be=%%[bin(7f000001),be2dec(.,1)]/%%[bin(01020304050607),be2hex(:,2,1)]/%%[int(-1),htonl,hex] lang=%%[req.fhdr(accept-language),language(es;fr;en,xx)] nbsrv=%%[str(be),nbsrv] queue=%%[str(be/s1),srv_queue]|table=%%[src,in_table(st)]/%%[str(1.2.3.4),in_table(st)]/%%[src,table_trackers(st)]/%%[str(9.9.9.9),table_expire(st,-1)]|jwt=%%[req.hdr(x-jwt),jwt_header_query('\$.alg')]/%%[req.hdr(x-jwt),jwt_payload_query('\$.name')]/%%[req.hdr(x-jwt),jwt_verify(HS256,secret)]/%%[req.hdr(x-jwt),jwt_verify(HS256,wrong)]/%%[req.hdr(x-rs),jwt_verify(RS256,%s)]/%%[str(x.y),jwt_verify(HS256,secret)]|aes=%%[bin(36e558a29fae0203a40be6),aes_gcm_dec(128,BQgLDhEUFxodICMm,AQgPFh0kKzI5QEdOVVxjag==,9m/wMNtHpATO+mqZkCz4jw==)] debug=%%[str(dbg),debug(e2e,stderr)]|wire=%%[bin(820314da0311088fbdbcc20110edff9a9cfdffffffff018a0314da0311089aa68cc30110969f989cfdffffffff011896012005290000000000000e4031fbffffffffffffff3d0000c0bf45f9ffffff4a0568656c6c6f500118e70758feffffffffffffffff016500286bee),protobuf(48.59.2,int32)]/%%[bin(0000000006089601187e07),ungrpc(3,int32)]/%%[bin(383d4649582e342e3401393d36350133353d410134393d5345525645520135363d434c49454e540133343d3137370135323d32303039303130372d31383a31353a31360139383d30013130383d33300131303d30363401),fix_is_valid]/%%[bin(383d4649582e342e3401393d36350133353d410134393d5345525645520135363d434c49454e540133343d3137370135323d32303039303130372d31383a31353a31360139383d30013130383d33300131303d30363401),fix_tag_value(MsgType)]/%%[bin(107e00044d51545405ee003c182700000014170126000161000162260001630001642100140008746573745f7375622a03000a746578742f706c61696e08000c77696c6c727370746f7069632600016500016626000167000168000977696c6c746f706963000b77696c6c7061796c6f61640004746573740006706173737764),mqtt_is_valid]/%%[bin(107e00044d51545405ee003c182700000014170126000161000162260001630001642100140008746573745f7375622a03000a746578742f706c61696e08000c77696c6c727370746f7069632600016500016626000167000168000977696c6c746f706963000b77696c6c7061796c6f61640004746573740006706173737764),mqtt_field_value(connect,username)]/%%[bin(107e00044d51545405ee003c182700000014170126000161000162260001630001642100140008746573745f7375622a03000a746578742f706c61696e08000c77696c6c727370746f7069632600016500016626000167000168000977696c6c746f706963000b77696c6c7061796c6f61640004746573740006706173737764),mqtt_field_value(connect,39)]\n" if !{ path /app }
backend be
    server s1 127.0.0.1:1
backend app
    stick-table type string size 10
    stick on req.hdr(x-k)
    server a1 127.0.0.1:%d
backend st
    stick-table type ip size 10 expire 30s
`, port, pub, appPort), port)
		if out, err := curl(t, "-H", "X-K: k1", fmt.Sprintf("http://127.0.0.1:%d/app", port)); err != nil {
			t.Fatalf("%s: %v %s", path, err, out)
		}
		out, err := curl(t, "-H", `X-Json: {"a":{"b":[1,"x"]},"n":1.5,"t":true}`, "-H", "Accept-Language: fr-FR;q=0.8, en;q=0.9",
			"-H", "X-Jwt: "+tokens["HS256"], "-H", "X-Rs: "+tokens["RS256"], fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		answers[path] = out
		if !strings.Contains(p.Stderr(), "[debug] e2e: type=str <dbg>") {
			t.Errorf("%s: no debug line on stderr:\n%s", path, p.Stderr())
		}
	}
	want, got := answers[haproxyBin], answers[bin]
	if want != got {
		t.Errorf("answers differ:\nhaproxy: %s\ndhproxy: %s", strings.ReplaceAll(want, "|", "\n  "), strings.ReplaceAll(got, "|", "\n  "))
	}
	t.Logf("answers: %s", strings.ReplaceAll(want, "|", "\n  "))
}
