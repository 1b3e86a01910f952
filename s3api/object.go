package s3api

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/worker"
)

// overrides are GetObject's response-content-* parameters and the headers
// they set.
var overrides = [][2]string{
	{"response-content-type", "Content-Type"},
	{"response-content-language", "Content-Language"},
	{"response-expires", "Expires"},
	{"response-cache-control", "Cache-Control"},
	{"response-content-disposition", "Content-Disposition"},
	{"response-content-encoding", "Content-Encoding"},
}

// getObject answers GetObject and HeadObject: from this worker's cache
// when it owns the key (or no other worker can be named), else from the
// owner's cache through its data API, or a 307 to it with Redirect.
func (s *Server) getObject(rw http.ResponseWriter, r *http.Request, req request) {
	p := "/" + req.bucket + "/" + req.key
	if apath.Validate(p) != nil {
		writeError(rw, r, errorf("InvalidArgument", "the key has an empty, \".\" or \"..\" path element: it names no file here"))
		return
	}
	if !s.checkBucket(rw, r, req.bucket) {
		return
	}
	q := r.URL.Query()
	for _, o := range overrides {
		if v := q.Get(o[0]); v != "" {
			rw.Header().Set(o[1], v)
		}
	}
	ew := &errorWriter{ResponseWriter: rw, r: r}
	addr, self := s.cfg.Backend.Owner(p)
	switch {
	case self:
		if err := s.cfg.Backend.ServeFile(ew, r, p); err != nil {
			if errors.Is(err, worker.ErrUnavailable) {
				rw.Header().Set("Retry-After", "1")
			}
			writeError(rw, r, ufsError(err))
		}
	case s.cfg.Redirect:
		u := url.URL{Scheme: "http", Host: addr, Path: api.PathWorkerDataRoot + p}
		http.Redirect(rw, r, u.String(), http.StatusTemporaryRedirect)
	default:
		s.proxy(ew, r, addr, p)
	}
}

// proxied are the request headers passed to the owner, and the answer's
// headers passed back.
var (
	proxiedRequest = []string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"}
	proxiedAnswer  = []string{"Content-Length", "Content-Range", "ETag", "Last-Modified", "Accept-Ranges", "Content-Type", api.DataVersionHeader}
)

// proxy fetches the file from the owner's cache (its data API, local=true:
// served even if the owner's ring differs) and passes the answer on.
func (s *Server) proxy(rw http.ResponseWriter, r *http.Request, addr, p string) {
	u := url.URL{Scheme: "http", Host: addr, Path: api.PathWorkerDataRoot + p, RawQuery: "local=true"}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), nil)
	if err != nil {
		writeError(rw, r, errorf("InternalError", err.Error()))
		return
	}
	for _, h := range proxiedRequest {
		if v := r.Header.Values(h); len(v) > 0 {
			out.Header[h] = v
		}
	}
	resp, err := s.cfg.Client.Do(out)
	if err != nil {
		writeError(rw, r, errorf("ServiceUnavailable", "the worker that owns the key did not answer"))
		return
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		writeError(rw, r, errorf("NoSuchKey", "the specified key does not exist"))
		return
	case resp.StatusCode == http.StatusBadRequest:
		writeError(rw, r, errorf("InvalidArgument", "the owner refused the key"))
		return
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusForbidden:
		writeError(rw, r, errorf("ServiceUnavailable", "the worker that owns the key answered "+strconv.Itoa(resp.StatusCode)))
		return
	}
	h := rw.Header()
	for _, k := range proxiedAnswer {
		if v := resp.Header.Get(k); v != "" && !(k == "Content-Type" && h.Get(k) != "") {
			h.Set(k, v)
		}
	}
	rw.WriteHeader(resp.StatusCode)
	if r.Method != http.MethodHead {
		buf := proxyBufs.Get().(*[]byte)
		_, _ = io.CopyBuffer(rw, resp.Body, *buf)
		proxyBufs.Put(buf)
	}
}

// proxyBufs are the copy buffers of proxied answers: 256 KiB moves a 1 MiB
// object in 4 reads and writes instead of io.Copy's 32.
var proxyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// errorWriter turns the plain-text 412 and 416 answers of
// http.ServeContent (or of the owner) into S3's XML errors.
type errorWriter struct {
	http.ResponseWriter
	r       *http.Request
	swallow bool
}

func (w *errorWriter) WriteHeader(code int) {
	var e *Error
	switch code {
	case http.StatusPreconditionFailed:
		e = errorf("PreconditionFailed", "at least one of the preconditions you specified did not hold")
	case http.StatusRequestedRangeNotSatisfiable:
		e = errorf("InvalidRange", "the requested range is not satisfiable")
	}
	if e == nil {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.swallow = true
	cr := w.Header().Get("Content-Range")
	body, _ := xml.Marshal(errorBody{Code: e.Code, Message: e.Message, Resource: w.r.URL.Path, RequestID: w.Header().Get("X-Amz-Request-Id")})
	body = append([]byte(xml.Header), body...)
	h := w.Header()
	h.Del("X-Content-Type-Options")
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if cr != "" {
		h.Set("Content-Range", cr)
	}
	w.ResponseWriter.WriteHeader(code)
	if w.r.Method != http.MethodHead {
		_, _ = w.ResponseWriter.Write(body)
	}
}

func (w *errorWriter) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *errorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
