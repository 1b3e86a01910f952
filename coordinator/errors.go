package coordinator

import (
	"fmt"

	"github.com/alluvium/alluvium/api"
)

// Errors of Apply and of the read and membership calls, shared with the API
// (which answers them with 503) through package api. Errors of the state
// machine itself (fsm.ErrConflict, ...) are passed through unchanged.
var (
	// ErrNotLeader: this node is not the leader. The error is a
	// *NotLeaderError naming the leader when one is known.
	ErrNotLeader = api.ErrNotLeader
	// ErrNoLeader: no leader is known (an election is running, or quorum is
	// lost). Retry later; nothing was applied.
	ErrNoLeader = api.ErrNoLeader
	// ErrLeadershipLost: leadership was lost while the command was in flight.
	// The command may or may not be committed.
	ErrLeadershipLost = api.ErrLeadershipLost
	// ErrTimeout: the deadline passed before the command was committed. The
	// command may still be committed later.
	ErrTimeout = api.ErrTimeout
	// ErrShutdown: the coordinator is shutting down.
	ErrShutdown = api.ErrShutdown
)

// NotLeaderError is ErrNotLeader with the leader's identity, so that a caller
// can forward the request there.
type NotLeaderError struct {
	LeaderID          string
	LeaderHTTPAddress string // "" when the leader has not published it yet
}

func (e *NotLeaderError) Error() string {
	if e.LeaderID == "" {
		return ErrNotLeader.Error()
	}
	return fmt.Sprintf("%s (the leader is %s at %s)", ErrNotLeader, e.LeaderID, e.LeaderHTTPAddress)
}

// Is makes a NotLeaderError match ErrNotLeader.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }
