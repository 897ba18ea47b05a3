package e2e

import (
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
	logPort, next := udpLog(t)
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
		"L_addr=127.0.0.1", "L_port=" + strconv.Itoa(logPort),
	}
	startProxyEnv(t, cfg, env, feport)

	body, err := curl(t, "http://127.0.0.1:"+strconv.Itoa(feport)+"/addr-env-probe")
	if err != nil || body != "s1" {
		t.Fatalf("request through the proxy: body %q, err %v", body, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, ok := next(time.Until(deadline))
		if !ok {
			t.Fatal("no log line for the request on the UDP target")
		}
		if strings.Contains(l, "GET /addr-env-probe") {
			return
		}
	}
}
