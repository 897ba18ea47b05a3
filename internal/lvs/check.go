package lvs

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/scriptuser"
)

// checker runs one checker block (TCP_CHECK, HTTP_GET, SMTP_CHECK...) of a real server with
// keepalived's retry rules: a failure is retried `retry` times, each after
// delay_before_retry, before the checker goes down; one success brings it
// up; checks repeat every delay_loop.
type checker struct {
	conf   *keepalived.Check
	target netip.AddrPort // where the probe connects
	name   string         // [10.0.0.2]:tcp:80, as in keepalived's logs
	rsAddr netip.Addr
	every  time.Duration      // delay_loop
	vhost  string             // Host header of HTTP_GET (the real or virtual server's virtualhost)
	as     scriptuser.Account // who runs misc_path
	note   func(string)       // logs a failed attempt under log_all_failures
	regex  []*regexp.Regexp   // each url's compiled regex, nil = none
	vs     string             // the virtual server's name, for keepalived's lines that give it

	pingID, pingSeq int // PING_CHECK's echo identifier (raw sockets) and sequence

	// suspended: ha_suspend and the virtual server's address is not on
	// this host; the checker skips its rounds and keeps its state.
	suspended atomic.Bool

	file      *keepalived.TrackFile // FILE_CHECK's track_file
	fileVal   int                   // the number it held at the last read
	fileDelta int                   // what it adds to the real server's weight

	up      bool
	hasRun  bool
	retryIt int
	last    result        // the latest probe, for the statistics
	lastDur time.Duration // how long it took
}

// result is one probe's outcome.
type result struct {
	ok     bool
	weight int    // misc_dynamic weight, -1 = unchanged
	detail string // why it failed, for the log
	status string // in HAProxy's check_status words: L4OK, L4CON, L7STS, PROCERR...
	code   int    // HTTP status or script exit code, 0 = none
	err    error  // the connection's error, for the statistics' short reason
	// attempt is keepalived's line for this failed attempt, logged with
	// log_all_failures ("" = none).
	attempt string
}

func newChecker(c *keepalived.Check, rs *Real, proto string, every time.Duration, alpha bool) *checker {
	ip := c.ConnectIP
	if !ip.IsValid() {
		ip = rs.Addr.Addr()
	}
	port := c.ConnectPort
	if port == 0 {
		port = rs.Addr.Port()
	}
	ck := &checker{
		conf:   c,
		target: netip.AddrPortFrom(ip, port),
		name:   Trio(ip, proto, port),
		rsAddr: rs.Addr.Addr(),
		every:  every,
		up:     !alpha,
		pingID: newPingID(),
	}
	for _, u := range c.URLs {
		var re *regexp.Regexp
		if u.Regex != "" {
			// The parser has compiled it already; an error cannot happen here.
			re, _ = keepalived.CompileRegex(u.Regex, u.RegexOptions)
		}
		ck.regex = append(ck.regex, re)
	}
	return ck
}

// transition is what a checker reports when its state changes.
type transition struct {
	up     bool
	weight int    // -1 = unchanged
	log    string // keepalived's log line
	alert  string // keepalived's e-mail body line
	// reweigh: the real server's weight is its configured one plus what
	// its FILE_CHECKs add.
	reweigh bool
}

