package client

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrUnavailable reports that no coordinator gave an answer: every attempt
// failed to connect, or a write's connection broke before its answer came,
// so its outcome is unknown. IsUnavailable matches it.
var ErrUnavailable = errors.New("no coordinator answered")

// Error is an answer of the API with an error status. Message is the
// server's reason ({"status": ...}), written to be shown to a person as it
// stands; ID names the existing job on a 409 to a job submission.
type Error struct {
	StatusCode int
	Message    string
	ID         string
}

// Error returns the server's reason, or the status text when it gave none.
func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// statusOf returns the status code of an *Error in err's chain, or 0.
func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports a 404: no such mount point, policy, worker or job.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsConflict reports a 409: the mount point exists, or, for a job
// submission, a job with the same index, alias or target exists; a stopped
// or failed one was resumed and a running one goes on (see ConflictID).
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// IsGone reports a 410: the job to stop does not exist or has finished, or
// the mount point to remove is not mounted.
func IsGone(err error) bool { return statusOf(err) == http.StatusGone }

// IsUnavailable reports that the cluster could not serve the request: a 503
// (no leader; retrying later may succeed) or no coordinator answered at all.
func IsUnavailable(err error) bool {
	return statusOf(err) == http.StatusServiceUnavailable || errors.Is(err, ErrUnavailable)
}

// ConflictID returns the id of the existing job that a 409 to a submission
// names, so that a caller can follow the resumed job; "" for other errors.
func ConflictID(err error) string {
	var e *Error
	if errors.As(err, &e) && e.StatusCode == http.StatusConflict {
		return e.ID
	}
	return ""
}
