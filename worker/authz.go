package worker

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/jsonhttp"
)

// auth guards an internal route: with Config.Authorize, its decision;
// otherwise the cluster token, when one is set. The compare takes constant
// time so that the token cannot be guessed a byte at a time. Writes are
// audited (Config.Audit).
func (w *Worker) auth(route string, h http.HandlerFunc) http.Handler {
	return w.guard(route, h, true)
}

// scoped guards a read route of the data plane: open unless
// Config.Authorize is set (the cluster token never guarded reads).
func (w *Worker) scoped(route string, h http.HandlerFunc) http.Handler {
	return w.guard(route, h, false)
}

// Guard applies the worker's scoped tokens (Config.Authorize, when set) to
// a route served beside the worker's handler, such as /metrics.
func (w *Worker) Guard(route string, h http.Handler) http.Handler {
	return w.guard(route, h.ServeHTTP, false)
}

func (w *Worker) guard(route string, h http.HandlerFunc, internal bool) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		caller, status, reason := w.decide(r, route, internal)
		if status != 0 {
			rw.Header().Set("WWW-Authenticate", `Bearer realm="alluvium"`)
			w.audit(r, route, caller, status, reason)
			jsonhttp.WriteError(rw, status, reason)
			return
		}
		if w.cfg.Audit == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
			h(rw, r)
			return
		}
		rec := &jsonhttp.StatusWriter{ResponseWriter: rw}
		h(rec, r)
		w.audit(r, route, caller, rec.Code(), "")
	})
}

func (w *Worker) decide(r *http.Request, route string, internal bool) (caller string, status int, reason string) {
	if w.cfg.Authorize != nil {
		return w.cfg.Authorize(r, r.Method, route)
	}
	if !internal || w.cfg.Token == "" {
		return "", 0, ""
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(w.cfg.Token)) != 1 {
		return "", http.StatusUnauthorized, "a valid cluster token is required (Authorization: Bearer <token>)"
	}
	return "auth-token", 0, ""
}

// audit records a request of route (the worker's id is the node).
func (w *Worker) audit(r *http.Request, route, caller string, status int, reason string) {
	if w.cfg.Audit == nil {
		return
	}
	e := api.AuditEvent{Time: time.Now().UTC(), Node: w.id, Caller: caller, Remote: r.RemoteAddr,
		Method: r.Method, Route: route, Status: status, Reason: reason}
	if route == api.PathWorkerDataRoot || route == api.PathList {
		e.Path = strings.TrimPrefix(r.URL.Path, route)
	}
	w.cfg.Audit(e)
}
