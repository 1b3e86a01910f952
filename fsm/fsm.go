package fsm

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// FSM is the replicated state. It is safe for concurrent use: Apply and
// Restore take the write lock, queries the read lock, and every query returns
// copies that the caller may keep and change.
type FSM struct {
	mu       sync.RWMutex
	s        *state
	handlers map[CommandType]func(index uint64, c Command) any
	// changed is closed and replaced whenever policyVersion moves, so that
	// long-polling workers wake at once (see PolicyWatch).
	changed chan struct{}
}

// state is everything a snapshot holds. Values in its maps are never mutated
// in place once stored: a change stores a new value. That is what lets
// Snapshot capture a consistent view without copying deeply.
type state struct {
	lastIndex     uint64
	policyVersion uint64
	lastJobID     string // the newest job id ever assigned, even if pruned

	coordinators map[string]Coordinator
	mounts       map[string]Mount
	quotas       map[string]Quota
	ttls         map[string]TTL
	priorities   map[string]PathPriority
	filter       FilterPolicy
	workers      map[string]Worker
	jobs         map[string]*Job
	jobKeys      map[JobKey]string
	files        *fileIndex
	// fileLimit is the ceiling of the file index (0: none) and refused the
	// workers that had a file refused by it (see filelimit.go).
	fileLimit int
	refused   map[string]struct{}
	// holdings is how far the index has applied each worker's reports.
	holdings map[string]HoldingState
	// removed remembers workers removed from the membership (see
	// RemoveWorker), so that a still-running one learns it.
	removed map[string]RemovedWorker
}

func newState() *state {
	return &state{
		coordinators: map[string]Coordinator{},
		mounts:       map[string]Mount{},
		quotas:       map[string]Quota{},
		ttls:         map[string]TTL{},
		priorities:   map[string]PathPriority{},
		filter:       FilterPolicy{Default: FilterRule{Rule: RuleImmutable}},
		workers:      map[string]Worker{},
		jobs:         map[string]*Job{},
		jobKeys:      map[JobKey]string{},
		files:        newFileIndex(),
		refused:      map[string]struct{}{},
		holdings:     map[string]HoldingState{},
		removed:      map[string]RemovedWorker{},
	}
}

// New returns an empty state machine.
func New() *FSM {
	f := &FSM{s: newState(), changed: make(chan struct{})}
	f.handlers = map[CommandType]func(uint64, Command) any{
		CmdSetCoordinator:    handle(f.applySetCoordinator),
		CmdRemoveCoordinator: handle(f.applyRemoveCoordinator),
		CmdAddMount:          policyStep(f, handle(f.applyAddMount)),
		CmdRemoveMount:       policyStep(f, handle(f.applyRemoveMount)),
		CmdReplaceMounts:     policyStep(f, handle(f.applyReplaceMounts)),
		CmdSetQuota:          policyStep(f, handle(f.applySetQuota)),
		CmdDeleteQuota:       policyStep(f, handle(f.applyDeleteQuota)),
		CmdSetQuotaBudgets:   policyStep(f, handle(f.applySetQuotaBudgets)),
		CmdSetTTL:            policyStep(f, handle(f.applySetTTL)),
		CmdDeleteTTL:         policyStep(f, handle(f.applyDeleteTTL)),
		CmdSetPriority:       policyStep(f, handle(f.applySetPriority)),
		CmdDeletePriority:    policyStep(f, handle(f.applyDeletePriority)),
		CmdAddFilterRule:     policyStep(f, handle(f.applyAddFilterRule)),
		CmdRemoveFilterRule:  policyStep(f, handle(f.applyRemoveFilterRule)),
		CmdSetDefaultFilter:  policyStep(f, handle(f.applySetDefaultFilter)),
		CmdRegisterWorker:    policyStep(f, handle(f.applyRegisterWorker)),
		CmdSetWorkerState:    policyStep(f, handle(f.applySetWorkerState)),
		CmdRemoveWorker:      policyStep(f, handle(f.applyRemoveWorker)),
		CmdSubmitJob:         handle(f.applySubmitJob),
		CmdUpdateJob:         handle(f.applyUpdateJob),
		CmdStopJob:           handle(f.applyStopJob),
		CmdPruneJobs:         handle(f.applyPruneJobs),
		CmdFileIndexAdd:      handle(f.applyFileIndexAdd),
		CmdFileIndexRemove:   handle(f.applyFileIndexRemove),
		CmdFileIndexHolders:  handle(f.applyFileIndexHolders),
		CmdFileIndexReport:   handle(f.applyFileIndexReport),
		CmdSetFileIndexLimit: handle(f.applySetFileIndexLimit),
	}
	return f
}

// handle adapts a typed apply function to the dispatch table.
func handle[C Command](fn func(index uint64, c C) any) func(uint64, Command) any {
	return func(index uint64, c Command) any { return fn(index, c.(C)) }
}

// policyStep wraps a handler whose successful changes workers must see: it moves
// the policy version to the entry's index and wakes watchers.
func policyStep(f *FSM, fn func(uint64, Command) any) func(uint64, Command) any {
	return func(index uint64, c Command) any {
		res := fn(index, c)
		if _, failed := res.(error); !failed {
			f.s.policyVersion = index
			close(f.changed)
			f.changed = make(chan struct{})
		}
		return res
	}
}

// Apply applies one encoded command committed at log index and returns the
// command's result: an error (typed, see errors.go) or a value. An unknown or
// undecodable command panics, unless its type is marked IgnoreIfUnknown: a
// replica that skipped a command it should have applied would diverge
// silently, which is worse than stopping.
func (f *FSM) Apply(index uint64, data []byte) any {
	c, err := Decode(data)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		var unknown ErrUnknownCommand
		if errors.As(err, &unknown) && unknown.Type&IgnoreIfUnknown != 0 {
			f.s.lastIndex = index
			return nil
		}
		panic(fmt.Sprintf("fsm: cannot apply log entry %d: %v", index, err))
	}
	res := f.handlers[c.Type()](index, c)
	f.s.files.flush() // readers and Snapshot see only whole blocks
	f.s.lastIndex = index
	return res
}

// AppliedIndex is the log index of the last command applied or restored.
func (f *FSM) AppliedIndex() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.s.lastIndex
}

// PolicyWatch returns the current policy version (the log index of the last
// change to mounts, quotas, TTLs, priorities, cache-filter rules or worker
// membership) and a channel closed at the next such change.
func (f *FSM) PolicyWatch() (uint64, <-chan struct{}) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.s.policyVersion, f.changed
}

// sortedKeys returns a map's keys in order, so that a loop over the map can
// never make a result depend on Go's random map order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sortedValues returns a map's values in the order of their keys.
func sortedValues[V any](m map[string]V) []V {
	out := make([]V, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}
