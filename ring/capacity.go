package ring

import (
	"maps"
	"slices"
)

// FromCapacities builds the ring every party of a cluster uses: members
// weighted by their configured cache capacity in bytes, so a 4 TiB worker
// owns four times the keys of a 1 TiB one. A capacity of zero or less
// (unknown: a worker that did not report one) counts as the mean of the
// known capacities, or equal weights when none is known. Coordinators,
// workers, clients, the CLI and the dashboard all call it with the same
// members and capacities (from the replicated worker records), so they all
// compute the same owners.
func FromCapacities(capacity map[string]int64, cfg Config) (*Ring, error) {
	return NewWeighted(CapacityWeights(capacity), cfg)
}

// CapacityWeights is the weights FromCapacities uses. The mean of known
// capacities is summed in integers in sorted order, so it is the same
// everywhere.
func CapacityWeights(capacity map[string]int64) map[string]float64 {
	var known, sum int64
	for _, id := range slices.Sorted(maps.Keys(capacity)) {
		if c := capacity[id]; c > 0 {
			known++
			sum += c / 1024 // KiB: no overflow for a million 8 EiB workers
		}
	}
	fill := 1.0
	if known > 0 && sum > 0 {
		fill = float64(sum/known) * 1024
	}
	out := make(map[string]float64, len(capacity))
	for id, c := range capacity {
		out[id] = fill
		if c > 0 {
			out[id] = float64(c)
		}
	}
	return out
}
