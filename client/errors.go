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
// stands. On a 409 to a job submission, ID names a job: when a job over the
// same index file or paths (or target) exists, State is its state, Resumed
// tells whether this submission ran it again, and Alias is its alias (a job
// is found by what it covers, so its alias may differ from the submission's);
// when the submission's alias names a job over other paths, only ID is set
// and nothing was changed.
type Error struct {
	StatusCode int
	Message    string
	ID         string
	State      string
	Resumed    bool
	Alias      string
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
// submission, a job over the same index file, paths or target exists (a
// stopped, failed or succeeded one was run again, an active one goes on), or
// the submission's alias names a job over other paths (see Error and
// ConflictID).
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// IsGone reports a 410: the job to stop does not exist or has finished, or
// the mount point to remove is not mounted.
func IsGone(err error) bool { return statusOf(err) == http.StatusGone }

// IsUnavailable reports that the cluster could not serve the request: a 503
// (no leader; retrying later may succeed) or no coordinator answered at all.
func IsUnavailable(err error) bool {
	return statusOf(err) == http.StatusServiceUnavailable || errors.Is(err, ErrUnavailable)
}

// ConflictID returns the id of the job that a 409 to a submission names, so
// that a caller can follow a resumed job; "" for other errors. The job is
// the one the submission named unless Error.State is "" (the alias names
// another job).
func ConflictID(err error) string {
	var e *Error
	if errors.As(err, &e) && e.StatusCode == http.StatusConflict {
		return e.ID
	}
	return ""
}
