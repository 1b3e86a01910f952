package api

import (
	"encoding/json"
	"errors"
)

// Cluster-availability errors. The coordinator returns them; the API answers
// them with 503 and a reason, and a client may retry.
var (
	// ErrNotLeader: this node is not the leader.
	ErrNotLeader = errors.New("not the raft leader")
	// ErrNoLeader: no leader is known (an election is running, or quorum is
	// lost). Nothing was applied.
	ErrNoLeader = errors.New("no raft leader")
	// ErrLeadershipLost: leadership was lost while a command was in flight;
	// the command may or may not be committed.
	ErrLeadershipLost = errors.New("raft leadership lost while committing; the outcome is unknown")
	// ErrTimeout: the deadline passed before a command was committed; it
	// may still be committed later.
	ErrTimeout = errors.New("raft apply timed out; the outcome is unknown")
	// ErrShutdown: the coordinator is shutting down.
	ErrShutdown = errors.New("coordinator is shutting down")
)

// Error is the body of every error answer: {"status": "<reason>"}. A 409 to
// a job submission also names a job: when a job over the same index file or
// paths exists, its id, its state, whether this submit resumed it (always
// present then, false included) and its alias; when the submit's alias names
// a job over other paths, that job's id alone (no state).
type Error struct {
	Status  string `json:"status"`
	ID      string `json:"id,omitempty"`
	State   string `json:"state,omitempty"`
	Resumed bool   `json:"resumed,omitempty"`
	Alias   string `json:"alias,omitempty"`
}

// MarshalJSON writes "resumed" whenever the answer names an existing job's
// state, false included: "the job goes on" is an answer, not an empty value.
func (e Error) MarshalJSON() ([]byte, error) {
	type plain Error
	if e.State == "" {
		return json.Marshal(plain(e))
	}
	return json.Marshal(struct {
		plain
		Resumed bool `json:"resumed"`
	}{plain(e), e.Resumed})
}

// JobConflictError is a job submission refused with 409: a job over the same
// index file or paths exists (Body names its id, state, whether this submit
// resumed it, and its alias), or the submit's alias names a job over other
// paths (Body names that job's id alone). Body is the answer as it stands.
type JobConflictError struct{ Body Error }

func (e *JobConflictError) Error() string { return e.Body.Status }
