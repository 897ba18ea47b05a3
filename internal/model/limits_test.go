package model

import (
	"fmt"
	"runtime"
	"testing"
)

// The descriptor budget follows haproxy 2.6, whose startup refusals give
// these numbers (nbthread 1, "Cannot raise FD limit to N").
func TestMaxSockAsHAProxy(t *testing.T) {
	const base = `
global
    maxconn 2000
    nbthread 1
%s
defaults
    mode %s
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:18001%s
    default_backend be
backend be
    server s1 127.0.0.1:18002%s
`
	for _, tc := range []struct {
		name                    string
		global, mode, bind, srv string
		want                    int
	}{
		{"http", "", "http", "", "", 4014},
		{"tcp", "", "tcp", "", "", 4014},
		{"splice-auto: maxconn/4 pipes", "", "tcp\n    option splice-auto", "", "", 5014},
		{"maxpipes", "    maxpipes 7", "tcp", "", "", 4028},
		{"port range", "", "http", "-18005", "", 4018},
		{"comma list", "", "http", ",127.0.0.1:18004", "", 4015},
		{"check", "", "http", "", " check", 4015},
		{"agent", "", "http", "", " agent-check agent-port 18009", 4016},
		{"check and agent", "", "http", "", " check agent-check agent-port 18009", 4017},
		{"stats socket", "    stats socket /tmp/s.sock", "http", "", "", 4025},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := buildText(t, fmt.Sprintf(base, tc.global, tc.mode, tc.bind, tc.srv))
			if got := cfg.MaxSock(cfg.HAProxyPipes()); got != tc.want {
				t.Errorf("MaxSock = %d, want %d", got, tc.want)
			}
		})
	}
}

// Without nbthread, HAProxy runs a thread per CPU, each with a poller and
// a wake-up pipe.
func TestMaxSockThreadPerCPU(t *testing.T) {
	cfg := buildText(t, "global\n maxconn 100\nlisten l\n mode http\n bind :1\n")
	if got, want := cfg.MaxSock(0), 10+1+200+3*runtime.NumCPU(); got != want {
		t.Errorf("MaxSock = %d, want %d", got, want)
	}
}

// dhproxy's pool counts the mode tcp proxies, which it always splices.
func TestMaxPipes(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int
	}{
		// A frontend limit is counted, but the backend's sessions bound
		// by the global maxconn weigh more.
		{"global\n maxconn 2000\nlisten l\n mode tcp\n maxconn 400\n bind :1\n server s 127.0.0.1:2\n", 500},
		{"global\n maxconn 2000\nfrontend f\n mode tcp\n maxconn 400\n bind :1\n", 100},
		{"global\n maxconn 2000\nlisten l\n mode http\n bind :1\n server s 127.0.0.1:2\n", 0},
		{"global\n maxconn 2000\n maxpipes 9\nlisten l\n mode http\n bind :1\n", 9},
		// No global maxconn: half the descriptor limit stands for it.
		{"listen l\n mode tcp\n bind :1\n server s 127.0.0.1:2\n", 128},
	} {
		if got := buildText(t, tc.text).MaxPipes(1024); got != tc.want {
			t.Errorf("%q: MaxPipes = %d, want %d", tc.text, got, tc.want)
		}
	}
}
