package policy

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
	return 0, Errorf(ErrInvalid, "priority %q is not one of HIGH, MEDIUM, LOW", s)
}

// MarshalJSON writes the priority's name.
func (p Priority) MarshalJSON() ([]byte, error) { return json.Marshal(p.String()) }

// UnmarshalJSON reads a priority's name, in any case.
func (p *Priority) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Errorf(ErrInvalid, "priority must be a string: HIGH, MEDIUM or LOW")
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
