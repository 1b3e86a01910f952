package policy

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParsePriority(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Priority
		err  bool
	}{
		{"LOW", PriorityLow, false}, {"medium", PriorityMedium, false}, {"High", PriorityHigh, false},
		{"", 0, true}, {"urgent", 0, true},
	} {
		got, err := ParsePriority(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParsePriority(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePriority(%q): %v is not ErrInvalid", tc.in, err)
		}
		if err == nil && got.String() != map[Priority]string{1: "LOW", 2: "MEDIUM", 3: "HIGH"}[got] {
			t.Errorf("%d.String() = %s", got, got)
		}
	}
}

func TestPriorityJSON(t *testing.T) {
	b, err := json.Marshal(PathPriority{Path: "/a", Priority: PriorityHigh})
	if err != nil || string(b) != `{"path":"/a","priority":"HIGH"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var p Priority
	if err := json.Unmarshal([]byte(`"low"`), &p); err != nil || p != PriorityLow {
		t.Fatalf("Unmarshal low = %v, %v", p, err)
	}
	if err := json.Unmarshal([]byte(`3`), &p); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Unmarshal 3: %v, want ErrInvalid", err)
	}
}

func TestParseRuleKind(t *testing.T) {
	for in, want := range map[string]RuleKind{"immutable": RuleImmutable, "SKIPCACHE": RuleSkipCache, "maxage": RuleMaxAge} {
		if got, err := ParseRuleKind(in); got != want || err != nil {
			t.Errorf("ParseRuleKind(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseRuleKind("never"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseRuleKind(never): %v, want ErrInvalid", err)
	}
}
