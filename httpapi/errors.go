package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/policy"
)

// httpError is an error with the status code a handler chose for it.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// badRequest answers 400 with err's message, whatever err's kind: several
// endpoints answer a missing object with 400 rather than 404.
func badRequest(err error) error {
	return &httpError{code: http.StatusBadRequest, msg: err.Error()}
}

// statusOf is the one mapping from errors to status codes and bodies.
// noLeader starts the reason of a 503 after which nothing was applied.
const noLeader = "no raft leader"

func statusOf(err error) (int, api.Error) {
	body := api.Error{Status: err.Error()}
	var he *httpError
	var mbe *http.MaxBytesError
	var conflict *api.JobConflictError
	switch {
	case errors.As(err, &he):
		return he.code, body
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, api.Error{Status: fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)}
	case errors.As(err, &conflict):
		return http.StatusConflict, conflict.Body
	case errors.Is(err, policy.ErrInvalid):
		return http.StatusBadRequest, body
	case errors.Is(err, policy.ErrNotFound):
		return http.StatusNotFound, body
	case errors.Is(err, policy.ErrForbidden):
		return http.StatusForbidden, body
	case errors.Is(err, policy.ErrConflict):
		return http.StatusConflict, body
	case errors.Is(err, policy.ErrGone):
		return http.StatusGone, body
	case errors.Is(err, errors.ErrUnsupported):
		// A capability the backend lacks, by its own decision (see Backend).
		return http.StatusNotImplemented, body
	case errors.Is(err, api.ErrNoLeader), errors.Is(err, api.ErrNotLeader):
		// Every such answer starts "no raft leader" (clients know from it
		// that nothing was applied), said once.
		msg := err.Error()
		if !strings.HasPrefix(msg, noLeader) {
			msg = noLeader + ": " + msg
		}
		return http.StatusServiceUnavailable, api.Error{Status: msg}
	case errors.Is(err, api.ErrLeadershipLost), errors.Is(err, api.ErrTimeout),
		errors.Is(err, api.ErrShutdown), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, body
	}
	return http.StatusInternalServerError, body
}
