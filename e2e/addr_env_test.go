package e2e

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAddrEnvUnquoted: HAProxy expands $VAR and ${VAR} in every address it
// parses, quoted or not (issue 14 A, issue 21.7). The listening port, the
// server address and the syslog target all come from the environment, and
// a datagram reaching the test's UDP listener proves the log target was
// expanded too.
func TestAddrEnvUnquoted(t *testing.T) {
	srvPort, _ := startHTTPBackend(t, "s1")
	logConn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer logConn.Close()
	feport := freePort(t)
	cfg := `
global
  log ${L_addr}:${L_port} local0
` + defaultsSection("http", "2s", "5s", "5s", "log global", "option httplog") + `

frontend fe
  bind 127.0.0.1:${P}
  default_backend be

backend be
  server s1 ${S1_addr}:${S1_port}
`
	env := []string{
		"P=" + strconv.Itoa(feport),
		"S1_addr=127.0.0.1", "S1_port=" + strconv.Itoa(srvPort),
		"L_addr=127.0.0.1", "L_port=" + strconv.Itoa(logConn.LocalAddr().(*net.UDPAddr).Port),
	}
	startProxyEnv(t, cfg, env, feport)

	body, err := curl(t, "http://127.0.0.1:"+strconv.Itoa(feport)+"/addr-env-probe")
	if err != nil || body != "s1" {
		t.Fatalf("request through the proxy: body %q, err %v", body, err)
	}
	buf := make([]byte, 4096)
	deadline := time.Now().Add(5 * time.Second)
	for {
		logConn.SetReadDeadline(deadline)
		n, _, err := logConn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no log line for the request on the UDP target: %v", err)
		}
		if strings.Contains(string(buf[:n]), "GET /addr-env-probe") {
			return
		}
	}
}
