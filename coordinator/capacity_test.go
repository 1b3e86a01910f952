package coordinator

import "testing"

func TestCapacityToCommit(t *testing.T) {
	const gib = int64(1) << 30
	for _, tc := range []struct {
		name                 string
		registered, reported int64
		want                 int64
		commit               bool
	}{
		{"not reported (an older worker)", gib, 0, 0, false},
		{"negative is not a figure", gib, -1, 0, false},
		{"unchanged", gib, gib, 0, false},
		{"a small drift down", gib, gib - gib/100, 0, false},
		{"a small drift up", gib, gib + gib/100, 0, false},
		{"the disk filled up", gib, gib / 2, gib / 2, true},
		{"just past the drift", 100 << 20, 97 << 20, 97 << 20, true},
		{"grew back", gib / 2, gib, gib, true},
		{"registered without a capacity", 0, gib, gib, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := capacityToCommit(tc.registered, tc.reported)
			if got != tc.want || ok != tc.commit {
				t.Fatalf("capacityToCommit(%d, %d) = %d, %v; want %d, %v", tc.registered, tc.reported, got, ok, tc.want, tc.commit)
			}
		})
	}
}
