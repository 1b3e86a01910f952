package fsm

import (
	"strings"
	"time"
)

// WorkerState is a worker's committed membership state. Liveness itself
// (heartbeats) lives in the leader's memory; only transitions are committed.
type WorkerState string

// The worker states.
const (
	WorkerLive           WorkerState = "LIVE"
	WorkerLost           WorkerState = "LOST"
	WorkerDecommissioned WorkerState = "DECOMMISSIONED"
)

// Worker is a member of the cache cluster.
type Worker struct {
	ID            string      `json:"id"`
	Address       string      `json:"address"`
	State         WorkerState `json:"state"`
	CapacityBytes int64       `json:"capacityBytes"`
	StartTime     time.Time   `json:"startTime"`
	Version       string      `json:"version,omitempty"`
	// StateSince is when the current state was committed (leader's clock).
	StateSince time.Time `json:"stateSince"`
}

// RegisterWorker adds a worker, or updates a known one and marks it LIVE.
// A decommissioned worker cannot register again under the same id.
type RegisterWorker struct {
	Worker Worker
	Now    time.Time
}

// SetWorkerState moves a worker between LIVE and LOST, or decommissions it.
type SetWorkerState struct {
	ID    string
	State WorkerState
	Now   time.Time
}

func (*RegisterWorker) Type() CommandType { return CmdRegisterWorker }
func (*SetWorkerState) Type() CommandType { return CmdSetWorkerState }

func (f *FSM) applyRegisterWorker(_ uint64, c *RegisterWorker) any {
	w := c.Worker
	if !strings.HasPrefix(w.ID, "worker-") || len(w.ID) == len("worker-") {
		return invalidf("worker id %q must look like worker-<uuid>", w.ID)
	}
	if w.Address == "" {
		return invalidf("worker %s has no address", w.ID)
	}
	if w.CapacityBytes < 0 {
		return invalidf("worker %s has a negative capacity", w.ID)
	}
	old, known := f.s.workers[w.ID]
	if known && old.State == WorkerDecommissioned {
		return gonef("worker %s was decommissioned; start it with a new data dir to join again", w.ID)
	}
	w.State = WorkerLive
	w.StartTime = w.StartTime.UTC()
	w.StateSince = c.Now.UTC()
	if known && old.State == WorkerLive {
		w.StateSince = old.StateSince
	}
	f.s.workers[w.ID] = w
	return nil
}

func (f *FSM) applySetWorkerState(_ uint64, c *SetWorkerState) any {
	w, ok := f.s.workers[c.ID]
	if !ok {
		return notFoundf("worker %s is not known", c.ID)
	}
	switch c.State {
	case WorkerLive, WorkerLost, WorkerDecommissioned:
	default:
		return invalidf("worker state %q is not one of LIVE, LOST, DECOMMISSIONED", c.State)
	}
	if w.State == WorkerDecommissioned {
		return gonef("worker %s was decommissioned", c.ID)
	}
	if w.State != c.State {
		w.State = c.State
		w.StateSince = c.Now.UTC()
		f.s.workers[c.ID] = w
	}
	return nil
}

// Workers lists all members, decommissioned ones included, ordered by id.
func (f *FSM) Workers() []Worker {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return sortedValues(f.s.workers)
}

// Worker returns one member.
func (f *FSM) Worker(id string) (Worker, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	w, ok := f.s.workers[id]
	return w, ok
}
