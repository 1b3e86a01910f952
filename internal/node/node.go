package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/dashboard"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/httpserve"
	"github.com/alluvium/alluvium/metrics"
	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a node.
type Config struct {
	Coordinator coordinator.Config
	API         httpapi.Options
	// HTTPListener serves the API; when nil, HTTPBind is listened on.
	HTTPListener net.Listener
	HTTPBind     string
	// TLS, when set, serves the API over TLS with this server config.
	TLS *tls.Config
}

// Node is a running coordinator with its API.
type Node struct {
	Coordinator *coordinator.Coordinator
	// URL is the API's base URL, e.g. "http://127.0.0.1:8001".
	URL string
	// Metrics is the node's own registry, served at GET /metrics.
	Metrics *prometheus.Registry

	srv *httpserve.Server

	closeOnce sync.Once
	closeErr  error
}

// Start listens, starts the coordinator, and serves the API, the
// dashboard and the metrics (GET /metrics).
func Start(cfg Config) (*Node, error) {
	ln := cfg.HTTPListener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.HTTPBind); err != nil {
			return nil, fmt.Errorf("listen for http on %s: %w", cfg.HTTPBind, err)
		}
	}
	if cfg.Coordinator.HTTPAddress == "" {
		cfg.Coordinator.HTTPAddress = ln.Addr().String()
	}
	scheme := "http"
	if cfg.TLS != nil {
		ln, scheme = tls.NewListener(ln, cfg.TLS), "https"
	}
	co, err := coordinator.New(cfg.Coordinator)
	if err != nil {
		ln.Close()
		return nil, err
	}
	reg := metrics.NewRegistry()
	if cfg.API.Metrics, err = metrics.RegisterCoordinator(reg, co); err != nil {
		ln.Close()
		return nil, errors.Join(err, co.Shutdown())
	}
	router := httprouter.New()
	router.HandleMethodNotAllowed = true
	httpapi.Register(httpapi.HTTPRouter(router), co, cfg.API)
	dashboard.Register(httpapi.HTTPRouter(router)) // GET / and /ui/...: the operator's page
	router.Handler(http.MethodGet, "/metrics", guard(cfg.API, co.ID(), "/metrics", metrics.Handler(reg)))
	n := &Node{
		Coordinator: co,
		URL:         scheme + "://" + ln.Addr().String(),
		Metrics:     reg,
		srv:         httpserve.Start(ln, router),
	}
	return n, nil
}

// Close stops serving (letting requests in flight finish for httpserve.Grace)
// and shuts the coordinator down. It is safe to call more than once.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.closeErr = errors.Join(n.srv.Stop(), n.Coordinator.Shutdown())
	})
	return n.closeErr
}

// guard applies the API's scoped tokens (when set) to a route outside the
// API, such as /metrics, and audits its refusals.
func guard(o httpapi.Options, node, route string, h http.Handler) http.Handler {
	if o.Authorize == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := o.Authorize(r, r.Method, route)
		if a.Status == 0 {
			h.ServeHTTP(w, r)
			return
		}
		if o.Audit != nil {
			o.Audit(api.AuditEvent{Time: time.Now().UTC(), Node: node, Caller: a.Caller, Remote: r.RemoteAddr,
				Method: r.Method, Route: route, Status: a.Status, Reason: a.Reason})
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="alluvium"`)
		http.Error(w, a.Reason, a.Status)
	})
}
