package sample

import (
	"strings"
	"testing"
)

// evalConv compiles and evaluates expr on f, "<none>" when the sample
// fails; ints print in decimal.
func evalConv(t *testing.T, c *Compiler, f *fakeTxn, expr string) string {
	t.Helper()
	e, err := c.Compile(expr, PhaseReq)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	var v Value
	if !e.Eval(f, &v) || !Cast(&v, TypeStr, &f.scratch) {
		return "<none>"
	}
	return string(v.Bytes)
}

// Every value here is what haproxy 2.6.12 answered through
// 'http-request return lf-string "%[expr]"'.
func TestConverters26AsHAProxy(t *testing.T) {
	f := newTxn(t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	var c Compiler
	for _, set := range []string{"str(abc),set-var(txn.a)", "str(a2V5),set-var(txn.k)", "str(),set-var(txn.e)", "int(42),set-var(txn.i)"} {
		evalConv(t, &c, f, set)
	}
	long := strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 8)
	for _, tc := range []struct{ expr, want string }{
		{"int(0),http_date", "Thu, 01 Jan 1970 00:00:00 GMT"},
		{"int(1700000000),http_date", "Tue, 14 Nov 2023 22:13:20 GMT"},
		{"int(1700000000),http_date(3600)", "Tue, 14 Nov 2023 23:13:20 GMT"},
		{"int(1700000000),http_date(-3600)", "Tue, 14 Nov 2023 21:13:20 GMT"},
		{"int(1700000000),http_date(0,s)", "Tue, 14 Nov 2023 22:13:20 GMT"},
		{"int(1700000000123),http_date(0,ms)", "Tue, 14 Nov 2023 22:13:20.123 GMT"},
		{"int(1700000000123),http_date(1000,ms)", "Tue, 14 Nov 2023 22:13:21.123 GMT"},
		{"int(1700000000000),http_date(0,ms)", "Tue, 14 Nov 2023 22:13:20.0 GMT"},
		{"int(1700000000001),http_date(0,ms)", "Tue, 14 Nov 2023 22:13:20.1 GMT"},
		{"int(1700000000123456),http_date(0,us)", "Tue, 14 Nov 2023 22:13:20.123456 GMT"},
		{"int(1700000000000001),http_date(0,us)", "Tue, 14 Nov 2023 22:13:20.1 GMT"},

		{"int(1),iif(yes,no)", "yes"},
		{"int(0),iif(yes,no)", "no"},
		{"int(5),iif(,no)", ""},
		{"str(),iif(yes,no)", "<none>"},
		{"str(x),iif(yes,no)", "no"},
		{"str(ab),iif(yes,no)", "no"},
		{"str(0),iif(yes,no)", "no"},
		{"str(1),iif(yes,no)", "yes"},

		{"str(abc),add_item(-,txn.a,z)", "abc-abcz"},
		{"str(),add_item(-,txn.a,z)", "abcz"},
		{"str(abc),add_item(-,txn.nope,z)", "abc-z"},
		{"str(abc),add_item(-,txn.nope)", "abc"},
		{"str(abc),add_item(-,txn.e)", "abc"},
		{"str(abc),add_item(-,txn.e,z)", "abc-z"},
		{"str(abc),add_item(-,,z)", "abc-z"},
		{"str(),add_item(-,,z)", "z"},
		{"int(5),add_item(-,txn.i)", "5-42"},
		{"str(abc),add_item(--,txn.a)", "abc--abc"},

		{"str(ab%0D%0Acd),url_dec,cut_crlf", "ab"},
		{"str(ab%0Acd%0D),url_dec,cut_crlf", "ab"},
		{"str(abcd),cut_crlf", "abcd"},
		{"int(12),cut_crlf", "12"},

		{"str(ff),hex2i", "255"},
		{"str(FF10),hex2i", "65296"},
		{"str(a),hex2i", "10"},
		{"str(f),hex2i", "15"},
		{"str(ffffffffffffffff),hex2i", "-1"},
		{"str(fffffffffffffffff),hex2i", "-1"},
		{"str(),hex2i", "0"},
		{"str(zz),hex2i", "<none>"},
		{"str(1z),hex2i", "<none>"},
		{"str(0x10),hex2i", "<none>"},
		{"str(-1),hex2i", "<none>"},

		{"str(abc?>),ub64enc", "YWJjPz4"},
		{"str(ab),ub64enc", "YWI"},
		{"str(a),ub64enc", "YQ"},
		{"str(),ub64enc", ""},
		{"str(YWJjPz4),ub64dec", "abc?>"},
		{"str(YQ),ub64dec", "a"},
		{"str(_-8),ub64dec,hex", "FFEF"},
		{"str(YWI=),ub64dec,hex", "61623F"},
		{"str(YW=j),ub64dec,hex", "616FE3"},
		{"str(YW==),ub64dec,hex", "616FFF"},
		{"str(YWJjZA==),ub64dec,hex", "616263640FFF"},
		{"str(YWJjZA),ub64dec,hex", "61626364"},
		{"str(abc),ub64dec,hex", "69B7"},
		{"str(),ub64dec", ""},
		{"str(Y),ub64dec", "<none>"},
		{"str(YWJjZ),ub64dec", "<none>"},
		{"str(a+b),ub64dec", "<none>"},
		{"str(ab/c),ub64dec", "<none>"},

		{"str(abc),xxh64", "4952883123889572249"},
		{"str(abc),xxh64(1)", "-4708009277469325048"},
		{"str(abc),xxh64(-1)", "2895935887265243510"},
		{"str(),xxh64", "-1205034819632174695"},
		{"str(" + long + "),xxh64(42)", "6615800847237746237"},
		{"str(abc),xxh32", "852579327"},
		{"str(abc),xxh32(1)", "2856167679"},
		{"str(abc),xxh32(-1)", "2989167648"},
		{"str(),xxh32", "46947589"},
		{"str(" + long[:72] + "),xxh32(42)", "843356780"},
		{"str(abc),xxh3", "8696274497037089104"},
		{"str(abc),xxh3(1)", "7729416884403528232"},
		{"str(abc),xxh3(-1)", "2962310483463817673"},
		{"str(),xxh3", "3244421341483603138"},
		{"str(" + long + "),xxh3(42)", "-1552772544386401963"},

		{"str(abc),crc32c", "910901175"},
		{"str(abc),crc32c(1)", "1285784220"},
		{"str(),crc32c", "0"},
		{"str(123456789),crc32c", "3808858755"},

		{"bin(01020304050607),be2dec(:,2)", "258:772:1286:7"},
		{"bin(01020304050607),be2dec(-,2,1)", "258-772-1286"},
		{"bin(01020304050607),be2dec(,2,1)", "2587721286"},
		{"bin(7f000001),be2dec(.,1)", "127.0.0.1"},
		{"bin(ffffffffffffffff),be2dec(:,8)", "18446744073709551615"},
		{"bin(ffffffffffffff),be2dec(:,8)", "72057594037927935"},
		{"bin(0102030405),be2dec(:,3)", "66051:1029"},
		{"bin(01),be2dec(:,2,1)", ""},
		{"bin(01020304050607),be2hex", "01020304050607"},
		{"bin(01020304050607),be2hex(:,2)", "0102:0304:0506:07"},
		{"bin(01020304050607),be2hex(--,2,1)", "0102--0304--0506"},
		{"bin(0102030405060708),be2hex(,3,1)", "010203040506"},
		{"bin(0102030405),be2hex(:,3,1)", "010203"},
		{"bin(010203),be2hex(',',1)", "01,02,03"},
		{"bin(abcd),be2hex", "ABCD"},

		{"int(1),htonl,hex", "00000001"},
		{"int(-1),htonl,hex", "FFFFFFFF"},
		{"int(4294967297),htonl,hex", "00000001"},

		{"str('fr-FR;q=0.8,en;q=0.9,es'),language(es;fr;en)", "es"},
		{"str('fr-FR;q=0.8,en;q=0.9'),language(es;fr;en)", "en"},
		{"str('fr-FR,en;q=0.9'),language(es;fr-FR;en)", "fr-FR"},
		{"str('de'),language(es;fr;en)", "<none>"},
		{"str('de'),language(es;fr;en,nl)", "nl"},
		{"str('de;q=0,en;q=0'),language(de;en,xx)", "xx"},
		{"str('EN'),language(en)", "<none>"},
		{"str('en; q=0.5, fr ;q=0.6'),language(fr;en)", "fr"},
		{"str('*'),language(en)", "<none>"},
		{"str('en-US'),language(en-US;en)", "en-US"},
		{"str('en-GB'),language(en-US;en)", "en"},
		{"str('en;q=1.0,fr;q=1'),language(fr;en)", "en"},
		{"str('en;q=0.999,fr;q=0.9991'),language(fr;en)", "en"},
		{"str('fr;q=0.5x,en;q=0.4'),language(fr;en)", "fr"},
		{"str(''),language(fr;en,dd)", "dd"},
		{"str('de-CH'),language(de;fr)", "de"},
		{"str('de-CH;q=0.5,de;q=0.6'),language(de;de-CH)", "de"},
		{"str('fr;q=0.5,en;q=0.50'),language(fr;en)", "fr"},
		{"str('fr;q=.5,en;q=0.4'),language(fr;en)", "fr"},
		{"str('fr;q=1.5,en'),language(fr;en)", "fr"},
		{"str('fr;Q=0.1,en;q=0.2'),language(fr;en)", "fr"},
		{"str('fr;level=1;q=0.1,en;q=0.2'),language(fr;en)", "fr"},
		{"str('fr;q=0.1;level=1,en;q=0.2'),language(fr;en)", "en"},
		{"str(' fr , en'),language(en)", "en"},
		{"str('fr;q=0.001,en;q=0'),language(en;fr)", "fr"},
		{"str('fr-ca-x'),language(fr)", "fr"},
		{"str('fr-ca-x'),language(fr-ca)", "fr-ca"},
		{"str('en,fr'),language(;fr)", "fr"},

		// fakeTxn's backends: be_app has 2 usable servers, s1 and s2
		{"str(be_app),nbsrv", "2"},
		{"str(nope),nbsrv", "<none>"},
		{"str(),nbsrv", "<none>"},
		{"str(be_app/s1),srv_queue", "0"},
		{"str(s1),srv_queue", "0"},
		{"str(be_app/),srv_queue", "<none>"},
		{"str(/s1),srv_queue", "<none>"},
	} {
		if got := evalConv(t, &c, f, tc.expr); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

func TestConverters26ArgumentErrors(t *testing.T) {
	var c Compiler
	for expr, want := range map[string]string{
		"int(1),http_date(0,h)":     "converter 'http_date': unknown unit 'h'",
		"int(1),http_date(x)":       "must be an integer",
		"int(1),iif(a)":             "converter 'iif' expects at least 2 argument(s)",
		"str(a),add_item(-)":        "converter 'add_item' expects at least 2",
		"str(a),add_item(-,)":       "a variable or a suffix is needed",
		"str(a),add_item(-,,)":      "a variable or a suffix is needed",
		"str(a),add_item(-,nope.x)": "unknown variable scope 'nope'",
		"str(a),xxh64(x)":           "converter 'xxh64': argument 1 ('x') must be an integer",
		"str(a),crc32c(2)":          "converter 'crc32c': the avalanche argument is 0 or 1",
		"str(a),be2dec(:)":          "converter 'be2dec' expects at least 2",
		"str(a),be2dec(:,0)":        "chunk size must be between 1 and 8",
		"str(a),be2dec(:,9)":        "chunk size must be between 1 and 8",
		"str(a),be2hex(:)":          "converter 'be2hex': with a separator, the chunk size must be 1 or more",
		"str(a),be2hex(:,-1)":       "the chunk size must be 1 or more",
		"str(a),language":           "converter 'language' expects at least 1",
		"str(a),language()":         "converter 'language': the list of languages",
	} {
		if _, err := c.Compile(expr, PhaseReq); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", expr, err, want)
		}
	}
}
