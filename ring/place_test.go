package ring

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// The draw is split among goroutines; the table is the same whatever
// their number (every party must compute the same owners on any machine).
func TestDrawIndependentOfWorkers(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 50).Draw(t, "members")
		nbits := uint(rapid.IntRange(0, 14).Draw(t, "bits"))
		seeds, weights := make([]uint64, n), make([]uint64, n)
		for m := range n {
			seeds[m] = rapid.Uint64().Draw(t, "seed")
			weights[m] = uint64(rapid.IntRange(1, 1<<16).Draw(t, "weight"))
		}
		weights[rapid.IntRange(0, n-1).Draw(t, "heaviest")] = 1 << 16
		one := drawWith(seeds, weights, nbits, 1)
		for _, k := range []int{2, 3, 4, 7} {
			if !slices.Equal(one, drawWith(seeds, weights, nbits, k)) {
				t.Fatalf("%d workers draw another table than one", k)
			}
		}
	})
	if raceDetector {
		return // the table of 2^20 partitions takes seconds under -race
	}
	seeds, weights := make([]uint64, 1000), make([]uint64, 1000)
	for m := range seeds {
		seeds[m], weights[m] = mix(uint64(m)), 1<<16
	}
	if !slices.Equal(drawWith(seeds, weights, 20, 1), drawWith(seeds, weights, 20, 4)) {
		t.Fatal("1,000 members: 4 workers draw another table than one")
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	pt := func(s uint64, m uint16) point { return point(s<<16 | uint64(m)) }
	tests := []struct {
		a, b, want [2]point
	}{
		{[2]point{pt(1, 1), pt(5, 2)}, [2]point{pt(3, 3), pt(4, 4)}, [2]point{pt(1, 1), pt(3, 3)}},
		{[2]point{pt(2, 1), pt(5, 2)}, [2]point{pt(1, 2), pt(4, 4)}, [2]point{pt(1, 2), pt(2, 1)}},
		{[2]point{pt(1, 1), noPoint}, [2]point{pt(3, 1), noPoint}, [2]point{pt(1, 1), noPoint}},
		{[2]point{noPoint, noPoint}, [2]point{pt(3, 1), pt(4, 2)}, [2]point{pt(3, 1), pt(4, 2)}},
		{[2]point{pt(1, 1), pt(2, 2)}, [2]point{pt(3, 2), pt(4, 3)}, [2]point{pt(1, 1), pt(2, 2)}},
	}
	for i, tt := range tests {
		if got := merge(tt.a, tt.b); got != tt.want {
			t.Errorf("%d: merge = %v, want %v", i, got, tt.want)
		}
	}
}
