// Package httpserve serves a handler on a listener and stops it gracefully:
// what the coordinator and worker processes share. Every server it starts
// has the Limits of a listener open to the network, so that a slow or
// hostile client cannot hold connections or memory.
package httpserve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Grace is how long Stop lets requests in flight finish.
const Grace = 5 * time.Second

// Limits bound what one connection may hold. There is no ReadTimeout or
// WriteTimeout: they would cut long polls, snapshot uploads and large
// reads; request bodies are bounded where they are read instead (see
// internal/jsonhttp.BodyTimeout and httpapi.Options.BodyTimeout).
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's headers: a client
	// sending them a byte at a time (slowloris) is cut off.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (431 beyond).
	MaxHeaderBytes int
}

// DefaultLimits are the limits of every server Start starts.
func DefaultLimits() Limits {
	return Limits{ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
}

// Server is a handler being served on a listener.
type Server struct {
	srv  *http.Server
	done chan error
}

// Start serves h on ln in the background, with DefaultLimits.
func Start(ln net.Listener, h http.Handler) *Server { return StartLimited(ln, h, DefaultLimits()) }

// StartLimited serves h on ln in the background, with l.
func StartLimited(ln net.Listener, h http.Handler, l Limits) *Server {
	s := &Server{srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}, done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s
}

// Stop stops accepting, lets requests in flight finish for Grace, then
// closes what is left open (workers' policy long polls, say). Call it once.
func (s *Server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), Grace)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
