package httpapi

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// Router is what Register needs of a router: a way to bind a handler to a
// method and an exact path.
type Router interface {
	Handle(method, path string, h http.Handler)
}

// RouterFunc adapts a function to Router.
type RouterFunc func(method, path string, h http.Handler)

// Handle calls f.
func (f RouterFunc) Handle(method, path string, h http.Handler) { f(method, path, h) }

// HTTPRouter adapts a julienschmidt/httprouter router.
func HTTPRouter(r *httprouter.Router) Router {
	return RouterFunc(func(method, path string, h http.Handler) { r.Handler(method, path, h) })
}

// ServeMux adapts net/http's ServeMux (Go 1.22 method patterns).
func ServeMux(m *http.ServeMux) Router {
	return RouterFunc(func(method, path string, h http.Handler) { m.Handle(method+" "+path, h) })
}
