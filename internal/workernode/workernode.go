// Package workernode runs one worker with its HTTP server on a listener:
// the unit that `alluvium worker` starts, and `alluvium dev` several of.
package workernode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/alluvium/alluvium/cache"
	"github.com/alluvium/alluvium/internal/httpserve"
	"github.com/alluvium/alluvium/metrics"
	"github.com/alluvium/alluvium/s3api"
	"github.com/alluvium/alluvium/worker"
	"github.com/prometheus/client_golang/prometheus"
)

// Node is a running worker with its HTTP server.
type Node struct {
	Worker *worker.Worker
	URL    string
	// Metrics is the worker's own registry, served at GET /metrics.
	Metrics *prometheus.Registry
	srv     *httpserve.Server
	// S3URL is the S3 API's base URL, "" when it is off (ServeS3).
	S3URL string
	s3srv *httpserve.Server
	tls   *worker.TLS

	closeOnce sync.Once
	closeErr  error
}

// Start listens on ln (or bind when ln is nil), starts the worker and serves
// its handler, and its metrics at GET /metrics. cfg.HTTPAddress defaults to
// the listener's address.
func Start(cfg worker.Config, ln net.Listener, bind string) (*Node, error) {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", bind); err != nil {
			return nil, fmt.Errorf("listen for the worker on %s: %w", bind, err)
		}
	}
	if cfg.HTTPAddress == "" {
		cfg.HTTPAddress = ln.Addr().String()
	}
	ln, scheme := serveTLS(cfg.TLS, ln)
	w, err := worker.New(cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	reg := metrics.NewRegistry()
	m, err := metrics.RegisterWorker(reg, func() metrics.WorkerStats { return statsOf(w) })
	if err != nil {
		ln.Close()
		return nil, errors.Join(err, w.Shutdown(context.Background()))
	}
	w.WrapUFS(m.WrapUFS)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", w.Guard("/metrics", metrics.Handler(reg)))
	mux.Handle("/", m.HTTP.Middleware(w.Handler()))
	n := &Node{
		Worker:  w,
		URL:     scheme + "://" + ln.Addr().String(),
		Metrics: reg,
		srv:     httpserve.Start(ln, mux),
		tls:     cfg.TLS,
	}
	if err := w.Start(context.Background()); err != nil {
		_ = n.Close()
		return nil, err
	}
	return n, nil
}

// ServeS3 serves the S3 API over the worker on bind (host:port), with
// cfg's credentials and options (its Backend and Metrics are filled in).
func (n *Node) ServeS3(cfg s3api.Config, bind string) error {
	if n.s3srv != nil {
		return errors.New("workernode: the S3 API is served already")
	}
	m, err := metrics.RegisterS3(n.Metrics)
	if err != nil {
		return err
	}
	cfg.Backend, cfg.Metrics = n.Worker, m
	srv, err := s3api.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return fmt.Errorf("listen for the S3 API on %s: %w", bind, err)
	}
	ln, scheme := serveTLS(n.tls, ln)
	n.S3URL = scheme + "://" + ln.Addr().String()
	n.s3srv = httpserve.Start(ln, srv)
	if cfg.Credentials == nil {
		n.Worker.Logger().Warn("S3 API: no credentials configured: anonymous reads are allowed (set --s3-credentials to require signed requests)", "url", n.S3URL)
	} else {
		n.Worker.Logger().Info("S3 API: signed requests only", "url", n.S3URL, "access_keys", cfg.Credentials.Len())
	}
	return nil
}

// serveTLS wraps ln in TLS when the worker's config has a server config.
func serveTLS(t *worker.TLS, ln net.Listener) (net.Listener, string) {
	if t == nil || t.Server == nil {
		return ln, "http"
	}
	return tls.NewListener(ln, t.Server), "https"
}

// statsOf is what the worker's metrics read at each scrape.
func statsOf(w *worker.Worker) metrics.WorkerStats {
	s := w.Stats()
	ms := metrics.WorkerStats{
		Cache: cache.Stats{MemoryHits: s.MemoryHits, DiskHits: s.DiskHits, Misses: s.Misses, PageIns: s.PageIns,
			BytesFromOrigin: s.BytesFromOrigin, Uncached: s.Uncached, Evictions: s.Evictions,
			UsedBytes: s.UsedBytes, Pages: s.Pages, Files: s.Files},
		CapacityBytes: s.CapacityBytes, BytesServed: s.BytesServed, PeerLoadedFiles: s.PeerLoadedFiles,
		PolicyVersion: s.PolicyVersion, Quotas: map[string]metrics.QuotaUsage{},
	}
	for dir, budget := range w.Policies().Budgets {
		ms.Quotas[dir] = metrics.QuotaUsage{BudgetBytes: budget, UsedBytes: w.Cache().UsedBytesUnder(dir)}
	}
	return ms
}

// Close stops serving, then shuts the worker down (its cache stays on
// disk). It is safe to call more than once.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), httpserve.Grace)
		defer cancel()
		n.Worker.StopTasks() // so that paced load tasks do not hold the drain
		var s3err error
		if n.s3srv != nil {
			s3err = n.s3srv.Stop()
		}
		n.closeErr = errors.Join(s3err, n.srv.Stop(), n.Worker.Shutdown(ctx))
	})
	return n.closeErr
}
