package cli

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		args []string
		want Options
	}{
		{[]string{"-f", "a.cfg", "-fb.cfg", "-c"}, Options{Files: []string{"a.cfg", "b.cfg"}, Check: true}},
		{[]string{"-db", "-f", "x", "-p", "/tmp/p", "-q"}, Options{Files: []string{"x"}, Foreground: true, Pidfile: "/tmp/p", Quiet: true}},
		{[]string{"-d"}, Options{Foreground: true, Debug: true}},
		{[]string{"-vv"}, Options{Version: 2}},
		{[]string{"-v"}, Options{Version: 1}},
		{[]string{"-cc", "defined(X)"}, Options{CondExpr: "defined(X)", HasCond: true}},
		{[]string{"-L", "node1", "-D", "-n", "100"}, Options{LocalPeer: "node1", Daemon: true, Maxconn: 100}},
		{[]string{"-f", "a", "--", "b", "c"}, Options{Files: []string{"a", "b", "c"}}},
		{[]string{"-c", "-f", "h.cfg", "-K", "k.conf"}, Options{Files: []string{"h.cfg"}, Check: true, Keepalived: "k.conf"}},
		{[]string{"-f", "h.cfg", "--keepalived", "k.conf"}, Options{Files: []string{"h.cfg"}, Keepalived: "k.conf"}},
		{[]string{"-W", "-S", "/run/m.sock,mode,600", "-f", "h.cfg"}, Options{Files: []string{"h.cfg"}, MasterWorker: true, MasterSocket: "/run/m.sock,mode,600"}},
		{[]string{"-f", "h.cfg", "-sf", "12", "13", "-st", "14"}, Options{Files: []string{"h.cfg"}, SoftStop: []int{12, 13}, HardStop: []int{14}}},
		{[]string{"-f", "h.cfg", "-x", "/run/old.sock", "-sf", "12"}, Options{Files: []string{"h.cfg"}, SocketsFrom: "/run/old.sock", SoftStop: []int{12}}},
		{[]string{"-Ws", "-f", "h.cfg"}, Options{Files: []string{"h.cfg"}, MasterWorker: true, Systemd: true}},
		{[]string{"-K", "k.conf", "--config-id", "lb2"}, Options{Keepalived: "k.conf", ConfigID: "lb2"}},
	}
	for _, c := range cases {
		got, err := Parse(c.args)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if !reflect.DeepEqual(*got, c.want) {
			t.Errorf("%v: got %+v, want %+v", c.args, *got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, args := range [][]string{{"-f"}, {"-p"}, {"-cc"}, {"-zz"}, {"-n", "x"}, {"-K"}, {"-S"}, {"--config-id"}, {"--config-id", ""}} {
		if _, err := Parse(args); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if _, err := Parse([]string{"-sf", "12", "x.cfg"}); err == nil {
		t.Errorf("-sf with a file name: no error")
	}
	if _, err := Parse([]string{"-x"}); err == nil {
		t.Errorf("-x without a path: no error")
	}
}

func TestParseVRRP(t *testing.T) {
	cases := []struct {
		args []string
		want VRRPOptions
	}{
		{nil, VRRPOptions{File: "/etc/keepalived/keepalived.conf"}},
		{[]string{"-n", "-l", "-D", "--vrrp", "-f", "k.conf", "-p", "/run/k.pid", "-r", "/run/v.pid"}, VRRPOptions{File: "k.conf", Pidfile: "/run/k.pid"}},
		{[]string{"-fk.conf", "-t"}, VRRPOptions{File: "k.conf", Check: true}},
		{[]string{"--use-file=k.conf", "--pid=/p", "-S", "7"}, VRRPOptions{File: "k.conf", Pidfile: "/p"}},
		{[]string{"-i", "high"}, VRRPOptions{File: "/etc/keepalived/keepalived.conf", ConfigID: "high"}},
		{[]string{"-ilow", "--config-id=b"}, VRRPOptions{File: "/etc/keepalived/keepalived.conf", ConfigID: "b"}},
	}
	for _, c := range cases {
		got, err := ParseVRRP(c.args)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if *got != c.want {
			t.Errorf("%v: got %+v, want %+v", c.args, *got, c.want)
		}
	}
	for _, args := range [][]string{{"-f"}, {"--bogus"}, {"-p"}, {"-h"}, {"-i"}, {"--config-id="}} {
		if _, err := ParseVRRP(args); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
