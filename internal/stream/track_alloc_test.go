package stream

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// TestTrackRequestAllocs proves that stick counters (track-sc, the counter
// updates, sc_* and src_* fetches, sc-* actions) add no allocation to the
// keep-alive request path once the client's entry exists.
func TestTrackRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	for _, extra := range []string{
		" stick-table type ip size 1k expire 1m store http_req_rate(10s),http_req_cnt,conn_cur,http_err_rate(10s),bytes_in_rate(1s),bytes_out_cnt\n" +
			" http-request track-sc0 src\n http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 }\n" +
			" http-request deny if { src_http_req_cnt gt 100000000 }\n",
		" stick-table type string len 16 size 1k expire 1m store gpc0,gpt0,http_req_cnt\n" +
			" http-request track-sc1 req.cook(SID)\n http-request sc-inc-gpc0(1)\n http-request sc-set-gpt0(1) 5\n" +
			" http-request set-header x-n %[sc1_get_gpc0]\n http-request deny if { req.cook(SID),table_gpt0(be) gt 6 }\n",
	} {
		t.Run(extra, func(t *testing.T) {
			cfg, port := keepAliveConfig(t, "always")
			startRuntime(t, cfg+extra)
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req := []byte("GET /small/x?id=42 HTTP/1.1\r\nHost: bench\r\nUser-Agent: test\r\nCookie: a=1; SID=abc123\r\n\r\n")
			buf := make([]byte, 4096)
			for range 50 {
				roundTrip(t, c, req, buf)
			}
			allocs := testing.AllocsPerRun(1000, func() { roundTrip(t, c, req, buf) })
			if allocs >= 0.5 {
				t.Fatalf("%.2f allocations per keep-alive request, want 0", allocs)
			}
		})
	}
}

// TestCaptureUniqueIDLogFormatAllocs: captures, unique ids and log-format
// lines add no allocation per keep-alive request either.
func TestCaptureUniqueIDLogFormatAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	sink, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := sink.(*net.UDPConn).ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	cfg, port := keepAliveConfig(t, "always")
	fe := " capture request header Host len 20\n capture response header Content-Type len 10\n" +
		" declare capture request len 8\n http-request capture path len 6\n http-request capture req.hdr(user-agent) id 2\n" +
		" unique-id-format %{+X}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid\n unique-id-header X-Unique-ID\n" +
		" log 127.0.0.1:" + strconv.Itoa(sink.LocalAddr().(*net.UDPAddr).Port) + " local0\n" +
		" log-format \"%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %tsc %hr %hs %{+Q}r %ID %[capture.req.hdr(0)] %HP %HQ\"\n"
	startRuntime(t, strings.Replace(cfg, " default_backend be\n", fe+" default_backend be\n", 1))
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /small/x?id=42 HTTP/1.1\r\nHost: bench\r\nUser-Agent: test\r\n\r\n")
	buf := make([]byte, 4096)
	for range 50 {
		roundTrip(t, c, req, buf)
	}
	allocs := testing.AllocsPerRun(1000, func() { roundTrip(t, c, req, buf) })
	if allocs >= 0.5 {
		t.Fatalf("%.2f allocations per keep-alive request, want 0", allocs)
	}
}