// step runs one probe and returns the delay before the next one, and a
// transition when the checker changed state (or reported its first state).
func (c *checker) step(ctx context.Context) (time.Duration, *transition) {
	if c.conf.Kind == "FILE_CHECK" {
		return c.fileStep()
	}
	start := time.Now()
	r := c.probe(ctx)
	c.last, c.lastDur = r, time.Since(start)
	if r.ok && r.weight >= 0 && c.up && c.hasRun {
		// misc_dynamic changes the weight of a server that stays up.
		return c.every, &transition{up: true, weight: r.weight}
	}
	// MISC_CHECK retries only while up; the others always do.
	retried := !r.ok && c.retryIt < c.conf.Retry && (c.conf.Kind != "MISC_CHECK" || c.up || !c.hasRun)
	if !r.ok && c.conf.LogAllFailures && (c.up || !c.hasRun) && c.note != nil && r.attempt != "" {
		// SMTP_CHECK and DNS_CHECK log their final failure as the
		// state change itself.
		if retried || c.conf.Kind != "SMTP_CHECK" && c.conf.Kind != "DNS_CHECK" {
			c.note(r.attempt)
		}
	}
	if retried {
		c.retryIt++
		return c.conf.DelayBeforeRetry, nil
	}
	c.retryIt = 0
	var t *transition
	switch {
	case r.ok && (!c.up || !c.hasRun):
		t = &transition{up: true, weight: r.weight, log: c.successLine(), alert: c.alertLine(true, "")}
	case !r.ok && (c.up || !c.hasRun):
		t = &transition{up: false, weight: -1, log: c.failLine(r.detail), alert: c.alertLine(false, r.detail)}
	}
	if t != nil {
		c.up = t.up
	}
	c.hasRun = true
	return c.every, t
}

func (c *checker) successLine() string {
	switch c.conf.Kind {
	case "HTTP_GET", "SSL_GET":
		u := c.conf.URLs[len(c.conf.URLs)-1]
		what := "HTTP status code"
		switch {
		case u.Regex != "":
			what = "Regex match"
		case u.Digest != "":
			what = "MD5 digest"
		}
		return fmt.Sprintf("%s success to %s url(%s)", what, c.name, u.Path)
	case "MISC_CHECK":
		return fmt.Sprintf("Misc check to [%s] for [%s] succeeded.", c.rsAddr, c.miscArgs()[0])
	case "SMTP_CHECK":
		return fmt.Sprintf("Remote SMTP server %s succeed on service.", c.name)
	case "DNS_CHECK":
		return "" // keepalived logs only the real server's change
	case "UDP_CHECK":
		return fmt.Sprintf("UDP connection to %s success.", c.name)
	case "PING_CHECK":
		return fmt.Sprintf("ICMP connection to %s success.", c.name)
	}
	return fmt.Sprintf("TCP connection to %s success.", c.name)
}

func (c *checker) failLine(detail string) string {
	switch c.conf.Kind {
	case "MISC_CHECK":
		return fmt.Sprintf("Misc check to [%s] for [%s] %s.", c.rsAddr, c.miscArgs()[0], detail)
	case "HTTP_GET", "SSL_GET":
		if c.conf.Retry > 0 && c.hasRun {
			return fmt.Sprintf("HTTP_CHECK on service %s failed after %d retries.", c.name, c.conf.Retry)
		}
		return fmt.Sprintf("HTTP_CHECK on service %s failed.", c.name)
	case "SMTP_CHECK":
		return "SMTP_CHECK " + detail
	case "DNS_CHECK":
		// keepalived marks the first round as run once it has retried.
		if c.hasRun || c.conf.Retry > 0 {
			return fmt.Sprintf("DNS_CHECK (%s) %s after %d retries", c.name, detail, c.conf.Retry)
		}
		return fmt.Sprintf("DNS_CHECK (%s) %s", c.name, detail)
	case "PING_CHECK":
		if c.conf.Retry > 0 && c.hasRun {
			return fmt.Sprintf("ICMP CHECK on service %s of %s failed after %d retries.", c.name, c.vs, c.conf.Retry)
		}
		return fmt.Sprintf("ICMP CHECK on service %s failed.", c.name)
	}
	kind := "TCP_CHECK"
	if c.conf.Kind == "UDP_CHECK" {
		kind = "UDP_CHECK"
	}
	if c.conf.Retry > 0 && c.hasRun {
		return fmt.Sprintf("%s on service %s failed after %d retries.", kind, c.name, c.conf.Retry)
	}
	return fmt.Sprintf("%s on service %s failed.", kind, c.name)
}

