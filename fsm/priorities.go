package fsm

import "github.com/alluvium/alluvium/policy"

// Priority, its values and PathPriority are the shared vocabulary of
// package policy; the aliases keep this package's commands and the golden
// files of testdata/compat written in its own terms.
type (
	Priority     = policy.Priority
	PathPriority = policy.PathPriority
)

// The priorities, in eviction order.
const (
	PriorityLow    = policy.PriorityLow
	PriorityMedium = policy.PriorityMedium
	PriorityHigh   = policy.PriorityHigh
)

// ParsePriority reads "LOW", "MEDIUM" or "HIGH", in any case.
func ParsePriority(s string) (Priority, error) { return policy.ParsePriority(s) }

// SetPriority adds or updates a directory's priority.
type SetPriority struct {
	Path     string   `msgpack:"Path"`
	Priority Priority `msgpack:"Priority"`
}

// DeletePriority removes a directory's priority.
type DeletePriority struct {
	Path string `msgpack:"Path"`
}

func (*SetPriority) Type() CommandType    { return CmdSetPriority }
func (*DeletePriority) Type() CommandType { return CmdDeletePriority }

func (f *FSM) applySetPriority(_ uint64, c *SetPriority) any {
	if err := f.s.checkUnderMount(c.Path); err != nil {
		return err
	}
	if c.Priority < PriorityLow || c.Priority > PriorityHigh {
		return invalidf("priority %d is not one of HIGH, MEDIUM, LOW", uint8(c.Priority))
	}
	f.s.priorities[c.Path] = PathPriority(*c)
	return nil
}

func (f *FSM) applyDeletePriority(_ uint64, c *DeletePriority) any {
	if _, ok := f.s.priorities[c.Path]; !ok {
		return notFoundf("priority not found for %s", c.Path)
	}
	delete(f.s.priorities, c.Path)
	return nil
}

// Priorities lists all priorities, ordered by path.
func (f *FSM) Priorities() []PathPriority {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return sortedValues(f.s.priorities)
}

// Priority returns the priority set at exactly path p.
func (f *FSM) Priority(p string) (PathPriority, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	v, ok := f.s.priorities[p]
	return v, ok
}
