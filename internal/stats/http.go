package stats

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/http1"
	"dhproxy/internal/model"
	"dhproxy/internal/stream"
)

// defaultRealm is HAProxy's realm when "stats auth" comes without "stats realm".
const defaultRealm = "HAProxy Statistics"

// Serve answers a request for the stats page or the Prometheus exporter of
// frontend p: the stream.Service of the runtime.
func (src *Source) Serve(p *model.Proxy, sr *stream.ServiceRequest) ([]byte, int) {
	req := sr.Req
	uri := string(req.URI)
	path, query, _ := strings.Cut(uri, "?")
	if p.PrometheusPath != "" && path == p.PrometheusPath {
		return response(200, "text/plain; version=0.0.4", src.Prometheus(query), ""), 200
	}
	sp := p
	if (sp.Stats == nil || !sp.Stats.Enabled) && p.DefaultBE != nil {
		sp = p.DefaultBE
	}
	st := sp.Stats
	// haproxy serves the page from a stream of the stats proxy's backend,
	// which makes it the backend's last session (the page's "Last").
	for _, v := range src.RT.Proxies() {
		if v.P == sp && v.BE != nil {
			v.BE.Stats.Last.Store(time.Now().Unix())
		}
	}
	if st == nil || !st.Enabled {
		return response(503, "text/html", "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n", ""), 503
	}
	rule := ""
	if sr.Rule != nil {
		rule = sr.Rule.Action
	}
	switch {
	case rule == "deny":
		return response(403, "text/html", "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n", ""), 403
	case rule == "auth":
		return unauthorized(sr.Rule.Realm), 401
	case rule == "" && len(st.Auth) > 0 && !authorized(req, st.Auth):
		return unauthorized(st.Realm), 401
	}
	rest := strings.TrimPrefix(uri, stream.StatsURI(sp))
	opts := ParsePageOptions(rest)
	opts.Self = sp
	opts.Admin = sr.Admin
	if string(req.Method) == "POST" {
		return redirect(stream.StatsURI(sp), src.adminPost(sr), opts), 303
	}
	switch {
	case strings.Contains(rest, ";csv"):
		return response(200, "text/plain", src.CSV(src.pageFilter(sp, opts)), ""), 200
	case strings.Contains(rest, ";json"):
		return response(200, "application/json", src.JSON(src.pageFilter(sp, opts)), ""), 200
	case strings.Contains(rest, ";typed"):
		return response(200, "text/plain", src.Typed(src.pageFilter(sp, opts)), ""), 200
	}
	refresh := ""
	if st.Refresh > 0 && !opts.NoRefresh {
		refresh = "refresh: " + strconv.Itoa(int(st.Refresh/time.Second)) + "\r\n"
	}
	return response(200, "text/html", src.HTML(sp, opts), refresh), 200
}

// pageFilter keeps, for the exports of the page, the proxies its scope
// shows ("stats scope" and the scope box), as haproxy does.
func (src *Source) pageFilter(sp *model.Proxy, o PageOptions) Filter {
	f := All
	set := settingsOf(sp, &src.RT.Config().Global)
	if len(set.scopes) > 0 || o.Scope != "" {
		f.Keep = func(r *Row) bool { return set.inScope(r.PxName(), o) }
	}
	return f
}

// authorized checks the Basic credentials against the "stats auth" list.
func authorized(req *http1.Request, users []string) bool {
	for i := range req.Headers {
		h := &req.Headers[i]
		if !bytes.EqualFold(h.Name, []byte("authorization")) {
			continue
		}
		v, ok := bytes.CutPrefix(h.Value, []byte("Basic "))
		if !ok {
			return false
		}
		cred, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(v)))
		if err != nil {
			return false
		}
		for _, u := range users {
			if u == string(cred) {
				return true
			}
		}
		return false
	}
	return false
}

var reasons = map[int]string{200: "OK", 401: "Unauthorized", 503: "Service Unavailable"}

func response(status int, ctype, body, extra string) []byte {
	var b strings.Builder
	b.WriteString("HTTP/1.1 " + strconv.Itoa(status) + " " + reasons[status] + "\r\n")
	b.WriteString("content-length: " + strconv.Itoa(len(body)) + "\r\ncache-control: no-cache\r\ncontent-type: " + ctype + "\r\n")
	b.WriteString(extra)
	b.WriteString("\r\n")
	b.WriteString(body)
	return []byte(b.String())
}

// unauthorized asks for credentials in realm (haproxy's default realm when
// empty).
func unauthorized(realm string) []byte {
	if realm == "" {
		realm = defaultRealm
	}
	return response(401, "text/html", "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n",
		"www-authenticate: Basic realm=\""+realm+"\"\r\n")
}