// alertLine is the body keepalived's checkers put in their e-mails.
func (c *checker) alertLine(up bool, detail string) string {
	switch c.conf.Kind {
	case "HTTP_GET", "SSL_GET":
		if up {
			return "=> CHECK succeed on service <="
		}
		return "=> CHECK failed on service : HTTP request failed <="
	case "MISC_CHECK":
		if up {
			return "=> MISC CHECK succeeded on service <="
		}
		if strings.HasPrefix(detail, "timed out") {
			return "=> MISC CHECK timed out on service <="
		}
		return "=> MISC CHECK failed on service <="
	case "SMTP_CHECK":
		if up {
			return "=> CHECK succeed on service <="
		}
		return "=> CHECK failed on service : " + detail + " <="
	case "DNS_CHECK":
		if up {
			return "=> DNS_CHECK: succeed on service <="
		}
		return "=> DNS_CHECK: failed on service <="
	case "UDP_CHECK":
		if up {
			return "=> UDP CHECK succeed on service <="
		}
		return "=> UDP CHECK failed on service <="
	case "PING_CHECK":
		if up {
			return "=> ICMP CHECK succeed on service <="
		}
		return "=> ICMP CHECK failed on service <="
	}
	if up {
		return "=> TCP CHECK succeed on service <="
	}
	return "=> TCP CHECK failed on service <="
}

func (c *checker) probe(ctx context.Context) result {
	switch c.conf.Kind {
	case "TCP_CHECK":
		return c.probeTCP(ctx)
	case "HTTP_GET", "SSL_GET":
		return c.probeHTTP(ctx)
	case "MISC_CHECK":
		return c.probeMisc(ctx)
	case "SMTP_CHECK":
		return c.probeSMTP(ctx)
	case "DNS_CHECK":
		return c.probeDNS(ctx)
	case "UDP_CHECK":
		return c.probeUDP(ctx)
	case "PING_CHECK":
		return c.probePing(ctx)
	}
	return result{ok: false, weight: -1, detail: "unknown checker " + c.conf.Kind, status: "UNK"}
}

func (c *checker) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.conf.ConnectTimeout)
	defer cancel()
	d := c.dialer("tcp")
	return d.DialContext(ctx, "tcp", c.target.String())
}

// dialer applies bindto, bind_port and bind_if to the probe's socket.
func (c *checker) dialer(network string) *net.Dialer {
	d := &net.Dialer{}
	if c.conf.BindTo.IsValid() || c.conf.BindPort != 0 {
		src := netip.AddrPortFrom(c.conf.BindTo, c.conf.BindPort)
		if !c.conf.BindTo.IsValid() {
			// A source port alone: the unspecified address of the target's family.
			src = netip.AddrPortFrom(netip.IPv4Unspecified(), c.conf.BindPort)
			if c.target.Addr().Is6() {
				src = netip.AddrPortFrom(netip.IPv6Unspecified(), c.conf.BindPort)
			}
		}
		if network == "udp" {
			d.LocalAddr = net.UDPAddrFromAddrPort(src)
		} else {
			d.LocalAddr = net.TCPAddrFromAddrPort(src)
		}
	}
	if c.conf.BindIf != "" || c.conf.FWMark != 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = probeSockopts(int(fd), c.conf)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	return d
}

// probeSockopts applies bind_if (SO_BINDTODEVICE) and fwmark (SO_MARK,
// needs CAP_NET_ADMIN) to a probe's socket.
func probeSockopts(fd int, conf *keepalived.Check) error {
	if dev := conf.BindIf; dev != "" {
		if err := unix.BindToDevice(fd, dev); err != nil {
			return fmt.Errorf("bind_if %s: %w", dev, err)
		}
	}
	if m := conf.FWMark; m != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(m)); err != nil {
			return fmt.Errorf("fwmark %d: %w", m, err)
		}
	}
	return nil
}

func (c *checker) probeTCP(ctx context.Context) result {
	conn, err := c.dial(ctx)
	if err != nil {
		return result{weight: -1, detail: err.Error(), status: l4Status(err), err: err,
			attempt: fmt.Sprintf("TCP connection to %s failed.", c.name)}
	}
	conn.Close()
	return result{ok: true, weight: -1, status: "L4OK"}
}

