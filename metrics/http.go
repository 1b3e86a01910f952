package metrics

import (
	"github.com/alluvium/alluvium/internal/jsonhttp"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTP times a node's HTTP requests by method, route and status code, and
// on coordinators counts the requests passed to the leader. It implements
// httpapi.Metrics.
type HTTP struct {
	requests  *prometheus.HistogramVec
	forwarded *prometheus.CounterVec // nil on workers: they forward nothing
}

func newHTTP(reg prometheus.Registerer, forwarding bool) (*HTTP, error) {
	m := &HTTP{requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "alluvium_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by method, route (the router's pattern) and status code.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route", "code"})}
	if err := reg.Register(m.requests); err != nil {
		return nil, err
	}
	if forwarding {
		m.forwarded = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alluvium_http_forwarded_requests_total",
			Help: "Requests this coordinator passed to the leader, by method, route and mode (forward: proxied; redirect: answered 307).",
		}, []string{"method", "route", "mode"})
		if err := reg.Register(m.forwarded); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Route wraps the handler of one route, registered for method and pattern.
func (m *HTTP) Route(method, pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &jsonhttp.StatusWriter{ResponseWriter: w}
		start := time.Now()
		h.ServeHTTP(sw, r)
		m.observe(method, pattern, sw, start)
	})
}

// Forwarded counts a request of the route passed to the leader.
func (m *HTTP) Forwarded(method, pattern string, redirected bool) {
	if m.forwarded == nil {
		return
	}
	mode := "forward"
	if redirected {
		mode = "redirect"
	}
	m.forwarded.WithLabelValues(method, pattern, mode).Inc()
}

// Middleware times every request h answers, for an h that is (or ends in)
// a net/http ServeMux: the mux records the pattern it matched in the
// request (Request.Pattern), which is read once the request is served.
// Requests that match no pattern are labelled route="unmatched".
func (m *HTTP) Middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &jsonhttp.StatusWriter{ResponseWriter: w}
		start := time.Now()
		h.ServeHTTP(sw, r)
		route := r.Pattern
		if i := strings.IndexByte(route, ' '); i >= 0 {
			route = route[i+1:] // "GET /api/v1/data/" -> "/api/v1/data/"
		}
		if route == "" {
			route = "unmatched"
		}
		m.observe(method(r.Method), route, sw, start)
	})
}

func (m *HTTP) observe(method, route string, sw *jsonhttp.StatusWriter, start time.Time) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(sw.Code())).Observe(time.Since(start).Seconds())
}

// method bounds the method label to the standard methods.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}
