package policy

import (
	"errors"
	"fmt"
)

// Sentinel errors, the kinds every failure of a check on replicated state
// is of. Callers test them with errors.Is; the HTTP layer maps each to one
// status code.
var (
	// ErrNotFound: the named object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change collides with existing state (a duplicate or
	// nested mount, a job that exists already).
	ErrConflict = errors.New("conflict")
	// ErrGone: the object to stop or remove no longer exists or has finished.
	ErrGone = errors.New("gone")
	// ErrInvalid: the request is malformed or does not fit the current state
	// (a policy on a path outside every mount point).
	ErrInvalid = errors.New("invalid")
	// ErrForbidden: the request is well formed but not allowed here (a
	// mount outside the UFS locations the operators allow).
	ErrForbidden = errors.New("forbidden")
)

// Error is an error of one of the sentinel kinds above whose message is the
// reason alone, so that an API can answer it as it stands.
type Error struct {
	Kind error  // one of the sentinels
	Msg  string // the reason
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind, so that errors.Is(err, ErrInvalid) holds.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an *Error of the given kind with a formatted reason.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}
