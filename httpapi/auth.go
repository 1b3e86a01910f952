package httpapi

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"github.com/alluvium/alluvium/internal/jsonhttp"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/alluvium/alluvium/api"
)

// Access is an authorization decision: Status 0 admits the request as
// Caller (a token's name); 401 or 403 refuse it, for Reason (which never
// holds the token).
type Access struct {
	Caller string
	Status int
	Reason string
}

// admit decides whether r may call method+route, and answers the refusal
// (audited) when not.
func (s *server) admit(w http.ResponseWriter, r *http.Request, method, route string) (string, bool) {
	a := s.access(r, method, route)
	if a.Status == 0 {
		return a.Caller, true
	}
	w.Header().Del("Allow") // which methods a path has is for clients with the token
	if a.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="alluvium"`)
	}
	var body []byte // the object of a refused write, for the audit line
	if s.opts.Audit != nil && isWrite(method) && r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, maxAuditBody))
	}
	s.audit(r, api.AuditEvent{Caller: a.Caller, Method: method, Route: route, Status: a.Status, Reason: a.Reason}, body)
	s.writeError(w, errorf(a.Status, "%s", a.Reason))
	return "", false
}

// access applies Options.Authorize, or the single AuthToken, or admits all.
func (s *server) access(r *http.Request, method, route string) Access {
	if s.opts.Authorize != nil {
		return s.opts.Authorize(r, method, route)
	}
	if s.opts.AuthToken == "" {
		return Access{}
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	// Compared in constant time, as hashes, so that not even the token's
	// length leaks.
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.opts.AuthToken))
	if !ok || subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return Access{Status: http.StatusUnauthorized, Reason: "missing or invalid bearer token"}
	}
	return Access{Caller: "auth-token"}
}

// isWrite reports whether a request of method changes something: what the
// audit log records.
func isWrite(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// audited returns w wrapped to record the status, and a func that writes
// the audit line of a write once it is answered (nothing when there is no
// audit log, the request reads, or it is a heartbeat: those come every
// second from every worker and change nothing but liveness).
func (s *server) audited(w http.ResponseWriter, r *http.Request, rt route, caller string) (http.ResponseWriter, func()) {
	if s.opts.Audit == nil || !isWrite(rt.method) || rt.path == api.PathWorkerHeartbeat {
		return w, func() {}
	}
	rec := &jsonhttp.StatusWriter{ResponseWriter: w}
	body := &headBuffer{r: r.Body}
	r.Body = body
	return rec, func() {
		s.audit(r, api.AuditEvent{Caller: caller, Method: rt.method, Route: rt.path, Status: rec.Code()}, body.buf.Bytes())
	}
}

// audit writes e, completed with the request's time, node, remote address
// and object.
func (s *server) audit(r *http.Request, e api.AuditEvent, body []byte) {
	if s.opts.Audit == nil {
		return
	}
	e.Time, e.Node, e.Remote = time.Now().UTC(), s.b.ID(), r.RemoteAddr
	e.Path, e.Job, e.Worker = objectOf(r, e.Route, body)
	s.opts.Audit(e)
}

// objectOf finds the object of a request in its query and JSON body: the
// path, the job (id or alias) and the worker id it names.
func objectOf(r *http.Request, route string, body []byte) (path, job, worker string) {
	var fields map[string]any
	if len(body) > 0 {
		_ = json.Unmarshal(body, &fields)
	}
	pick := func(keys ...string) string {
		for _, k := range keys {
			if v := r.URL.Query().Get(k); v != "" {
				return v
			}
			switch v := fields[k].(type) {
			case string:
				return v
			case []any:
				if len(v) > 0 {
					s, _ := v[0].(string)
					return s
				}
			}
		}
		return ""
	}
	path = pick("path", "paths")
	switch {
	case strings.Contains(route, "/workers") || strings.Contains(route, "/nodes"):
		worker = pick("id", "workerId", "worker")
	case !strings.Contains(route, "/coordinators"):
		job = pick("id", "jobId", "alias")
	}
	return path, job, worker
}

// maxAuditBody is how much of a body the audit looks at for its object.
const maxAuditBody = 64 << 10

// headBuffer keeps the first maxAuditBody bytes read from r.
type headBuffer struct {
	r   io.ReadCloser
	buf bytes.Buffer
}

func (h *headBuffer) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if room := maxAuditBody - h.buf.Len(); room > 0 {
		h.buf.Write(p[:min(n, room)])
	}
	return n, err
}

func (h *headBuffer) Close() error { return h.r.Close() }

// DefaultBodyTimeout is the bound of Options.BodyTimeout when 0.
const DefaultBodyTimeout = 30 * time.Second

// readBody reads a write's body whole (MaxBodyBytes bounds it) within
// BodyTimeout, then lifts the deadline so that the handler, and a long
// answer, are not cut.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody || !isWrite(r.Method) {
		return nil
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.opts.BodyTimeout))
	b, err := io.ReadAll(r.Body)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// Closing is the point: the server would otherwise wait for the
		// rest of the body before answering.
		w.Header().Set("Connection", "close")
		return errorf(http.StatusRequestTimeout, "the request body did not arrive within %s", s.opts.BodyTimeout)
	}
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return nil
}