// l4Status names a failed connection as HAProxy's checks do.
func l4Status(err error) string {
	if ne, ok := err.(net.Error); ok && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "L4TOUT"
	}
	return "L4CON"
}

// l7Error is a failed HTTP_GET or SSL_GET once connected, with HAProxy's
// status for it (L6 for the TLS handshake).
type l7Error struct {
	status string
	code   int
	err    error
	phrase string // keepalived's words for the failed step ("HTTP status code error to")
}

func (e *l7Error) Error() string { return e.err.Error() }

// probeHTTP fetches every url in turn, as keepalived does, with an
// HTTP/1.0 GET, and compares the status code and the body's MD5.
func (c *checker) probeHTTP(ctx context.Context) result {
	code := 0
	for i, u := range c.conf.URLs {
		var err error
		if code, err = c.fetch(ctx, u, c.regex[i]); err != nil {
			r := result{weight: -1, detail: err.Error()}
			phrase := "Error connecting"
			if le, ok := err.(*l7Error); ok {
				r.status, r.code, phrase = le.status, le.code, le.phrase
			} else {
				r.status, r.err = l4Status(err), err
				if r.status == "L4TOUT" {
					phrase = "Timeout connecting"
				}
			}
			r.attempt = fmt.Sprintf("%s server %s.", phrase, c.name)
			return r
		}
	}
	return result{ok: true, weight: -1, status: "L7OK", code: code}
}

