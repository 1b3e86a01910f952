package fsm

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Priority orders eviction: LOW goes first, then MEDIUM, then HIGH. The zero
// value means "unset" and is treated as MEDIUM by workers.
type Priority uint8

// The priorities, in eviction order.
const (
	PriorityLow    Priority = 1
	PriorityMedium Priority = 2
	PriorityHigh   Priority = 3
)

func (p Priority) String() string {
	switch p {
	case PriorityLow:
		return "LOW"
	case PriorityMedium:
		return "MEDIUM"
	case PriorityHigh:
		return "HIGH"
	}
	return fmt.Sprintf("Priority(%d)", uint8(p))
}

// ParsePriority reads "LOW", "MEDIUM" or "HIGH", in any case.
func ParsePriority(s string) (Priority, error) {
	switch strings.ToUpper(s) {
	case "LOW":
		return PriorityLow, nil
	case "MEDIUM":
		return PriorityMedium, nil
	case "HIGH":
		return PriorityHigh, nil
	}
	return 0, invalidf("priority %q is not one of HIGH, MEDIUM, LOW", s)
}

// MarshalJSON writes the priority's name.
func (p Priority) MarshalJSON() ([]byte, error) { return json.Marshal(p.String()) }

// UnmarshalJSON reads a priority's name, in any case.
func (p *Priority) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return invalidf("priority must be a string: HIGH, MEDIUM or LOW")
	}
	v, err := ParsePriority(s)
	*p = v
	return err
}

// PathPriority is the eviction priority of the data under a directory.
type PathPriority struct {
	Path     string   `json:"path" msgpack:"Path"`
	Priority Priority `json:"priority" msgpack:"Priority"`
}

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
