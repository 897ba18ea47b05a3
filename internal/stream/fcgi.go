package stream

import (
	"time"

	"dhproxy/internal/fcgi"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// fcgiBackend is a backend's "use-fcgi-app": what its "proto fcgi"
// servers' connections apply (internal/fcgi speaks the protocol) and the
// log targets of the application's FCGI_STDERR ("log-stderr").
type fcgiBackend struct {
	conf     *model.FcgiApp
	app      fcgi.App
	stderr   *logging.Logger
	stderrFn func(msg []byte) // sends to the log-stderr targets, nil without
}

func newFcgiBackend(a *model.FcgiApp) *fcgiBackend {
	fb := &fcgiBackend{conf: a, app: fcgi.App{DocRoot: a.DocRoot, Index: a.Index, KeepConn: a.KeepConn, GetValues: a.GetValues, Reason: rules.Reason, Now: time.Now}}
	if a.PathInfo != nil { // a nil *sample.Regex would make a non-nil Matcher
		fb.app.PathInfo = a.PathInfo
	}
	return fb
}

// openFcgiLogs opens the log-stderr targets of the backends' applications.
func (rt *Runtime) openFcgiLogs() []error {
	var errs []error
	for _, be := range rt.backends {
		fb := be.fcgi
		if fb == nil || len(fb.conf.LogStderr) == 0 {
			continue
		}
		// haproxy tags these lines with the application's name
		l, err := logging.New(rt.cfg.Global.Logs, fb.conf.LogStderr, fb.conf.Name, logHostname(&rt.cfg.Global))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fb.stderr = l
		fb.stderrFn = func(msg []byte) { l.Send(logging.LevelErr, msg) }
		rt.alertLogs = append(rt.alertLogs, l)
	}
	return errs
}

// fcgiRequest fills what the next request on fc needs beyond its head:
// the client's addresses, the set-param values and the headers hidden, the
// rules evaluated now as haproxy evaluates them on the request's headers.
func (s *httpSession) fcgiRequest(fc *fcgi.Conn, be *Backend) {
	fb := be.fcgi
	r := &fc.Req
	r.Remote, r.Local = s.Src(), s.Dst()
	r.HTTPS = s.tlsInfo != nil
	r.Proto = ""
	if s.h2 {
		r.Proto = "HTTP/2.0"
	}
	r.Params, r.Hidden = r.Params[:0], r.Hidden[:0]
	const phase = sample.PhaseReq | sample.PhaseContent
	for i := range fb.conf.Rules {
		rule := &fb.conf.Rules[i]
		if rule.Cond != nil && !rule.Cond.MatchIn(s, &s.tx.ACL, phase) {
			continue
		}
		if rule.Value != nil {
			// a kept connection's earlier values lend their buffers
			var buf []byte
			if n := len(r.Params); n < cap(r.Params) {
				buf = r.Params[:n+1][n].Value[:0]
			}
			r.Params = append(r.Params, fcgi.Param{Name: rule.Name, Value: rule.Value.Append(s, &s.tx.V, buf)})
			continue
		}
		// the last rule that applies to a header decides
		kept := r.Hidden[:0]
		for _, h := range r.Hidden {
			if h != rule.Name {
				kept = append(kept, h)
			}
		}
		r.Hidden = kept
		if !rule.Pass {
			r.Hidden = append(r.Hidden, rule.Name)
		}
	}
	r.Stderr = fb.stderrFn
}