// fetch runs one url's GET and returns the status code. A failure once
// connected is an *l7Error.
func (c *checker) fetch(ctx context.Context, u keepalived.URL, re *regexp.Regexp) (int, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(c.conf.ConnectTimeout))
	host := c.target.String()
	if vh := firstOf(u.VirtualHost, c.conf.VirtualHost, c.vhost); vh != "" {
		host = vh
	}
	if c.conf.Kind == "SSL_GET" {
		// keepalived does not verify the real server's certificate.
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: c.sniName()})
		if err := tc.Handshake(); err != nil {
			st := "L6RSP"
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				st = "L6TOUT"
			}
			return 0, &l7Error{st, 0, fmt.Errorf("SSL handshake error to %s: %v", c.name, err), "SSL handshake/communication error connecting to"}
		}
		conn = tc
	}
	// keepalived's request: HTTP/1.1 and 1.0C add "Connection: close".
	version, connection := "1.0", ""
	switch c.conf.HTTPProtocol {
	case "1.1":
		version, connection = "1.1", "Connection: close\r\n"
	case "1.0C":
		connection = "Connection: close\r\n"
	}
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/%s\r\nUser-Agent: KeepAliveClient\r\n%sHost: %s\r\n\r\n", u.Path, version, connection, host); err != nil {
		return 0, &l7Error{"SOCKERR", 0, err, "Cannot send get request to"}
	}
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil {
		return 0, &l7Error{readStatus(err), 0, fmt.Errorf("read, no data received"), "Read, no data received from"}
	}
	f := strings.Fields(status)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return 0, &l7Error{"L7RSP", 0, fmt.Errorf("bad status line %q", strings.TrimSpace(status)), "HTTP status code error to"}
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, &l7Error{"L7RSP", 0, fmt.Errorf("bad status line %q", strings.TrimSpace(status)), "HTTP status code error to"}
	}
	length := int64(-1)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return code, &l7Error{readStatus(err), code, fmt.Errorf("read error in headers: %v", err), "Read error with"}
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				length = n
			}
		}
	}
	if len(u.StatusCodes) > 0 && !codeIn(code, u.StatusCodes) {
		return code, &l7Error{"L7STS", code, fmt.Errorf("HTTP status code error to %s url(%s), status_code [%d]", c.name, u.Path, code), "HTTP status code error to"}
	}
	if u.Digest == "" && re == nil {
		return code, nil
	}
	var body io.Reader = br
	if length >= 0 {
		body = io.LimitReader(br, length)
	}
	h := md5.New()
	// The regex sees the first regexWindow bytes of the body.
	var kept []byte
	if re != nil {
		kept = make([]byte, 0, 4096)
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		h.Write(buf[:n])
		if re != nil && len(kept) < regexWindow {
			kept = append(kept, buf[:min(n, regexWindow-len(kept))]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return code, &l7Error{readStatus(err), code, fmt.Errorf("read error with %s: %v", c.name, err), "Read error with"}
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); u.Digest != "" && got != u.Digest {
		return code, &l7Error{"L7RSP", code, fmt.Errorf("MD5 digest error to %s url(%s), digest %s", c.name, u.Path, got), "MD5 digest error to"}
	}
	if re != nil && regexFound(re, kept, u) == u.RegexNoMatch {
		what := "no match"
		if u.RegexNoMatch {
			what = "a match"
		}
		return code, &l7Error{"L7RSP", code, fmt.Errorf("Regex match failed to %s url(%s): %s for %q", c.name, u.Path, what, u.Regex), "Regex match failed"}
	}
	return code, nil
}

// regexWindow bounds the body kept for a url's regex.
const regexWindow = 1 << 20

// regexFound reports whether re matches body with a match starting
// between regex_min_offset and regex_max_offset.
func regexFound(re *regexp.Regexp, body []byte, u keepalived.URL) bool {
	for _, m := range re.FindAllIndex(body, -1) {
		if m[0] >= u.RegexMinOffset && (!u.RegexMaxSet || m[0] <= u.RegexMaxOffset) {
			return true
		}
		if u.RegexMaxSet && m[0] > u.RegexMaxOffset {
			return false
		}
	}
	return false
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// readStatus names a failed read of the answer: L7TOUT on a timeout.
func readStatus(err error) string {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return "L7TOUT"
	}
	return "L7RSP"
}

// sniName is the server name SSL_GET sends with enable_sni: sni_name, else
// the virtualhost; none without enable_sni.
func (c *checker) sniName() string {
	if !c.conf.EnableSNI {
		return ""
	}
	return firstOf(c.conf.SNIName, c.conf.VirtualHost, c.vhost)
}

func codeIn(code int, ranges [][2]int) bool {
	for _, r := range ranges {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}

func (c *checker) miscArgs() []string {
	args := splitCommand(c.conf.MiscPath)
	if len(args) == 0 {
		return []string{c.conf.MiscPath}
	}
	return args
}

// probeMisc runs misc_path: exit 0 is up, 1 down; with misc_dynamic 2..255
// is up with weight exit-2. The script is killed after misc_timeout.
func (c *checker) probeMisc(ctx context.Context) result {
	args := c.miscArgs()
	ctx, cancel := context.WithTimeout(ctx, c.conf.MiscTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.as.Apply(cmd)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return result{weight: -1, detail: "timed out", status: "PROCTOUT"}
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return result{ok: true, weight: -1, status: "PROCOK"}
	case errors.As(err, &ee) && ee.Exited():
		st := ee.ExitCode()
		if c.conf.MiscDynamic && st >= 2 {
			return result{ok: true, weight: st - 2, status: "PROCOK", code: st}
		}
		return result{weight: -1, detail: fmt.Sprintf("failed (exited with status %d)", st), status: "PROCERR", code: st}
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return result{weight: -1, detail: fmt.Sprintf("failed (due to signal %d)", ws.Signal()), status: "PROCERR"}
		}
	}
	return result{weight: -1, detail: "failed (" + err.Error() + ")", status: "PROCERR"}
}

// splitCommand splits a keepalived script string into words; double or
// single quotes group words, as keepalived's own splitter does.
func splitCommand(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				cur.WriteByte(ch)
			}
		case ch == '"' || ch == '\'':
			quote, in = ch, true
		case ch == ' ' || ch == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(ch)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}
