package worker

import (
	"net/http"
	"strings"

	"github.com/alluvium/alluvium/internal/jsonhttp"
)

// unknownRoutes is the catch-all of the worker's API under prefix: the mux
// prefers every more specific pattern, so it receives only the requests no
// route takes, and answers them as the coordinators' API does, with the
// JSON error body: 405 with Allow when the path is served with other
// methods, 404 otherwise.
func unknownRoutes(mux *http.ServeMux, prefix string) http.Handler {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions}
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range methods {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != prefix {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			rw.Header().Set("Allow", strings.Join(allow, ", "))
			jsonhttp.WriteError(rw, http.StatusMethodNotAllowed, r.URL.Path+" does not take "+r.Method+"; it takes "+strings.Join(allow, ", "))
			return
		}
		jsonhttp.WriteError(rw, http.StatusNotFound, "no such route on a worker: "+r.Method+" "+r.URL.Path)
	})
}
