package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// Router is what Register needs of a router: a way to bind a handler to a
// method and an exact path.
type Router interface {
	Handle(method, path string, h http.Handler)
}

// FallbackRouter is a Router that can also hand Register the requests under
// a path prefix that no route takes, so that the API answers them as it
// answers every error: with its JSON body, 404 for an unknown path and 405
// (with Allow) for a path served with other methods. The adapters HTTPRouter
// and ServeMux implement it; Register uses it when the router does.
type FallbackRouter interface {
	Router
	// HandleFallback makes the router call notFound for requests under
	// prefix (which ends in "/") whose path no route serves, and
	// methodNotAllowed, with the Allow header already set to the path's
	// methods, for those whose path is served with other methods only.
	HandleFallback(prefix string, notFound, methodNotAllowed http.Handler)
}

// RouterFunc adapts a function to Router.
type RouterFunc func(method, path string, h http.Handler)

// Handle calls f.
func (f RouterFunc) Handle(method, path string, h http.Handler) { f(method, path, h) }

var (
	_ FallbackRouter = httpRouter{}
	_ FallbackRouter = serveMux{}
	_ Router         = RouterFunc(nil)
)

// HTTPRouter adapts a julienschmidt/httprouter router. Register sets its
// NotFound and MethodNotAllowed handlers for paths under /api/v1 (others
// go to the handlers set before, or httprouter's defaults) and turns
// HandleMethodNotAllowed on.
func HTTPRouter(r *httprouter.Router) Router { return httpRouter{r} }

type httpRouter struct{ r *httprouter.Router }

func (a httpRouter) Handle(method, path string, h http.Handler) { a.r.Handler(method, path, h) }

func (a httpRouter) HandleFallback(prefix string, notFound, methodNotAllowed http.Handler) {
	a.r.HandleMethodNotAllowed = true
	a.r.NotFound = underPrefix(prefix, notFound, a.r.NotFound, http.HandlerFunc(http.NotFound))
	a.r.MethodNotAllowed = underPrefix(prefix, methodNotAllowed, a.r.MethodNotAllowed,
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		}))
}

// underPrefix sends the requests under prefix (or to prefix without its
// trailing slash) to h, and the others to prev, or def when prev is nil.
func underPrefix(prefix string, h, prev, def http.Handler) http.Handler {
	if prev == nil {
		prev = def
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, prefix) || r.URL.Path == strings.TrimSuffix(prefix, "/") {
			h.ServeHTTP(w, r)
			return
		}
		prev.ServeHTTP(w, r)
	})
}

// ServeMux adapts net/http's ServeMux (Go 1.22 method patterns). Register
// mounts a catch-all pattern for /api/v1/ on it, so the mux must not have
// one of its own.
func ServeMux(m *http.ServeMux) Router { return serveMux{m} }

type serveMux struct{ m *http.ServeMux }

func (a serveMux) Handle(method, path string, h http.Handler) { a.m.Handle(method+" "+path, h) }

// probedMethods are the methods a catch-all asks the mux about, to tell an
// unknown path from a known one asked with another method.
var probedMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions}

// HandleFallback mounts prefix as a pattern of every method: the mux prefers
// any more specific pattern, so it receives only what no route takes. It
// then asks the mux which methods the path has patterns for.
func (a serveMux) HandleFallback(prefix string, notFound, methodNotAllowed http.Handler) {
	a.m.Handle(prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow := a.allowed(r, prefix); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			methodNotAllowed.ServeHTTP(w, r)
			return
		}
		notFound.ServeHTTP(w, r)
	}))
}

// allowed lists the methods the mux serves r's path with through patterns
// other than the catch-all.
func (a serveMux) allowed(r *http.Request, catchAll string) []string {
	var allow []string
	for _, m := range probedMethods {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := a.m.Handler(probe); pattern != "" && pattern != catchAll {
			allow = append(allow, m)
		}
	}
	return slices.Compact(allow)
}

// fallback answers the requests under /api/v1 that no route takes, after
// the same authentication as routes: 404, or 405 with the router's Allow.
func (s *server) fallback(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.admit(w, r, r.Method, r.URL.Path); !ok {
			return
		}
		w.Header().Set(ServedByHeader, s.b.ID())
		if code == http.StatusMethodNotAllowed {
			s.writeError(w, errorf(code, "%s does not take %s; it takes %s", r.URL.Path, r.Method, w.Header().Get("Allow")))
			return
		}
		s.writeError(w, errorf(code, "no such route: %s %s (the API is described at GET /api/v1/openapi.json)", r.Method, r.URL.Path))
	})
}
