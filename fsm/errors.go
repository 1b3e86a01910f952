package fsm

import (
	"fmt"

	"github.com/alluvium/alluvium/policy"
)

// Sentinel errors returned by Apply and by queries: the kinds of package
// policy, so that a caller that knows only the shared vocabulary can test
// them with errors.Is; the HTTP layer maps each to one status code.
var (
	// ErrNotFound: the named object does not exist.
	ErrNotFound = policy.ErrNotFound
	// ErrConflict: the change collides with existing state (a duplicate or
	// nested mount, a job that exists already).
	ErrConflict = policy.ErrConflict
	// ErrGone: the object to stop or remove no longer exists or has finished.
	ErrGone = policy.ErrGone
	// ErrInvalid: the command is malformed or does not fit the current state
	// (a policy on a path outside every mount point).
	ErrInvalid = policy.ErrInvalid
)

// JobExistsError reports a submit that named a job which exists already. The
// existing job was resumed (run again) if it had stopped, failed or
// succeeded, and goes on otherwise.
type JobExistsError struct {
	ID      string   // the earlier job's id
	State   JobState // its state after the submit
	Resumed bool     // whether this submit resumed it
	Alias   string   // the earlier job's alias ("" for none), which names it
}

func (e *JobExistsError) Error() string {
	if e.Resumed {
		return fmt.Sprintf("job %s exists and was resumed", e.ID)
	}
	return fmt.Sprintf("job %s exists and is %s", e.ID, e.State)
}

// Is makes a JobExistsError match ErrConflict.
func (e *JobExistsError) Is(target error) bool { return target == ErrConflict }

// JobAliasError reports a submit whose alias names another job, one that
// covers other paths. Nothing was changed.
type JobAliasError struct {
	Type  JobType
	Alias string
	ID    string // the job the alias names
}

func (e *JobAliasError) Error() string {
	return fmt.Sprintf("alias %q names %s job %s, which covers other paths; give another alias", e.Alias, e.Type, e.ID)
}

// Is makes a JobAliasError match ErrConflict.
func (e *JobAliasError) Is(target error) bool { return target == ErrConflict }

func invalidf(format string, args ...any) error {
	return policy.Errorf(ErrInvalid, format, args...)
}

func conflictf(format string, args ...any) error {
	return policy.Errorf(ErrConflict, format, args...)
}

func notFoundf(format string, args ...any) error {
	return policy.Errorf(ErrNotFound, format, args...)
}

func gonef(format string, args ...any) error {
	return policy.Errorf(ErrGone, format, args...)
}
