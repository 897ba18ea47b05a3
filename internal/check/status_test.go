package check

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"dhproxy/internal/model"
)

func TestAppendReason(t *testing.T) {
	cases := []struct {
		r    Result
		want string
	}{
		{Result{Status: StatusL4OK}, ", reason: Layer4 check passed, check duration: 0ms"},
		{Result{Status: StatusL4CON, Info: "Connection refused", Duration: 1500 * time.Microsecond},
			`, reason: Layer4 connection problem, info: "Connection refused", check duration: 1ms`},
		{Result{Status: StatusL7OK, Code: 200, Duration: 3 * time.Millisecond}, ", reason: Layer7 check passed, code: 200, check duration: 3ms"},
		{Result{Status: StatusL7STS, Code: 500, Info: "Internal Server Error"},
			`, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: 0ms`},
		{Result{Status: StatusL7TOUT, Duration: 701 * time.Millisecond}, ", reason: Layer7 timeout, check duration: 701ms"},
		// A reason phrase cannot break out of the quotes or the line.
		{Result{Status: StatusL7STS, Code: 599, Info: "a\"b<c>\x01é"},
			`, reason: Layer7 wrong status, code: 599, info: "a<22>b<3C>c<3E><01><C3><A9>", check duration: 0ms`},
		{Result{Status: StatusL7STS, Code: 500, Info: strings.Repeat("x", 200)},
			`, reason: Layer7 wrong status, code: 500, info: "` + strings.Repeat("x", 127) + `", check duration: 0ms`},
	}
	for _, c := range cases {
		var b strings.Builder
		c.r.appendReason(&b)
		if b.String() != c.want {
			t.Errorf("%+v:\ngot  %s\nwant %s", c.r, b.String(), c.want)
		}
	}
}

func TestStatusNames(t *testing.T) {
	if StatusL4CON.String() != "L4CON" || StatusL7STS.String() != "L7STS" || Status(200).String() != "UNK" {
		t.Error("status names")
	}
	if !StatusL7OK.Passed() || StatusL7STS.Passed() || !StatusL4OK.Passed() {
		t.Error("passed")
	}
}

func TestErrnoText(t *testing.T) {
	cases := map[error]string{
		syscall.ECONNREFUSED:                         "Connection refused",
		fmt.Errorf("dial: %w", syscall.EHOSTUNREACH): "No route to host",
		syscall.ECONNRESET:                           "Connection reset by peer",
		errors.New("no errno"):                       "",
		syscall.Errno(0):                             "",
		syscall.EADDRNOTAVAIL:                        "Cannot assign requested address",
		syscall.ENETUNREACH:                          "Network is unreachable",
	}
	for err, want := range cases {
		if got := errnoText(err); got != want {
			t.Errorf("%v: %q, want %q", err, got, want)
		}
	}
}

func TestStderr(t *testing.T) {
	cases := []struct{ level, msg, tag, text string }{
		{"emerg", "backend be has no server available!", "ALERT", "backend 'be' has no server available!"},
		{"emerg", "proxy l has no server available!", "ALERT", "proxy 'l' has no server available!"},
		{"alert", "Server be/s is DOWN. 0 active and 0 backup servers left.", "WARNING", "Server be/s is DOWN. 0 active and 0 backup servers left."},
		{"notice", "Server be/s is UP.", "WARNING", "Server be/s is UP."},
		{"crit", "backend 'be': server 's' has neither service port nor check port.", "ALERT", "backend 'be': server 's' has neither service port nor check port."},
	}
	for _, c := range cases {
		if tag, text := Stderr(c.level, c.msg); tag != c.tag || text != c.text {
			t.Errorf("%s %q: %s %q, want %s %q", c.level, c.msg, tag, text, c.tag, c.text)
		}
	}
}

func TestAddr(t *testing.T) {
	be := &model.Proxy{Name: "be", Cap: model.CapBE}
	cases := []struct {
		addr, opt string
		port      int
		want, err string
	}{
		{"10.0.0.1:80", "", 0, "10.0.0.1:80", ""},
		{"10.0.0.1:80", "", 8080, "10.0.0.1:8080", ""},
		{"10.0.0.1:80", "10.0.0.2", 0, "10.0.0.2:80", ""},
		{"10.0.0.1:80", "10.0.0.2:81", 0, "10.0.0.2:81", ""},
		{"10.0.0.1:80", "10.0.0.2:81", 82, "10.0.0.2:82", ""},
		{"[::1]:80", "", 0, "[::1]:80", ""},
		{"10.0.0.1:80", "::1", 0, "[::1]:80", ""},
		{"10.0.0.1:80", "ipv6@[::2]:9", 0, "[::2]:9", ""},
		{"10.0.0.1:0", "", 0, "", "backend 'be': server 's' has neither service port nor check port."},
		{"10.0.0.1:0", "", 9000, "10.0.0.1:9000", ""},
		{"10.0.0.1:0", "10.0.0.3:7", 0, "10.0.0.3:7", ""},
		// a UNIX socket: its port changes nothing, "addr" may name an IP
		// address (then with a port) or another socket
		{"/run/a.sock", "", 0, "unix@/run/a.sock", ""},
		{"/run/a.sock:80", "", 8080, "unix@/run/a.sock:80", ""},
		{"/run/a.sock", "10.0.0.2", 0, "", "backend 'be': server 's' has neither service port nor check port."},
		{"/run/a.sock", "10.0.0.2", 81, "10.0.0.2:81", ""},
		{"/run/a.sock", "/run/b.sock", 81, "unix@/run/b.sock", ""},
		{"10.0.0.1:80", "abns@b", 0, "unix@@b" + strings.Repeat("\x00", 106), ""},
	}
	for _, c := range cases {
		s := &model.Server{Name: "s", Addr: c.addr, Port: c.port, Unix: strings.HasPrefix(c.addr, "/")}
		if c.opt != "" {
			s.Options = map[string]string{"addr": c.opt}
		}
		got, err := Addr(be, s)
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) {
			t.Errorf("%s addr=%q port=%d: %q, %v; want %q, %q", c.addr, c.opt, c.port, got, err, c.want, c.err)
		}
	}
}
