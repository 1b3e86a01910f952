// Package workernode runs one worker with its HTTP server on a listener:
// the unit that `alluvium worker` starts, and `alluvium dev` several of.
package workernode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/alluvium/alluvium/internal/httpserve"
	"github.com/alluvium/alluvium/worker"
)

// Node is a running worker with its HTTP server.
type Node struct {
	Worker *worker.Worker
	URL    string
	srv    *httpserve.Server

	closeOnce sync.Once
	closeErr  error
}

// Start listens on ln (or bind when ln is nil), starts the worker and serves
// its handler. cfg.HTTPAddress defaults to the listener's address.
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
	w, err := worker.New(cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	n := &Node{
		Worker: w,
		URL:    "http://" + ln.Addr().String(),
		srv:    httpserve.Start(ln, w.Handler()),
	}
	if err := w.Start(context.Background()); err != nil {
		_ = n.Close()
		return nil, err
	}
	return n, nil
}

// Close stops serving, then shuts the worker down (its cache stays on
// disk). It is safe to call more than once.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), httpserve.Grace)
		defer cancel()
		n.Worker.StopTasks() // so that paced load tasks do not hold the drain
		n.closeErr = errors.Join(n.srv.Stop(), n.Worker.Shutdown(ctx))
	})
	return n.closeErr
}
