package model

import (
	"fmt"
	"runtime"
	"strings"
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
		{"two stats sockets", "    stats socket /tmp/s.sock\n    stats socket /tmp/t.sock", "http", "", "", 4026},
		{"stats timeout alone", "    stats timeout 10s", "http", "", "", 4024},
		{"stats maxconn", "    stats maxconn 20\n    stats socket /tmp/s.sock", "http", "", "", 4035},
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

// Without a maxconn haproxy 2.6 derives it from the FD limit; these are
// the Maxconn values its "show info" gives under prlimit for this
// configuration (one bind, one stats socket, two threads).
func TestIdealMaxconnAsHAProxy(t *testing.T) {
	const base = `
global
    nbthread 2
    stats socket /tmp/x.sock level admin
defaults
    mode http
%s
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:18001
    default_backend be
backend be
    server s1 127.0.0.1:18002
`
	for _, tc := range []struct {
		defaults string
		fdLimit  int
		want     int
	}{
		{"", 20000, 9986},
		{"", 1024, 498},
		{"", 4096, 2034},
		{"", 100, 100}, // never below DEFAULT_MAXCONN
		{"    option splice-auto", 1024, 398},
		{"    option splice-auto", 4096, 1627},
		{"    maxpipes 100", 1024, 498}, // haproxy then wants 1224 FDs
	} {
		text := fmt.Sprintf(base, tc.defaults)
		if tc.defaults == "    maxpipes 100" {
			text = strings.Replace(fmt.Sprintf(base, ""), "    nbthread 2", "    nbthread 2\n    maxpipes 100", 1)
		}
		cfg := buildText(t, text)
		if got := cfg.IdealMaxconn(tc.fdLimit); got != tc.want {
			t.Errorf("%q under %d FDs: maxconn %d, haproxy %d", tc.defaults, tc.fdLimit, got, tc.want)
		}
	}
}
