// Package httpserve serves a handler on a listener and stops it gracefully:
// what the coordinator and worker processes share.
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

// Server is a handler being served on a listener.
type Server struct {
	srv  *http.Server
	done chan error
}

// Start serves h on ln in the background.
func Start(ln net.Listener, h http.Handler) *Server {
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, done: make(chan error, 1)}
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
