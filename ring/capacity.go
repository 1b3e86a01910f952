package ring

import (
	"maps"
	"math"
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

// Capacity is what a member is weighted by: its configured cache capacity
// in bytes (0 or less: unknown, which counts as the mean of the known) and
// an optional scale, the worker's --ring-weight, by which its weight is
// multiplied (0, or anything not a positive finite number: 1). A worker of
// 2 TiB with a scale of 0.5 owns the share of a 1 TiB worker.
type Capacity struct {
	Bytes int64
	Scale float64
}

// FromMembers is FromCapacities with each member's scale: the ring every
// party builds from the replicated worker records (capacity and
// --ring-weight).
func FromMembers(members map[string]Capacity, cfg Config) (*Ring, error) {
	return NewWeighted(MemberWeights(members), cfg)
}

// MemberWeights is the weights FromMembers uses: CapacityWeights of the
// bytes, each times its scale. A product beyond a float64's range counts
// as the largest float64, so that no input fails the build.
func MemberWeights(members map[string]Capacity) map[string]float64 {
	capacity := make(map[string]int64, len(members))
	for id, c := range members {
		capacity[id] = c.Bytes
	}
	out := CapacityWeights(capacity)
	for id, c := range members {
		if c.Scale > 0 && !math.IsInf(c.Scale, 0) {
			out[id] = min(out[id]*c.Scale, math.MaxFloat64)
		}
	}
	return out
}
