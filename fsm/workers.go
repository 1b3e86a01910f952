package fsm

import (
	"cmp"
	"maps"
	"slices"
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
	ID            string      `json:"id" msgpack:"ID"`
	Address       string      `json:"address" msgpack:"Address"`
	State         WorkerState `json:"state" msgpack:"State"`
	CapacityBytes int64       `json:"capacityBytes" msgpack:"CapacityBytes"`
	StartTime     time.Time   `json:"startTime" msgpack:"StartTime"`
	Version       string      `json:"version,omitempty" msgpack:"Version"`
	// StateSince is when the current state was committed (leader's clock).
	StateSince time.Time `json:"stateSince" msgpack:"StateSince"`
	// RingWeight scales the worker's weight on the ring (its capacity) by
	// this factor: the worker's --ring-weight; 0 (not set, and every record
	// written before it existed: omitempty keeps their bytes) means 1.
	RingWeight float64 `json:"ringWeight,omitempty" msgpack:"RingWeight,omitempty"`
}

// MaxRingWeight bounds a worker's RingWeight.
const MaxRingWeight = 1e6

// RegisterWorker adds a worker, or updates a known one and marks it LIVE.
// A decommissioned worker cannot register again under the same id.
type RegisterWorker struct {
	Worker Worker    `msgpack:"Worker"`
	Now    time.Time `msgpack:"Now"`
}

// SetWorkerState moves a worker between LIVE and LOST, or decommissions it.
type SetWorkerState struct {
	ID    string      `msgpack:"ID"`
	State WorkerState `msgpack:"State"`
	Now   time.Time   `msgpack:"Now"`
}

// RemoveWorker removes a worker from the membership for good: it leaves
// the ring, the file index forgets what it held, and its id is remembered
// as removed, so that the worker, if it still runs, learns it from its next
// heartbeat (ErrGone) instead of registering again. A worker started again
// registers anew. It fails with ErrNotFound for a worker that is not a
// member.
type RemoveWorker struct {
	ID  string    `msgpack:"ID"`
	Now time.Time `msgpack:"Now"`
}

// RemovedWorker is a worker removed from the membership, and when.
type RemovedWorker struct {
	ID string    `msgpack:"i"`
	At time.Time `msgpack:"t"`
}

// maxRemovedWorkers bounds the remembered removals; the oldest go first. A
// removed worker that heartbeats after its record went is unknown, and
// registers again as any unknown worker does.
const maxRemovedWorkers = 1024

func (*RegisterWorker) Type() CommandType { return CmdRegisterWorker }
func (*SetWorkerState) Type() CommandType { return CmdSetWorkerState }
func (*RemoveWorker) Type() CommandType   { return CmdRemoveWorker }

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
	if !(w.RingWeight >= 0 && w.RingWeight <= MaxRingWeight) {
		return invalidf("worker %s has ring weight %v: it must be from 0 (unset) to %g", w.ID, w.RingWeight, float64(MaxRingWeight))
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
	delete(f.s.removed, w.ID)
	return nil
}

func (f *FSM) applyRemoveWorker(_ uint64, c *RemoveWorker) any {
	w, ok := f.s.workers[c.ID]
	if !ok {
		return notFoundf("worker %s not found", c.ID)
	}
	delete(f.s.workers, c.ID)
	delete(f.s.holdings, c.ID)
	f.s.dropHoldings(c.ID)
	for id, q := range f.s.quotas {
		if _, has := q.Budgets[c.ID]; has {
			q.Budgets = maps.Clone(q.Budgets)
			delete(q.Budgets, c.ID)
			f.s.quotas[id] = q
		}
	}
	f.s.removed[c.ID] = RemovedWorker{ID: c.ID, At: c.Now.UTC()}
	if len(f.s.removed) > maxRemovedWorkers {
		oldest := slices.SortedFunc(maps.Values(f.s.removed), func(a, b RemovedWorker) int {
			return cmp.Or(a.At.Compare(b.At), strings.Compare(a.ID, b.ID))
		})
		for _, r := range oldest[:len(oldest)-maxRemovedWorkers] {
			delete(f.s.removed, r.ID)
		}
	}
	return w
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

// Removed reports whether a worker was removed from the membership (and
// has not registered since).
func (f *FSM) Removed(id string) (RemovedWorker, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	r, ok := f.s.removed[id]
	return r, ok
}
