package coordinator

import "testing"

func TestAllAtLevel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		voters []string
		levels map[string]int
		want   bool
	}{
		{"every voter new", []string{"c1", "c2", "c3"}, map[string]int{"c1": 1, "c2": 1, "c3": 2}, true},
		{"one voter of an older build (no level)", []string{"c1", "c2", "c3"}, map[string]int{"c1": 1, "c2": 0, "c3": 1}, false},
		{"one voter not answering", []string{"c1", "c2", "c3"}, map[string]int{"c1": 1, "c3": 1}, false},
		{"a lone leader", []string{"c1"}, map[string]int{"c1": 1}, true},
		{"non-voters do not count", []string{"c1"}, map[string]int{"c1": 1, "c4": 0}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := allAtLevel(tc.voters, tc.levels, 1); got != tc.want {
				t.Fatalf("allAtLevel(%v, %v, 1) = %v, want %v", tc.voters, tc.levels, got, tc.want)
			}
		})
	}
}
