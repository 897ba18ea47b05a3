package stream

import (
	"fmt"
	"os"

	"dhproxy/internal/cache"
	"dhproxy/internal/logging"
	"dhproxy/internal/rules"
)

// "option checkcache": a response that a shared cache could keep along
// with its Set-Cookie is not forwarded, so that no cache hands one
// client's cookie to others.

// cacheableCookie tells whether checkcache blocks the response to a
// request with a safe method (cache.Cacheability), once the http-response
// rules ran: it sets a cookie and may be cached with it, unless the
// persistence cookie inserted with "nocache" marks it private.
func (s *httpSession) cacheableCookie(srv *Server, safe bool) bool {
	if !cache.SetsCookie(s.resp.Headers) {
		return false
	}
	// the server's status: haproxy judges it before http-response set-status
	if c, ck := cache.Cacheability(safe, s.resp.Status, s.resp.Headers); !c || !ck {
		return false
	}
	if pc := srv.backend.cookie; pc != nil && pc.nocache {
		if _, insert := s.cookieActions(srv); insert {
			return false
		}
	}
	return true
}

// blockCacheable answers in place of the response as an http-response
// deny does (closed server connection, "PH", denied response counters)
// and raises haproxy's alert. As haproxy 2.6 does, the page is the error
// page for the response's status, as set-status left it (its 200 "Service
// ready." page for a 200; the 500 one for a status without a page), and
// the log keeps that status, not 502 as its manual says.
func (s *httpSession) blockCacheable(sc *serverConn, srv *Server, keep, head bool) bool {
	st := s.Status() // as an http-response set-status left it
	page := st
	if _, _, ok := rules.DefaultError(st); !ok {
		page = 500
	}
	be := srv.backend
	if pc := be.cookie; pc != nil {
		// haproxy has dealt with the cookies when it blocks: the log
		// tells what it did (an insertion it does not send, say)
		ck, insert := s.cookieActions(srv)
		s.lg.cookie[1] = pc.responseFlag(s, srv, ck != nil, insert)
	}
	msg := "Blocking cacheable cookie in response from instance " + be.P.Name + ", server " + srv.Conf.Name + "."
	if be.alerts != nil {
		be.alerts.Send(logging.LevelAlert, []byte(msg))
	}
	if !s.fe.rt.cfg.Global.Quiet {
		fmt.Fprintf(os.Stderr, "%-11s(%d) : %s\n", "[ALERT]", os.Getpid(), msg)
	}
	r := &rules.Rule{Action: rules.Deny, Reply: rules.ErrorReply(page)}
	_, kept := s.answerResponseLogged(r, sc, keep, head, st)
	return kept
}

// openAlertLogs gives the backends with checkcache their log targets, as
// haproxy sends its alerts to the backend's: a listen section's are its
// frontend's.
func (rt *Runtime) openAlertLogs() []error {
	var errs []error
	for _, be := range rt.backends {
		if !be.checkCache || len(be.P.Logs) == 0 {
			continue
		}
		for _, fe := range rt.frontends {
			if fe.P == be.P {
				be.alerts = fe.logger
			}
		}
		if be.alerts != nil {
			continue
		}
		l, err := logging.New(rt.cfg.Global.Logs, be.P.Logs, be.P.SyslogTag(&rt.cfg.Global), logHostname(&rt.cfg.Global))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		be.alerts = l
		rt.alertLogs = append(rt.alertLogs, l)
	}
	return errs
}
